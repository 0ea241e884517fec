"""Claim 2, quota races: "atomic cache.incr() ... eliminates quota violations".

Each :data:`reference.quota.VARIANTS` ledger reserves quota for a user (project and user scopes):

- ``before``: the report's read-modify-write (GET, compare, SET);
- ``after``: its ``cache.incr`` with the ``cache.set`` fallback on a missing key;
- ``ours``: the Lua script that checks and charges in one step.

``single``: one client, one reservation per call, under a budget it never reaches. ``contention``:
bursts of :data:`WORKERS` threads released together (:func:`ytscale.instruments.contention.contend`)
on a fresh day's counter with room for half of them; ``extra_info`` sums over the bursts the units
``lost`` (granted, not counted), ``over_granted`` (granted beyond the budget) and ``phantom``
(counted, not granted); ``single`` adds the Redis ``round_trips_per_reserve`` of a warm call.
Races need the round trips of a real Redis: fakeredis serialises commands.
"""

from __future__ import annotations

from itertools import count
from typing import Any

import pytest

from benchmarks.slow import VARIANTS, effective_variant, injected
from reference import kv
from reference.quota import KeyValueLedger
from ytscale.instruments.contention import ContentionResult, contend
from ytscale.instruments.querycount import count_round_trips
from ytscale.variants.quota import VARIANTS as LEDGERS

USER_ID = 7
WORKERS = 32
BURSTS = 10
#: A budget the single-client benchmark never reaches.
UNLIMITED = 10**15


def ledger(redis_url: str, variant: str, prefix: str, budget: int) -> KeyValueLedger:
    chosen = LEDGERS[effective_variant("quota", variant)]
    return chosen(kv.connect(redis_url), daily_quota=budget, prefix=prefix)


@pytest.mark.quick
@pytest.mark.parametrize("variant", VARIANTS)
def test_reserve_single_client(
    benchmark: Any, case: Any, redis_url: str, key_prefix: str, variant: str
) -> None:
    store = redis_url.split(":", 1)[0]
    case("quota", variant, store=store, mode="single", clients=1)
    book = ledger(redis_url, variant, key_prefix, UNLIMITED)
    calls = count(1)

    extra_trip = variant == "ours" and injected("round_trip")

    def reserve() -> None:
        book.reserve(1, user_id=USER_ID)
        if extra_trip:
            book.client.ping()
        next(calls)

    reserve()  # the first call may load the script into Redis: count a warm one
    with count_round_trips(book.client) as trips:
        reserve()
    benchmark(reserve)
    made = next(calls) - 1
    # One client cannot race itself: any unit missing here is a bookkeeping bug, not a race.
    benchmark.extra_info.update(
        calls=made, lost=made - book.used(user_id=USER_ID), round_trips_per_reserve=trips.count
    )
    assert made >= 1


@pytest.mark.quick
@pytest.mark.parametrize("variant", VARIANTS)
def test_reserve_under_contention(
    benchmark: Any, case: Any, redis_url: str, key_prefix: str, variant: str
) -> None:
    store = redis_url.split(":", 1)[0]
    case("quota", variant, store=store, mode="contention", clients=WORKERS)
    prefixes = (f"{key_prefix}burst{n}:" for n in count())
    results: list[ContentionResult] = []
    books: list[KeyValueLedger] = []

    def fresh_day() -> None:
        books.append(ledger(redis_url, variant, next(prefixes), WORKERS // 2))

    def burst() -> None:
        results.append(contend(books[-1], workers=WORKERS, units=1, user_id=USER_ID))

    benchmark.pedantic(burst, setup=fresh_day, rounds=BURSTS, iterations=1)
    benchmark.extra_info.update(
        bursts=len(results),
        attempts=sum(r.attempts for r in results),
        granted=sum(r.granted for r in results),
        lost=sum(r.lost for r in results),
        over_granted=sum(r.over_granted for r in results),
        phantom=sum(r.phantom for r in results),
    )
    assert len(results) == BURSTS
