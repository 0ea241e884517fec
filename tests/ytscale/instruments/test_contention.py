"""The contention harness, and what it finds in the report's two patterns on real Redis.

How many trials. Per-trial loss rates measured on this machine's Redis 7.0 (loopback, 2 shared
cores), 100 threads released by a barrier, one unit each, budget out of reach
(``variant_ledger``, ``contend``):

==========  ============  =========================  ==========================
variant     key           trials with a unit lost    units lost (min / median)
==========  ============  =========================  ==========================
before      missing       1000 / 1000                57 / 98
before      existing      1000 / 1000                65 / 98
after       missing        995 / 1000                 0 / 81
after       existing         0 / 1000                 0 / 0
==========  ============  =========================  ==========================

With a budget of 50 the same bursts granted past it in 300 / 300 ("before", either key) and
299 / 300 ("after", missing key) trials; "after" on an existing key never did (0 / 300).

The worst case, "after" on a missing key, misses in about 0.5% of trials (95% upper bound 1.2%).
Each loss test runs up to ``LOSS_TRIALS`` = 10 trials and stops at the first loss, so it fails by
bad luck with probability at most 0.012**10 < 1e-19, and below 1e-6 even if a loaded machine made
misses 20 times likelier (0.25**10 ≈ 1e-6). It usually costs one trial.
"""

from collections.abc import Iterator, Sequence
from itertools import islice

import pytest
import redis

from reference.quota import AtomicLedger, KeyValueLedger
from reference.quota.ledger import Refusal, Reservation, Scope
from reference.settings import Settings
from ytscale.instruments.contention import ContentionResult, contend, contend_processes
from ytscale.variants.quota import VARIANTS, ReportAfterLedger

LOSS_TRIALS = 10
WORKERS = 100
ON_REAL_REDIS = pytest.mark.parametrize(
    "redis_url", [pytest.param("redis", id="redis", marks=pytest.mark.redis)], indirect=True
)


class ForgetfulLedger(KeyValueLedger):
    """Grants everything and counts nothing: what the detector must catch."""

    def _charge(
        self, reservation: Reservation, scopes: Sequence[Scope], ttl: int
    ) -> Refusal | None:
        return None


def bursts(
    variant: str, client: redis.Redis, key_prefix: str, budget: int, prime: int
) -> Iterator[ContentionResult]:
    """Up to ``LOSS_TRIALS`` bursts of ``WORKERS`` one-unit reservations, each on a fresh prefix."""
    for trial in range(LOSS_TRIALS):
        ledger = VARIANTS[variant](client, daily_quota=budget, prefix=f"{key_prefix}{trial}:")
        yield contend(ledger, workers=WORKERS, prime=prime)


# --- the harness ----------------------------------------------------------------------------------


def test_the_detector_counts_granted_units_the_ledger_never_recorded(
    client: redis.Redis, key_prefix: str
) -> None:
    result = contend(ForgetfulLedger(client, daily_quota=2, prefix=key_prefix), workers=3)
    assert (result.granted, result.recorded, result.lost, result.over_granted) == (3, 0, 3, 1)
    assert result.ledger == "ForgetfulLedger"


def test_the_detector_counts_refused_units_that_stayed_charged(
    client: redis.Redis, key_prefix: str
) -> None:
    ledger = ReportAfterLedger(client, daily_quota=5, prefix=key_prefix)
    result = contend(ledger, workers=1, units=2, prime=5)
    assert (result.before, result.granted, result.recorded) == (5, 0, 2)
    assert (result.lost, result.phantom, result.over_granted) == (0, 2, 0)


def test_a_burst_meant_for_a_missing_key_refuses_a_used_prefix(
    client: redis.Redis, key_prefix: str
) -> None:
    ledger = AtomicLedger(client, prefix=key_prefix)
    ledger.reserve(1)
    with pytest.raises(ValueError, match="fresh prefix"):
        contend(ledger, workers=2)


def test_processes_cannot_share_an_in_process_fakeredis(key_prefix: str) -> None:
    with pytest.raises(ValueError, match="redis://"):
        contend_processes(Settings(redis_url="fakeredis://x"), prefix=key_prefix)


# --- the report's patterns on real Redis ----------------------------------------------------------


@ON_REAL_REDIS
@pytest.mark.parametrize(
    ("variant", "prime"),
    [("before", 0), ("before", 1), ("after", 0)],
    ids=["before-missing-key", "before-existing-key", "after-missing-key"],
)
def test_the_report_patterns_lose_units_under_contention(
    variant: str, prime: int, client: redis.Redis, key_prefix: str
) -> None:
    found = next((r for r in bursts(variant, client, key_prefix, 10**6, prime) if r.lost), None)
    assert found is not None, f"no unit lost in {LOSS_TRIALS} trials"


@ON_REAL_REDIS
@pytest.mark.parametrize(
    ("variant", "prime"),
    [("before", 0), ("before", 1), ("after", 0)],
    ids=["before-missing-key", "before-existing-key", "after-missing-key"],
)
def test_the_report_patterns_grant_past_a_tight_budget(
    variant: str, prime: int, client: redis.Redis, key_prefix: str
) -> None:
    found = next(
        (r for r in bursts(variant, client, key_prefix, 50, prime) if r.over_granted), None
    )
    assert found is not None, f"no over-grant in {LOSS_TRIALS} trials"


@ON_REAL_REDIS
def test_after_holds_once_the_key_exists_but_charges_refused_calls(
    client: redis.Redis, key_prefix: str
) -> None:
    for result in islice(bursts("after", client, key_prefix, budget=50, prime=1), 3):
        # INCRBY is atomic: exactly the 49 units left are granted, and all 100 are charged.
        assert (result.lost, result.over_granted) == (0, 0), result
        assert (result.granted, result.recorded) == (49, WORKERS), result


# --- ours across processes ------------------------------------------------------------------------


@pytest.mark.slow  # spawns four interpreters
@ON_REAL_REDIS
@pytest.mark.parametrize(
    ("budget", "user_quota", "prime", "expected"),
    [(500, None, 0, 500), (10**6, 200, 1, 199)],
    ids=["project-budget-missing-key", "user-cap-existing-key"],
)
def test_ours_is_exact_across_processes(
    budget: int,
    user_quota: int | None,
    prime: int,
    expected: int,
    redis_url: str,
    key_prefix: str,
) -> None:
    settings = Settings(redis_url=redis_url, daily_quota=budget, user_quota=user_quota)
    result = contend_processes(
        settings, "ours", prefix=key_prefix, processes=4, calls=150, prime=prime, user_id=1
    )
    assert (result.lost, result.phantom, result.over_granted) == (0, 0, 0), result
    assert result.granted == result.recorded == expected, result
