-- Check every scope's budget, then charge them all and record the reservation, as one step: Redis
-- runs a script to completion before it serves any other client, so no check can go stale.
--
-- KEYS[1]   the day's reservations (hash: reservation field -> units), which refund.lua pops
-- KEYS[2]   the day's "exhausted" flag, set when YouTube answered quotaExceeded
-- KEYS[3..] the day's counters, one per scope, the project's first
-- ARGV[1] units, ARGV[2] key TTL in seconds, ARGV[3] the reservation's field
-- ARGV[4..] each counter's budget, -1 for a scope that is counted but not capped
--
-- Returns {0, 0} when charged; otherwise {i, remaining}: the i-th counter (1 = project) refused.
--
-- Idempotent on the reservation's field: a client that lost the reply and sends the script again
-- (redis-py retries on a connection or timeout error) finds its record and is told "charged",
-- without a second charge, and never "refused" for units it already holds.
local units = tonumber(ARGV[1])
local ttl = tonumber(ARGV[2])

if redis.call('HEXISTS', KEYS[1], ARGV[3]) == 1 then
  return {0, 0}
end
if redis.call('EXISTS', KEYS[2]) == 1 then
  return {1, 0}
end
for i = 3, #KEYS do
  local budget = tonumber(ARGV[i + 1])
  if budget >= 0 then
    local used = tonumber(redis.call('GET', KEYS[i]) or '0')
    if used + units > budget then
      return {i - 2, budget - used}
    end
  end
end
for i = 3, #KEYS do
  redis.call('INCRBY', KEYS[i], units)
  redis.call('EXPIRE', KEYS[i], ttl)
end
redis.call('HSET', KEYS[1], ARGV[3], units)
redis.call('EXPIRE', KEYS[1], ttl)
return {0, 0}
