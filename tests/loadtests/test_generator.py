"""The generator verdict: CPU, schedule lag and dropped arrivals each make a run invalid."""

from __future__ import annotations

from argparse import Namespace
from typing import Any

from loadtests.generator import Load, judge

LIMITS = Namespace(max_generator_cpu=0.9, max_schedule_lag_ms=100.0, max_dropped_share=0.01)


def snapshot(cpu_s: float = 1.0, lag_ms: float = 2.0, **counts: int) -> dict[str, Any]:
    load = Load()
    load.due = counts.get("due", 1000)
    load.dropped = counts.get("dropped", 0)
    load.requests = counts.get("requests", 1000)
    for _ in range(100):
        load.lagged(lag_ms / 1000)
    return {**load.snapshot(), "cpu_s": cpu_s, "wall_s": 10.0}


def test_a_generator_with_room_to_spare_gives_a_valid_run() -> None:
    verdict = judge(LIMITS, {"local": snapshot()})
    assert verdict.valid and verdict.reasons == []
    assert verdict.cpu_share == 0.1
    assert verdict.cpu_ms_per_request == 1.0


def test_each_sign_of_saturation_is_a_reason() -> None:
    assert judge(LIMITS, {"w1": snapshot(), "w2": snapshot(cpu_s=9.5)}).reasons == [
        "generator CPU 0.95 of a core (w2) > 0.9"
    ]
    (lagged,) = judge(LIMITS, {"local": snapshot(lag_ms=250)}).reasons
    assert lagged.startswith("schedule lag p99 250.") and lagged.endswith("ms > 100 ms")
    assert judge(LIMITS, {"local": snapshot(dropped=50)}).reasons == [
        "dropped arrivals 50 of 1000 due (5.00%) > 1.00%"
    ]


def test_workers_counts_add_up() -> None:
    verdict = judge(LIMITS, {"w1": snapshot(dropped=6), "w2": snapshot(dropped=6)})
    assert (verdict.due, verdict.dropped, verdict.requests) == (2000, 12, 2000)
    assert verdict.valid and verdict.dropped_share == 0.006


def test_a_run_without_a_schedule_is_not_judged() -> None:
    assert judge(LIMITS, {"local": snapshot(cpu_s=10.0, due=0)}).valid
