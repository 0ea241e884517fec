import statistics

import httpx
import pytest

from tests.ytscale.fake.helpers import Ticker, client_of, get, make_fake
from ytscale.fake.faults import FaultConfig, Faults, Latency
from ytscale.fake.youtube import FakeConfig, FakeYouTube


def test_a_storm_can_last_a_simulated_period() -> None:
    ticker = Ticker()
    fake = make_fake(FakeConfig(seed=1, time_scale=10.0), monotonic=ticker)
    fake.faults.start_storm(seconds=100)  # 100 simulated seconds: 10 real ones
    with client_of(fake) as client:
        ticker.now = 9.9
        assert get(client, "videos", part="id", id="x").status_code == 403
        ticker.now = 10.0
        assert get(client, "videos", part="id", id="x").status_code == 200


def test_random_storms_start_at_their_rate() -> None:
    faults = FaultConfig(seed=4, storm=0.01, storm_requests=20)
    fake = make_fake(FakeConfig(seed=1, faults=faults))
    with client_of(fake) as client:
        for _ in range(600):
            get(client, "videos", part="id", id="x")
    outcomes = fake.stats()["outcomes"]
    assert 20 <= outcomes["quotaStorm"] <= 300
    assert fake.used == outcomes["ok"]


def outcome_sequence(fake: FakeYouTube, n: int = 300) -> list[str]:
    sequence = []
    with client_of(fake) as client:
        for _ in range(n):
            try:
                sequence.append(str(get(client, "videos", part="id", id="x").status_code))
            except httpx.RemoteProtocolError:
                sequence.append("dropped")
    return sequence


def test_faults_are_reproducible_from_their_seed() -> None:
    def config(seed: int) -> FakeConfig:
        faults = FaultConfig(seed=seed, rate_limit=0.1, server_error=0.1, drop=0.1)
        return FakeConfig(seed=1, faults=faults)

    first = make_fake(config(9))
    run = outcome_sequence(first)
    assert outcome_sequence(make_fake(config(9))) == run
    assert outcome_sequence(make_fake(config(10))) != run
    first.reset()
    assert outcome_sequence(first) == run
    assert 15 <= run.count("dropped") <= 50 and {"200", "403", "dropped"} <= set(run)


def test_latency_is_lognormal_with_the_configured_mean_scaled() -> None:
    faults = Faults(FaultConfig(seed=2, latency=Latency(mean_s=5.0, sigma=0.5)), time_scale=100)
    delays = [faults.decide().delay_s for _ in range(5_000)]
    assert statistics.mean(delays) == pytest.approx(0.05, rel=0.05)  # 5 s simulated → 50 ms
    assert min(delays) > 0 and statistics.median(delays) < statistics.mean(delays)


def test_fault_rates_are_probabilities() -> None:
    with pytest.raises(ValueError, match="drop"):
        FaultConfig(drop=1.5)
    with pytest.raises(ValueError, match="requests or seconds"):
        Faults(FaultConfig()).start_storm()
