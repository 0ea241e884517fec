"""The quota ledger: every YouTube request reserves its units before it is sent.

```python
ledger = AtomicLedger.from_settings(settings)    # kv.connect(settings.redis_url)
reservation = ledger.reserve(cost("videos.list"), user_id=7)   # QuotaExhausted: nothing charged
...                                             # never sent? ledger.refund(reservation)
ledger.remaining(user_id=7)                     # min over the project's and the user's budget
ledger.mark_exhausted()                         # YouTube said quotaExceeded: none until midnight PT
```

**Scopes.** Every reservation charges the *project* scope, the Google Cloud project's daily quota
(``settings.daily_quota``) that every user shares and that YouTube enforces. Given a ``user_id`` it
also charges that user's counter, capped at ``settings.user_quota`` when set: a fair share layered
on the project budget, never a substitute for it.

**Days.** Counters are kept per Pacific-Time calendar day (``QuotaDay``) and expire shortly after
it, so budgets come back at midnight PT, as YouTube's do. A day's keys share one hash tag, so on a
Redis Cluster every script finds its keys in one slot.

**Lost replies.** A reply lost after the script ran (redis-py then sends it again) charges once:
the script is idempotent on the reservation. If the store stays unreachable the reservation is
handed back before the error is raised; only a refund lost too leaves its units charged until the
day ends, so the ledger over-counts by at most the units of reservations whose reply *and* refund
were both lost, and never under-counts.

``KeyValueLedger`` holds all of this; subclasses differ only in ``_charge``, the step that checks
the budgets and charges the counters. ``AtomicLedger`` (ours) does it in one Lua script; the
report's two patterns are in ``ytscale.variants.quota``.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from importlib.resources import files
from typing import Any, Final, NamedTuple, Protocol, Self, cast, runtime_checkable

import redis
from redis.commands.core import Script

from reference import kv
from reference.clock import Clock, utc_now
from reference.quota.costs import DEFAULT_DAILY_QUOTA
from reference.quota.days import QuotaDay
from reference.settings import Settings

#: Namespace of every key the ledger writes.
DEFAULT_PREFIX: Final = "ytscale:quota:"
PROJECT: Final = "project"


class QuotaExhausted(Exception):
    """A reservation was refused, nothing charged: ``scope`` has fewer than ``needed`` units left.

    ``scope`` is ``"project"`` or ``"user:<id>"``; its budget comes back at ``resets_at``.
    """

    def __init__(self, scope: str, needed: int, remaining: int, resets_at: datetime) -> None:
        super().__init__(
            f"{scope} quota exhausted: {needed} units needed, {remaining} left until "
            f"{resets_at:%Y-%m-%d %H:%M %Z}"
        )
        self.scope = scope
        self.needed = needed
        self.remaining = remaining
        self.resets_at = resets_at

    def __reduce__(self) -> tuple[Any, ...]:
        # Celery pickles task exceptions; the default would call __init__ with the message alone.
        return type(self), (self.scope, self.needed, self.remaining, self.resets_at)


@dataclass(frozen=True)
class Reservation:
    """Units charged to ``day`` for one request; hand it back to ``refund`` if it was never sent."""

    units: int
    user_id: int | None
    #: The PT day the units were charged to ("2025-11-29"); a refund returns them to that day.
    day: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex)


@runtime_checkable
class QuotaLedger(Protocol):
    """What the YouTube client needs from a ledger."""

    def reserve(self, units: int, *, user_id: int | None = None) -> Reservation:
        """Charge ``units`` to every applicable scope, or raise ``QuotaExhausted`` charging none."""
        ...

    def refund(self, reservation: Reservation) -> None:
        """Give back the units of a request that never reached YouTube; once, at most."""
        ...

    def remaining(self, *, user_id: int | None = None) -> int:
        """Units left today: the least over the project's budget and, if capped, the user's."""
        ...

    def mark_exhausted(self) -> None:
        """YouTube answered ``quotaExceeded``: refuse every reservation until the reset."""
        ...

    def used(self, *, user_id: int | None = None) -> int:
        """Units charged today to the project, or to ``user_id``."""
        ...


class Scope(NamedTuple):
    """A counter a reservation charges, and its budget (``None``: counted, not capped)."""

    name: str
    key: str
    budget: int | None


class Refusal(NamedTuple):
    """Why ``_charge`` charged nothing: ``scope`` had only ``remaining`` units left."""

    scope: str
    remaining: int


def _script(name: str) -> str:
    return files("reference.quota").joinpath(name).read_text(encoding="utf-8")


class KeyValueLedger(ABC):
    """A ledger on Redis (or fakeredis): keys, days, refunds and reads shared by every variant.

    Keys, per PT day, expiring an hour after it: ``{{prefix}{day}}:project`` and
    ``{{prefix}{day}}:user:<id>`` (units charged), ``{{prefix}{day}}:exhausted`` (YouTube said
    ``quotaExceeded``) and ``{{prefix}{day}}:reservations`` (a hash of the day's refundable
    reservations, one short field each: some 10,000 at the default budget).
    """

    def __init__(
        self,
        client: kv.Store,
        *,
        daily_quota: int = DEFAULT_DAILY_QUOTA,
        user_quota: int | None = None,
        prefix: str = DEFAULT_PREFIX,
        clock: Clock = utc_now,
    ) -> None:
        self.client = client
        self.daily_quota = daily_quota
        self.user_quota = user_quota
        self.prefix = prefix
        self.clock = clock
        self._refund = kv.script(client, _script("refund.lua"))

    @classmethod
    def from_settings(
        cls, settings: Settings, *, prefix: str = DEFAULT_PREFIX, clock: Clock = utc_now
    ) -> Self:
        """A ledger on ``settings.redis_url`` with the settings' project and per-user budgets."""
        return cls(
            kv.connect(settings.redis_url),
            daily_quota=settings.daily_quota,
            user_quota=settings.user_quota,
            prefix=prefix,
            clock=clock,
        )

    def today(self) -> QuotaDay:
        """The quota day the ledger's clock is in."""
        return QuotaDay.at(self.clock())

    def reserve(self, units: int, *, user_id: int | None = None) -> Reservation:
        if units < 1:
            raise ValueError(f"a reservation takes at least 1 unit, not {units}")
        now = self.clock()
        day = QuotaDay.at(now)
        reservation = Reservation(units, user_id, day.key)
        try:
            refusal = self._charge(reservation, self._scopes(day.key, user_id), day.ttl(now))
        except (redis.ConnectionError, redis.TimeoutError):
            # Whether the script ran is unknown: hand the units back, if the store lets us.
            with suppress(redis.ConnectionError, redis.TimeoutError):
                self.refund(reservation)
            raise
        if refusal is not None:
            raise QuotaExhausted(refusal.scope, units, max(0, refusal.remaining), day.resets_at)
        return reservation

    def refund(self, reservation: Reservation) -> None:
        scopes = self._scopes(reservation.day, reservation.user_id)
        self._refund(
            keys=[self._key(reservation.day, "reservations"), *(s.key for s in scopes)],
            args=[_field(reservation)],
        )

    def remaining(self, *, user_id: int | None = None) -> int:
        day = self.today().key
        budgets = {s.key: s.budget for s in self._scopes(day, user_id) if s.budget is not None}
        flag, *counts = cast(
            "list[bytes | None]", self.client.mget([self._key(day, "exhausted"), *budgets])
        )
        if flag is not None:
            return 0
        left = (budget - int(n or 0) for budget, n in zip(budgets.values(), counts, strict=True))
        return max(0, min(left))

    def used(self, *, user_id: int | None = None) -> int:
        day = self.today().key
        key = self._key(day, PROJECT) if user_id is None else self._user_key(day, user_id)
        return int(cast("bytes | None", self.client.get(key)) or 0)

    def mark_exhausted(self) -> None:
        now = self.clock()
        day = QuotaDay.at(now)
        self.client.set(self._key(day.key, "exhausted"), 1, ex=day.ttl(now))

    @abstractmethod
    def _charge(
        self, reservation: Reservation, scopes: Sequence[Scope], ttl: int
    ) -> Refusal | None:
        """Charge ``reservation.units`` to every scope unless one would go over its budget.

        ``ttl`` is how long a key created now should live. Return the refusal, or ``None`` once
        charged.
        """

    def _scopes(self, day: str, user_id: int | None) -> list[Scope]:
        scopes = [Scope(PROJECT, self._key(day, PROJECT), self.daily_quota)]
        if user_id is not None:
            scopes.append(Scope(f"user:{user_id}", self._user_key(day, user_id), self.user_quota))
        return scopes

    def _key(self, day: str, name: str) -> str:
        return kv.tagged(f"{self.prefix}{day}", name)

    def _user_key(self, day: str, user_id: int) -> str:
        return self._key(day, f"user:{user_id}")


def _field(reservation: Reservation) -> str:
    # The user is part of the field, so a reservation edited to name another user finds no record.
    return f"{reservation.id}/{reservation.user_id}"


class AtomicLedger(KeyValueLedger):
    """Ours: check every scope, charge them all and record the reservation in one Lua script.

    One round trip per reservation, and no other client's command can run between the check and
    the charge, so units are never lost and budgets never overrun, however many workers contend.
    """

    @cached_property
    def _reserve(self) -> Script:
        # Registering computes the SHA locally; the script is sent only if the server lacks it.
        return kv.script(self.client, _script("reserve.lua"))

    def _charge(
        self, reservation: Reservation, scopes: Sequence[Scope], ttl: int
    ) -> Refusal | None:
        day = reservation.day
        index, remaining = cast(
            "list[int]",
            self._reserve(
                keys=[
                    self._key(day, "reservations"),
                    self._key(day, "exhausted"),
                    *(s.key for s in scopes),
                ],
                args=[
                    reservation.units,
                    ttl,
                    _field(reservation),
                    *(-1 if s.budget is None else s.budget for s in scopes),
                ],
            ),
        )
        return None if index == 0 else Refusal(scopes[index - 1].name, remaining)
