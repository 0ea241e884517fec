"""Ours under contention: 100 threads released together never lose a unit nor pass a budget.

On fakeredis this checks the script's semantics under threads; on real Redis, where every command
is a round trip between processes and the report's variants lose units in nearly every trial
(``test_contention.py``), it is the atomicity proof.
"""

from dataclasses import dataclass

import pytest
import redis

from reference.quota import AtomicLedger
from tests.backends import LEDGER_STORES, store_url
from ytscale.instruments.contention import contend

WORKERS = 100
#: Trials per case. The report's variants lose units in >99% of such trials on real Redis, so a
#: non-atomic ledger would fail in the first; five leave no room for luck (< 1e-9).
TRIALS = 5


@pytest.fixture(params=LEDGER_STORES)
def redis_url(request: pytest.FixtureRequest) -> str:
    """The ledger's stores: a Redis Cluster besides those every test runs on."""
    return store_url(request.param)


@dataclass(frozen=True)
class Case:
    budget: int = 10**6
    user_quota: int | None = None
    user_id: int | None = None
    units: int = 1
    #: Units reserved before the burst: 0 means the burst meets a missing key.
    prime: int = 0
    #: Units the burst must be granted, exactly.
    expected: int = WORKERS


CASES = [
    pytest.param(Case(), id="missing-key"),
    pytest.param(Case(prime=3), id="existing-key"),
    pytest.param(Case(budget=50, expected=50), id="missing-key-tight-budget"),
    pytest.param(Case(budget=100, units=3, prime=1, expected=99), id="existing-key-tight-budget"),
    pytest.param(Case(user_quota=40, user_id=7, expected=40), id="user-cap"),
]


@pytest.mark.parametrize("case", CASES)
def test_ours_grants_exactly_what_it_counts_and_never_past_a_budget(
    case: Case, client: redis.Redis, key_prefix: str
) -> None:
    for trial in range(TRIALS):
        ledger = AtomicLedger(
            client,
            daily_quota=case.budget,
            user_quota=case.user_quota,
            prefix=f"{key_prefix}{trial}:",
        )
        result = contend(
            ledger, workers=WORKERS, units=case.units, prime=case.prime, user_id=case.user_id
        )
        assert (result.lost, result.phantom, result.over_granted) == (0, 0, 0), result
        assert result.granted == result.recorded == case.expected, result
        if case.user_id is not None:
            assert ledger.used(user_id=case.user_id) == case.prime + case.expected
