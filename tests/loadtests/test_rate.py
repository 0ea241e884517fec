"""Holding a rate: Poisson starts whatever the answer times, and as many users as it needs."""

from __future__ import annotations

import math
import random
from argparse import Namespace
from types import SimpleNamespace

import pytest

from loadtests import generator
from loadtests.rate import HoldRate, OpenArrivals


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds


def arrivals(pacing: float, answer_s: float, count: int, seed: int = 1) -> list[float]:
    """Start times of a user whose every answer takes ``answer_s``."""
    clock = Clock()

    class User(OpenArrivals):
        pacing_s = pacing

    User.arrival_clock = staticmethod(clock)
    User.arrival_sleep = staticmethod(clock.sleep)
    user = User()
    user.first_arrival(random.Random(seed))
    starts = []
    for _ in range(count):
        starts.append(clock.now)
        user.arrival_context()  # the request is sent now
        clock.now += answer_s
        clock.sleep(user.wait_time())
    return starts


def test_starts_average_one_per_pacing_whatever_the_answer_time() -> None:
    fast, slow = arrivals(2.0, 0.001, 4000), arrivals(2.0, 0.5, 4000)
    for starts in (fast, slow):
        mean_gap = (starts[-1] - starts[0]) / (len(starts) - 1)
        assert mean_gap == pytest.approx(2.0, rel=0.06)
    # Exponential gaps: about 1 - e^-1 of them shorter than the mean, not all equal.
    gaps = [b - a for a, b in zip(fast, fast[1:], strict=False)]
    assert sum(g < 2.0 for g in gaps) / len(gaps) == pytest.approx(1 - math.exp(-1), abs=0.03)


def test_starts_missed_behind_slow_answers_are_not_made_up() -> None:
    starts = arrivals(1.0, 3.0, 200)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    # Each answer takes 3 s: no two starts closer than that, so the rate falls to a third.
    assert min(gaps) == pytest.approx(3.0)
    assert (starts[-1] - starts[0]) / (len(starts) - 1) == pytest.approx(3.0, rel=0.1)


def shape(run_time: float | None, **options: float) -> HoldRate:
    hold = HoldRate()
    parsed = Namespace(
        target_rps=options.get("target_rps", 0.0), pacing_s=2.0, ramp_s=5.0, run_time=run_time,
        population_users=100_000, active_share=0.2, actions_per_user=40.0, peak_factor=3.0,
        duplicate_share=0.3, mix="", max_rps=options.get("max_rps", 0.0),
    )  # fmt: skip
    hold.runner = SimpleNamespace(environment=SimpleNamespace(parsed_options=parsed))  # type: ignore[assignment]
    return hold


def test_the_shape_runs_rate_times_pacing_users_until_the_run_time() -> None:
    hold = shape(run_time=60, target_rps=150)
    assert hold.tick() == (300, 60.0)  # 150 a second × 2 s, started over 5 s
    hold.start_time -= 61
    assert hold.tick() is None


def test_without_a_target_the_shape_holds_the_population_peak() -> None:
    hold = shape(run_time=None)
    assert hold.target_rps == pytest.approx(27.78, abs=0.01)
    assert hold.tick() == (56, 11.2)
    assert hold.steady_since == pytest.approx(hold.started_at + 7.0)


def test_late_and_dropped_starts_are_counted() -> None:
    generator.LOAD = generator.Load()
    starts = arrivals(1.0, 3.0, 300)
    load = generator.LOAD
    # A start waits behind a 3 s answer unless its gap was longer (e^-3, 5 %); about two more
    # per answer pass unmade.
    assert load.late / len(starts) == pytest.approx(1 - math.exp(-3), abs=0.04)
    assert load.dropped / len(starts) == pytest.approx(2.0, rel=0.15)
    assert load.due == len(starts) + load.dropped + 1  # the next one, planned and not yet due


def test_an_idle_user_that_wakes_on_time_has_no_lag_and_no_drops() -> None:
    generator.LOAD = generator.Load()
    arrivals(2.0, 0.001, 200)
    assert generator.LOAD.dropped == 0 and generator.LOAD.late == 0
    assert generator.LOAD.lag.get_total_count() == 200
    assert generator.LOAD.lag.get_max_value() <= 1  # the fake clock wakes exactly on time


def test_the_shape_never_asks_more_than_the_cap() -> None:
    assert shape(run_time=60, target_rps=150, max_rps=40).tick() == (80, 16.0)
