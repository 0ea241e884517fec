"""Deterministic schedule testing: the harness, not the OS, decides how reservations interleave.

```python
run = run_schedule(settings, "after", "hold-one", prefix=fresh_prefix())
run.result.lost, run.result.over_granted     # counted as contention.ContentionResult counts them
run.order                                    # (A, EXISTS), (B, EXISTS), (B, SET), ... as they ran
```

Every worker makes one reservation on its own client, which holds each command until the
controller lets it through; the controller lets through one command at a time, in the order a
*schedule* names the workers: ``[A, B, A, B]`` is A's first command, B's first, A's second, B's
second. So the race windows between a ledger's round trips are opened on purpose, and the same
schedule gives the same counts on fakeredis (which runs each command under one lock, so bursts
there never interleave) as on a real Redis.

A named schedule (``SCHEDULES``) is written in round trips, so it fits any ledger: one whose
reservation is a single command (ours, one Lua script) cannot be split by it, and runs its workers
one after another. Every wait is bounded by ``timeout`` and fails naming the step that waited.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, suppress
from dataclasses import dataclass, replace
from functools import partial
from string import ascii_uppercase
from typing import Any

import redis

from reference import kv
from reference.clock import utc_now
from reference.quota.ledger import KeyValueLedger, QuotaExhausted
from reference.settings import Settings
from ytscale.instruments.contention import ContentionResult, start_burst, try_reserve
from ytscale.variants.quota import variant_ledger

#: Seconds any one wait may take; a command here takes well under a millisecond.
DEFAULT_TIMEOUT = 10.0

Turn = Callable[[str], AbstractContextManager[None]]


class ScheduleError(RuntimeError):
    """The schedule could not be followed: it named a worker with no command left, or ran short."""


class _Abandoned(ScheduleError):
    """The controller gave up on the schedule; the worker stops where it is."""


@dataclass(frozen=True)
class Step:
    """One command as it ran: the worker that sent it and its name ("GET", "EVALSHA")."""

    worker: str
    command: str

    def __str__(self) -> str:
        return f"{self.worker}:{self.command}"


class _HookedRedis(redis.Redis):
    """A client on ``base``'s connection pool that sends every command inside ``turn(name)``."""

    def __init__(self, base: kv.Store, turn: Turn) -> None:
        if not isinstance(base, redis.Redis):
            raise TypeError("round trips are scheduled on one Redis, not on a cluster's nodes")
        super().__init__(connection_pool=base.connection_pool)
        self._turn = turn

    def execute_command(self, *args: Any, **options: Any) -> Any:
        with self._turn(str(args[0])):
            # redis-py leaves this one untyped.
            return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


class Controller:
    """Lets the workers' commands through one at a time, in the order of a schedule."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.timeout = timeout
        #: The commands in the order they were let through.
        self.order: list[Step] = []
        self._cond = threading.Condition()
        self._waiting: dict[str, str] = {}  # worker → the command it is held before
        self._granted: str | None = None
        self._running = False
        self._finished: set[str] = set()
        self._abandoned = False

    @contextmanager
    def turn(self, worker: str, command: str) -> Iterator[None]:
        """Worker side: hold ``command`` until the schedule names ``worker``, then send it."""
        with self._cond:
            self._waiting[worker] = command
            self._cond.notify_all()
            # A worker may be held over many steps: it gives up only once none is taken for
            # ``timeout``, as the controller would have by then.
            seen = -1
            while not (self._granted == worker or self._abandoned):
                if len(self.order) == seen:
                    del self._waiting[worker]
                    raise ScheduleError(
                        f"worker {worker} waited to send {command}, and no command was let "
                        f"through for {self.timeout:g} s (after {self._sent()})"
                    )
                seen = len(self.order)
                self._cond.wait_for(
                    lambda: self._granted == worker or self._abandoned, self.timeout
                )
            del self._waiting[worker]
            if self._abandoned:
                raise _Abandoned(f"worker {worker} stopped before {command}: schedule abandoned")
            self._granted, self._running = None, True
            self.order.append(Step(worker, command))
        try:
            yield
        finally:
            with self._cond:
                self._running = False
                self._cond.notify_all()

    def finish(self, worker: str) -> None:
        """Worker side: ``worker`` has no command left."""
        with self._cond:
            self._finished.add(worker)
            self._cond.notify_all()

    def run(self, schedule: Sequence[str], workers: set[str]) -> None:
        """Let one command through per step of ``schedule``, then see every worker finish."""
        for index, worker in enumerate(schedule, 1):
            self._let_through(worker, f"step {index} of {len(schedule)} ({worker})")
        with self._cond:
            if not self._cond.wait_for(
                lambda: self._finished >= workers or bool(self._waiting), self.timeout
            ):
                left = ", ".join(sorted(workers - self._finished))
                raise self._abandon(f"after the schedule, {left} did not finish")
            if self._waiting:
                held = ", ".join(f"{w} ({c})" for w, c in sorted(self._waiting.items()))
                raise self._abandon(
                    f"the schedule ended after {self._sent()} with commands still to send: {held}"
                )

    def _let_through(self, worker: str, step: str) -> None:
        """Wait for ``worker`` to reach its next command, let that through, wait for its reply."""
        with self._cond:
            if not self._cond.wait_for(
                lambda: worker in self._waiting or worker in self._finished, self.timeout
            ):
                raise self._abandon(
                    f"{step}: worker {worker} reached no command within {self.timeout:g} s"
                )
            if worker not in self._waiting:
                raise self._abandon(
                    f"{step}: worker {worker} has no command left (after {self._sent()})"
                )
            command = self._waiting[worker]
            self._granted = worker
            self._cond.notify_all()
            if not self._cond.wait_for(
                lambda: self._granted is None and not self._running, self.timeout
            ):
                raise self._abandon(f"{step}: {command} did not return within {self.timeout:g} s")

    def abandon(self) -> None:
        """Release every held worker; their commands are never sent."""
        with self._cond:
            self._abandoned = True
            self._cond.notify_all()

    def _abandon(self, message: str) -> ScheduleError:
        self._abandoned = True
        self._cond.notify_all()
        return ScheduleError(message)

    def _sent(self) -> str:
        return " ".join(map(str, self.order)) or "no command"


@dataclass(frozen=True)
class Interleaved:
    """What one schedule did: the steps asked for, the commands as they ran, and the counts."""

    steps: tuple[str, ...]
    order: tuple[Step, ...]
    result: ContentionResult


def _twin(ledger: KeyValueLedger, client: kv.Store, prefix: str | None = None) -> KeyValueLedger:
    """A ledger of ``ledger``'s class, budgets and clock, on ``client``."""
    return type(ledger)(
        client,
        daily_quota=ledger.daily_quota,
        user_quota=ledger.user_quota,
        prefix=ledger.prefix if prefix is None else prefix,
        clock=ledger.clock,
    )


def interleave(
    ledger: KeyValueLedger,
    schedule: Sequence[str],
    *,
    units: int = 1,
    timeout: float = DEFAULT_TIMEOUT,
) -> Interleaved:
    """One ``units`` reservation per worker named in ``schedule``, commands in its order.

    Each worker's ledger is a twin of ``ledger`` on its own gated client; ``ledger`` (whose prefix
    must be fresh) reads the counter before and after, and ``ContentionResult`` counts the units.
    """
    workers = list(dict.fromkeys(schedule))
    before = start_burst(ledger, 0, None)
    _warm_up(ledger, units)
    controller = Controller(timeout)
    granted: dict[str, int] = {}
    errors: dict[str, Exception] = {}

    def work(worker: str) -> None:
        twin = _twin(ledger, _HookedRedis(ledger.client, partial(controller.turn, worker)))
        try:
            granted[worker] = try_reserve(twin, units, None)
        except _Abandoned:
            pass
        except Exception as exc:
            errors[worker] = exc
        finally:
            controller.finish(worker)

    threads = [
        threading.Thread(target=work, args=(w,), name=f"interleave-{w}", daemon=True)
        for w in workers
    ]
    for thread in threads:
        thread.start()
    try:
        controller.run(schedule, set(workers))
    except ScheduleError as failure:
        # A worker's own error (a lost connection, say) is the cause of what the schedule saw.
        cause = next(iter(errors.items()), None)
        if cause is None:
            raise
        raise ScheduleError(f"{failure}; worker {cause[0]} failed: {cause[1]!r}") from cause[1]
    finally:
        controller.abandon()
        for thread in threads:
            thread.join(timeout)
    if errors:
        worker, error = next(iter(errors.items()))
        raise ScheduleError(f"worker {worker} failed: {error!r}") from error
    result = ContentionResult.measure(ledger, len(workers), before, sum(granted.values()))
    return Interleaved(tuple(schedule), tuple(controller.order), result)


def _warm_up(ledger: KeyValueLedger, units: int) -> None:
    """Load any Lua script ``ledger`` uses into the server: no schedule meets a one-off SCRIPT LOAD.

    A reservation on a throwaway prefix under ``ledger.prefix``; granted or refused, it has run.
    """
    with suppress(QuotaExhausted):
        _twin(ledger, ledger.client, f"{ledger.prefix}warm:").reserve(units)


def round_trips(ledger: KeyValueLedger, units: int = 1) -> int:
    """Commands a granted ``units`` reservation on ``ledger`` sends to a key that is missing.

    Counted on a throwaway prefix under ``ledger.prefix``, once the ledger is warmed up.
    """
    sent: list[str] = []

    @contextmanager
    def count(command: str) -> Iterator[None]:
        sent.append(command)
        yield

    _warm_up(ledger, units)
    _twin(ledger, _HookedRedis(ledger.client, count), f"{ledger.prefix}count:").reserve(units)
    return len(sent)


def _names(n: int) -> list[str]:
    if not 1 <= n <= len(ascii_uppercase):
        raise ValueError(f"a schedule names 1 to {len(ascii_uppercase)} workers, not {n}")
    return list(ascii_uppercase[:n])


def by_round_trip(workers: Sequence[str], trips: int) -> list[str]:
    """Every worker's first round trip, then every worker's second, and so on."""
    return [worker for _ in range(trips) for worker in workers]


def hold_first(workers: Sequence[str], trips: int) -> list[str]:
    """The first worker's first round trip; the others' whole reservations; the first's rest."""
    held, *others = workers
    return [held, *(w for w in others for _ in range(trips)), *[held] * (trips - 1)]


@dataclass(frozen=True)
class Schedule:
    """A named interleaving of ``workers`` one-unit reservations against a budget of ``budget``."""

    name: str
    about: str
    workers: int
    budget: int
    order: Callable[[Sequence[str], int], list[str]]

    def steps(self, trips: int) -> list[str]:
        """The schedule for reservations of ``trips`` round trips each."""
        return self.order(_names(self.workers), trips)


SCHEDULES: Mapping[str, Schedule] = {
    s.name: s
    for s in (
        Schedule(
            "lost-update",
            "the classic lost update: A and B both send their first round trip (both read), "
            "then both their second (both write)",
            workers=2,
            budget=1,
            order=by_round_trip,
        ),
        Schedule(
            "hold-one",
            "A sends its first round trip and is held there while B to I run whole "
            "reservations, then A finishes",
            workers=9,
            budget=8,
            order=hold_first,
        ),
        Schedule(
            "all-missing",
            "16 workers send their first round trip (the report's after: all see the key "
            "missing), then their second (all SET it)",
            workers=16,
            budget=8,
            order=by_round_trip,
        ),
    )
}


def run_schedule(
    settings: Settings,
    variant: str,
    name: str,
    *,
    prefix: str,
    timeout: float = DEFAULT_TIMEOUT,
) -> Interleaved:
    """The ``SCHEDULES[name]`` interleaving of the ``variant`` ledger on ``settings.redis_url``.

    ``prefix`` must be fresh: the workers meet today's counter missing. The schedule's budget
    replaces the settings' (and no user is capped), so the counts depend on the schedule alone.
    """
    try:
        schedule = SCHEDULES[name]
    except KeyError:
        raise ValueError(f"unknown schedule {name!r}: choose from {sorted(SCHEDULES)}") from None
    now = utc_now()  # one instant for every worker, so no reservation crosses midnight PT
    tight = replace(settings, daily_quota=schedule.budget, user_quota=None)
    ledger = variant_ledger(tight, variant, prefix=prefix, clock=lambda: now)
    return interleave(ledger, schedule.steps(round_trips(ledger)), timeout=timeout)
