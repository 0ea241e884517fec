-- Give a reservation's units back: at most once, and never more than it charged, whatever the
-- caller claims, since the units come from the record reserve.lua wrote.
--
-- KEYS[1]   the day's reservations (hash: reservation field -> units)
-- KEYS[2..] the counters the reservation charged
-- ARGV[1]   the reservation's field
--
-- Returns the units given back: 0 for a reservation unknown, already refunded, or expired.
local units = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if units == 0 then
  return 0
end
redis.call('HDEL', KEYS[1], ARGV[1])
for i = 2, #KEYS do
  -- A counter never goes below zero, even if something else lowered it meanwhile.
  local back = math.min(units, tonumber(redis.call('GET', KEYS[i]) or '0'))
  if back > 0 then
    redis.call('DECRBY', KEYS[i], back)
  end
end
return units
