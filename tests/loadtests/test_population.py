"""The population model: the rate to hold follows from the assumptions, proportionally."""

from __future__ import annotations

import pytest

from loadtests.population import (
    ACTIONS,
    DEFAULT_MIX,
    SECONDS_PER_DAY,
    LoadPopulation,
    parse_mix,
    virtual_users,
)


def test_the_default_population_holds_its_peak_rate() -> None:
    population = LoadPopulation()
    # 100,000 users × 20 % active × 40 requests = 800,000 requests a day; ×3 at the peak.
    assert population.daily_requests == pytest.approx(800_000)
    assert population.mean_rps == pytest.approx(800_000 / SECONDS_PER_DAY)
    assert population.peak_rps == pytest.approx(3 * 800_000 / SECONDS_PER_DAY)
    assert population.peak_rps == pytest.approx(27.778, abs=1e-3)


def test_the_rate_scales_with_each_assumption() -> None:
    base = LoadPopulation()
    assert LoadPopulation(users=200_000).peak_rps == pytest.approx(2 * base.peak_rps)
    assert LoadPopulation(active_share=0.1).peak_rps == pytest.approx(base.peak_rps / 2)
    assert LoadPopulation(actions_per_active_user=120).peak_rps == pytest.approx(3 * base.peak_rps)
    assert LoadPopulation(peak_factor=1).peak_rps == pytest.approx(base.mean_rps)


def test_rates_split_the_total_by_the_normalised_mix() -> None:
    population = LoadPopulation(mix={"quota": 3, "sources": 1})
    assert population.shares() == {"quota": 0.75, "sources": 0.25}
    assert population.rates(100) == {"quota": 75.0, "sources": 25.0}
    default = LoadPopulation().rates()
    assert sum(default.values()) == pytest.approx(LoadPopulation().peak_rps)
    assert set(default) == set(DEFAULT_MIX)
    assert default["import_channel"] < default["import_video"] < default["check_videos"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"users": 0},
        {"active_share": 1.5},
        {"duplicate_share": -0.1},
        {"peak_factor": 0.5},
        {"actions_per_active_user": -1},
        {"mix": {}},
        {"mix": {"quota": -1, "sources": 2}},
        {"mix": {"quota": 0}},
    ],
)
def test_impossible_populations_are_refused(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        LoadPopulation(**kwargs)  # type: ignore[arg-type]


def test_virtual_users_are_rate_times_pacing_rounded_up() -> None:
    assert virtual_users(100, 2) == 200
    assert virtual_users(138.9, 2) == 278
    assert virtual_users(0.1, 1) == 1
    for rate, pacing in ((0, 1), (1, 0), (-1, 1)):
        with pytest.raises(ValueError):
            virtual_users(rate, pacing)


def test_a_mix_on_the_command_line_names_actions_and_weights() -> None:
    assert parse_mix("") == {}
    assert parse_mix(" quota=2, ping = 0.5 ,") == {"quota": 2.0, "ping": 0.5}
    assert "ping" in ACTIONS and set(DEFAULT_MIX) < set(ACTIONS)
    with pytest.raises(ValueError, match="actions"):
        parse_mix("quotas=1")
    with pytest.raises(ValueError, match="actions"):
        parse_mix("quota")
    with pytest.raises(ValueError, match="not a number"):
        parse_mix("quota=lots")
