"""Thresholds: each limit can fail a run, on the aggregated stats, and sets the exit code."""

from __future__ import annotations

from argparse import Namespace
from types import SimpleNamespace
from typing import Any

import pytest
from locust.env import Environment

from loadtests import generator, thresholds
from loadtests.latency import LATENCIES
from loadtests.thresholds import achieved_rps, violations


def environment(shape: Any = None, basis: str = "corrected", **limits: float) -> Environment:
    env = Environment()
    env.parsed_options = Namespace(
        **{name: limits.get(name) for name in thresholds.LIMITS}, latency_basis=basis,
        max_generator_cpu=0.9, max_schedule_lag_ms=100.0, max_dropped_share=0.01,
        csv_prefix=None, html_file=None,
    )  # fmt: skip
    env.shape_class = shape
    LATENCIES.reset()
    generator.LOAD = generator.Load()
    return env


def log(env: Environment, times_ms: list[float], failures: int = 0, late_ms: float = 0.0) -> None:
    for ms in times_ms:
        env.stats.log_request("GET", "/v1/quota", ms, 10)
        LATENCIES.record("GET", "/v1/quota", ms, ms + late_ms)
    for _ in range(failures):
        env.stats.log_error("GET", "/v1/quota", "500: boom")


def test_no_threshold_given_means_nothing_to_miss() -> None:
    env = environment()
    log(env, [5000.0], failures=1)
    assert violations(env) == []


def test_each_limit_names_what_it_measured() -> None:
    env = environment(max_p95_ms=50, max_p99_ms=500, max_error_ratio=0.01)
    log(env, [10.0] * 90 + [200.0] * 10, failures=5)
    assert violations(env) == [
        "p95 (corrected) 200 ms > 50 ms",
        "error ratio 0.0500 (5 of 100) > 0.01",
    ]
    relaxed = environment(max_p95_ms=250, max_p99_ms=250, max_error_ratio=0.05)
    log(relaxed, [10.0] * 90 + [200.0] * 10, failures=5)
    assert violations(relaxed) == []


def test_a_run_without_requests_misses_any_threshold() -> None:
    assert violations(environment(max_error_ratio=1.0)) == ["no requests were made"]


def rate_environment(per_second: dict[int, int], target: float, min_ratio: float) -> Environment:
    shape = SimpleNamespace(target_rps=target, steady_since=102.0)
    env = environment(shape, min_rate_ratio=min_ratio)
    log(env, [1.0])
    env.stats.total.num_reqs_per_sec = per_second
    return env


def test_the_achieved_rate_counts_the_steady_part_only() -> None:
    # Ramping up until second 102, and second 110 is still filling: 100 a second in between.
    per_second = {100: 3, 101: 40, **dict.fromkeys(range(102, 110), 100), 110: 7}
    assert achieved_rps(rate_environment(per_second, 100, 0.9).stats.total, 102.0) == 100.0
    assert violations(rate_environment(per_second, 100, 0.95)) == []
    assert violations(rate_environment(per_second, 125, 0.95)) == [
        "achieved 100.0 req/s = 0.80 of the target 125.0 < 0.95"
    ]


def test_a_scenario_without_a_target_rate_skips_the_rate_check() -> None:
    env = environment(min_rate_ratio=0.99)
    log(env, [1.0])
    assert violations(env) == []


@pytest.mark.parametrize(("limit", "code"), [(0.001, thresholds.FAILED), (1000.0, None)])
def test_quitting_sets_the_exit_code_only_on_a_miss(limit: float, code: int | None) -> None:
    env = environment(max_p95_ms=limit)
    log(env, [20.0] * 10)
    thresholds._judge(env)
    assert env.process_exit_code == code


def test_latency_thresholds_judge_the_corrected_latency_unless_told() -> None:
    for basis, expected in (("corrected", ["p95 (corrected) 510 ms > 100 ms"]), ("sent", [])):
        env = environment(basis=basis, max_p95_ms=100)
        log(env, [10.0] * 100, late_ms=500.0)  # answered in 10 ms, each sent 500 ms late
        assert violations(env) == expected


def test_a_saturated_generator_makes_the_run_invalid_whatever_the_latencies() -> None:
    env = environment(max_p95_ms=1000)
    log(env, [5.0] * 10)
    generator.LOAD.due, generator.LOAD.dropped = 100, 50
    thresholds._judge(env)
    assert env.process_exit_code == generator.INVALID
