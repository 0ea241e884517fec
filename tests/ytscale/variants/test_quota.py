"""The report's variants, one call at a time: where they agree with ours and where they do not.

Their races are shown on real Redis in ``test_contention.py``; here every call runs alone.
"""

import pytest
import redis

from reference.quota import AtomicLedger, KeyValueLedger, QuotaExhausted, QuotaLedger
from reference.quota.days import ManualClock
from reference.settings import Settings
from ytscale.variants.quota import VARIANTS, ReportAfterLedger, ReportBeforeLedger, variant_ledger


def make(variant: str, client: redis.Redis, prefix: str, clock: ManualClock) -> KeyValueLedger:
    return VARIANTS[variant](client, daily_quota=10, user_quota=4, prefix=prefix, clock=clock)


def test_the_registry_names_the_report_variants_and_ours() -> None:
    assert dict(VARIANTS) == {
        "before": ReportBeforeLedger,
        "after": ReportAfterLedger,
        "ours": AtomicLedger,
    }


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_alone_every_variant_grants_and_counts_like_ours(
    variant: str, client: redis.Redis, key_prefix: str, clock: ManualClock
) -> None:
    ledger = make(variant, client, key_prefix, clock)
    granted = [ledger.reserve(3, user_id=user_id).units for user_id in (1, 2, None)]
    assert granted == [3, 3, 3]
    assert (ledger.used(), ledger.used(user_id=1), ledger.remaining()) == (9, 3, 1)
    assert ledger.remaining(user_id=1) == 1


@pytest.mark.parametrize(("variant", "charged"), [("before", 3), ("after", 5), ("ours", 3)])
def test_only_after_keeps_the_units_of_a_call_it_refused(
    variant: str, charged: int, client: redis.Redis, key_prefix: str, clock: ManualClock
) -> None:
    ledger = make(variant, client, key_prefix, clock)
    ledger.reserve(3, user_id=1)
    with pytest.raises(QuotaExhausted) as info:
        ledger.reserve(2, user_id=1)
    assert info.value.scope == "user:1"
    # "after" increments, then compares, and never decrements: the refused 2 units stay charged.
    assert ledger.used() == ledger.used(user_id=1) == charged


@pytest.mark.parametrize("variant", ["before", "after"])
def test_the_report_variants_neither_refund_nor_stop_when_marked_exhausted(
    variant: str, client: redis.Redis, key_prefix: str, clock: ManualClock
) -> None:
    ledger = make(variant, client, key_prefix, clock)
    ledger.refund(ledger.reserve(2))
    assert ledger.used() == 2  # the report has no refund: nothing recorded, nothing given back
    ledger.mark_exhausted()
    assert ledger.remaining() == 0
    ledger.reserve(1)  # nor does it know YouTube said quotaExceeded
    assert ledger.used() == 3


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_creates_its_counters_with_the_days_expiry(
    variant: str, client: redis.Redis, key_prefix: str, clock: ManualClock
) -> None:
    make(variant, client, key_prefix, clock).reserve(1, user_id=1)
    expected = 12 * 3600 + 3600  # noon PT: half a day, plus the grace hour
    for name in ("project", "user:1"):
        assert expected - 5 <= client.ttl(f"{{{key_prefix}2025-06-15}}:{name}") <= expected


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_variant_is_a_quota_ledger(variant: str, key_prefix: str) -> None:
    settings = Settings(redis_url="fakeredis://interface")
    assert isinstance(variant_ledger(settings, variant, prefix=key_prefix), QuotaLedger)


def test_an_unknown_variant_is_named_in_the_error() -> None:
    with pytest.raises(ValueError, match="'fast'.*after.*before.*ours"):
        variant_ledger(Settings(), "fast")
