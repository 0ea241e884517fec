"""The P0 report's two quota patterns (claim #2), runnable beside ours through one interface.

```python
ledger = variant_ledger(settings, "after")    # or "before", "ours"
```

Each variant is a ``KeyValueLedger`` and shares its keys, PT days, reads and refunds; only
``_charge`` differs, and it issues the commands Django's Redis cache backend
(``django/core/cache/backends/redis.py``) sends for the report's code, one round trip each:

- ``before`` — ``cache.get`` (GET), compare, ``cache.set`` (SET ... EX): a read-modify-write.
  Two workers that read the same value both write ``value + units``: one charge is lost, and both
  may pass a check that only one should have.
- ``after`` — ``cache.incr``, which Django implements as EXISTS then INCRBY and which raises
  ``ValueError`` on a missing key; the report then falls back to ``cache.set(key, units)``. Workers
  that all see the key missing all SET it to their own units: every charge but the last is lost,
  and the budget check that follows is made against the undercount. The report checks the budget
  after the increment and shows no decrement, so a refused call's units stay charged.

Faithful to the report in what it lacks, too: neither variant records reservations (so ``refund``
finds nothing to give back) nor honours ``mark_exhausted`` when charging. They compare against the
budget where the report compared against a fixed 9,000, so any overrun they show is the race's.
The window between their round trips (100–400 µs between processes here) is what the race needs;
nothing widens it artificially.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import cast

from reference import kv
from reference.clock import Clock, utc_now
from reference.quota.ledger import (
    DEFAULT_PREFIX,
    AtomicLedger,
    KeyValueLedger,
    Refusal,
    Reservation,
    Scope,
)
from reference.settings import Settings


class ReportBeforeLedger(KeyValueLedger):
    """The report's "before": ``cache.get(key, 0)``, compare, ``cache.set(key, current + n)``."""

    def _charge(
        self, reservation: Reservation, scopes: Sequence[Scope], ttl: int
    ) -> Refusal | None:
        units = reservation.units
        readings = [int(cast("bytes | None", self.client.get(s.key)) or 0) for s in scopes]
        for scope, current in zip(scopes, readings, strict=True):
            if scope.budget is not None and current + units > scope.budget:
                return Refusal(scope.name, scope.budget - current)
        for scope, current in zip(scopes, readings, strict=True):
            self.client.set(scope.key, current + units, ex=ttl)
        return None


class ReportAfterLedger(KeyValueLedger):
    """The report's "after": ``cache.incr``, falling back to ``cache.set`` on a missing key."""

    def _charge(
        self, reservation: Reservation, scopes: Sequence[Scope], ttl: int
    ) -> Refusal | None:
        units = reservation.units
        for scope in scopes:
            try:
                new_value = _django_incr(self.client, scope.key, units)
            except ValueError:
                self.client.set(scope.key, units, ex=ttl)
                new_value = units
            if scope.budget is not None and new_value > scope.budget:
                return Refusal(scope.name, scope.budget - new_value)
        return None


def _django_incr(client: kv.Store, key: str, delta: int) -> int:
    """``RedisCacheClient.incr`` from Django: EXISTS, then INCRBY; a missing key is a ValueError."""
    if not client.exists(key):
        raise ValueError(f"Key '{key}' not found.")
    return cast(int, client.incr(key, delta))


#: The variants by the names benchmarks and the report use.
VARIANTS: Mapping[str, type[KeyValueLedger]] = {
    "before": ReportBeforeLedger,
    "after": ReportAfterLedger,
    "ours": AtomicLedger,
}


def variant_ledger(
    settings: Settings,
    variant: str,
    *,
    prefix: str = DEFAULT_PREFIX,
    clock: Clock = utc_now,
) -> KeyValueLedger:
    """The ``variant`` ledger ("ours", "before" or "after") on ``settings.redis_url``."""
    try:
        ledger_class = VARIANTS[variant]
    except KeyError:
        raise ValueError(
            f"unknown ledger variant {variant!r}: choose from {sorted(VARIANTS)}"
        ) from None
    return ledger_class.from_settings(settings, prefix=prefix, clock=clock)
