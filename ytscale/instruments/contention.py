"""Many workers reserving at once: does a ledger lose units, or grant more than its budget?

```python
result = contend(VARIANTS["after"](client, prefix=fresh_prefix()), workers=100)
result.lost, result.over_granted             # units granted but not counted; granted beyond budget
result = contend_processes(settings, "ours", prefix=fresh_prefix(), processes=4, calls=200)
```

Workers are released together by a barrier. Each trial needs a ledger whose counter for today is
empty (a fresh ``prefix``), so the burst meets a missing key; ``prime`` first reserves some units
so that it meets an existing one instead. The race windows are the round trips between a
variant's commands: run this on a real Redis, as fakeredis serialises every command under a lock.
"""

from __future__ import annotations

import multiprocessing
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from multiprocessing.queues import Queue
from multiprocessing.synchronize import Barrier as ProcessBarrier

from reference.quota.ledger import KeyValueLedger, QuotaExhausted
from reference.settings import Settings
from ytscale.variants.quota import variant_ledger


@dataclass(frozen=True)
class ContentionResult:
    """What one burst did to the project counter, in units."""

    ledger: str
    attempts: int
    budget: int
    #: Units the counter held when the burst started (``prime``).
    before: int
    #: Units of the reservations the ledger granted during the burst.
    granted: int
    #: Units the counter gained during the burst.
    recorded: int
    #: Granted but not counted: a later check sees room that was already spent.
    lost: int
    #: Counted but not granted: refused calls whose units stayed charged.
    phantom: int
    #: Granted beyond the budget.
    over_granted: int

    @classmethod
    def measure(
        cls, ledger: KeyValueLedger, attempts: int, before: int, granted: int
    ) -> ContentionResult:
        recorded = ledger.used() - before
        return cls(
            ledger=type(ledger).__name__,
            attempts=attempts,
            budget=ledger.daily_quota,
            before=before,
            granted=granted,
            recorded=recorded,
            lost=max(0, granted - recorded),
            phantom=max(0, recorded - granted),
            over_granted=max(0, before + granted - ledger.daily_quota),
        )


def try_reserve(ledger: KeyValueLedger, units: int, user_id: int | None) -> int:
    """Units granted by one reservation attempt: ``units`` or 0."""
    try:
        ledger.reserve(units, user_id=user_id)
    except QuotaExhausted:
        return 0
    return units


def start_burst(ledger: KeyValueLedger, prime: int, user_id: int | None) -> int:
    """Spend ``prime`` units, check the counter held nothing else, and return what it holds."""
    if prime:
        ledger.reserve(prime, user_id=user_id)
    before = ledger.used()
    if before != prime:
        raise ValueError(
            f"today's counter holds {before} units before the burst, expected {prime}: "
            "give each trial a ledger with a fresh prefix"
        )
    return before


def contend(
    ledger: KeyValueLedger,
    *,
    workers: int = 100,
    units: int = 1,
    prime: int = 0,
    user_id: int | None = None,
    timeout: float = 30.0,
) -> ContentionResult:
    """``workers`` threads, released together, each reserve ``units`` once on ``ledger``."""
    before = start_burst(ledger, prime, user_id)
    barrier = threading.Barrier(workers, timeout=timeout)

    def worker() -> int:
        barrier.wait()
        return try_reserve(ledger, units, user_id)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(worker) for _ in range(workers)]
        granted = sum(future.result() for future in futures)
    return ContentionResult.measure(ledger, workers, before, granted)


def contend_processes(
    settings: Settings,
    variant: str = "ours",
    *,
    prefix: str,
    processes: int = 4,
    calls: int = 100,
    units: int = 1,
    prime: int = 0,
    user_id: int | None = None,
    timeout: float = 60.0,
) -> ContentionResult:
    """``processes`` spawned processes, released together, each make ``calls`` reservations.

    Each process builds its own ledger (and connections) from ``settings``, so this needs a server
    every process can reach: ``redis://``, not the in-process ``fakeredis://``.
    """
    if settings.redis_url.startswith("fakeredis://"):
        raise ValueError("fakeredis:// lives inside one process: give a redis:// URL")
    ledger = variant_ledger(settings, variant, prefix=prefix)
    before = start_burst(ledger, prime, user_id)
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(processes, timeout=timeout)
    results: Queue[int | str] = context.Queue()
    args = (settings, variant, prefix, barrier, results, calls, units, user_id)
    children = [context.Process(target=_reserve_many, args=args) for _ in range(processes)]
    for child in children:
        child.start()
    outcomes = [results.get(timeout=timeout) for _ in children]
    for child in children:
        child.join(timeout)
    errors = [outcome for outcome in outcomes if isinstance(outcome, str)]
    if errors:
        raise RuntimeError(f"contention workers failed: {errors}")
    granted = sum(outcome for outcome in outcomes if isinstance(outcome, int))
    return ContentionResult.measure(ledger, processes * calls, before, granted)


def _reserve_many(
    settings: Settings,
    variant: str,
    prefix: str,
    barrier: ProcessBarrier,
    results: Queue[int | str],
    calls: int,
    units: int,
    user_id: int | None,
) -> None:
    """One process's share: the units it was granted, or what went wrong, onto ``results``."""
    try:
        ledger = variant_ledger(settings, variant, prefix=prefix)
        barrier.wait()
        results.put(sum(try_reserve(ledger, units, user_id) for _ in range(calls)))
    except Exception as exc:
        results.put(repr(exc))
        raise
