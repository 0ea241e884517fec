"""The capacity windows: the trace's arithmetic, the model held to runs made to order, and a tiny
real window on threads (and on worker processes when a Redis broker is set)."""

from __future__ import annotations

import math
import os
from dataclasses import replace
from typing import Any

import pytest

from reference.settings import Settings
from tests.backends import POSTGRES_ENV, require_env
from ytscale.report import window
from ytscale.report.window import (
    Inputs,
    Row,
    Trace,
    WindowConfig,
    busy_share,
    choose_compression,
    max_abs_error,
    per_minute,
    start_lag_p95,
)

BROKER_ENV = "YTSCALE_TEST_BROKER_URL"


def trace(runs: dict[int, tuple[float, float, float, str]]) -> Trace:
    """source → (planned, began, finished, slot), seconds from the start."""
    t = Trace(t0=100.0)
    for source, (planned, began, finished, slot) in runs.items():
        t.planned[source] = planned
        t.record(source, 100.0 + began, 100.0 + finished, slot)
    return t


def test_a_rows_error_is_relative_to_the_prediction_and_absent_when_either_side_is() -> None:
    assert Row("m", predicted=4.0, measured=5.0).error == 0.25
    assert Row("m", predicted=4.0, measured=3.0).error == -0.25
    assert Row("m", predicted=None, measured=3.0).error is None
    assert Row("m", predicted=4.0, measured=None).error is None


def test_handoff_counts_a_slots_idle_time_only_once_its_next_sync_was_due() -> None:
    # Slot a runs 1 then 2 (due all along) 0.2 s apart; slot b runs 3, then 4, due at 5, at 5.1:
    # b was idle from 1 to 5 for want of work, and 0.1 s handing off.
    t = trace({1: (0, 0, 1, "a"), 2: (0, 1.2, 2, "a"), 3: (0, 0, 1, "b"), 4: (5, 5.1, 6, "b")})
    assert t.handoff() == pytest.approx((0.2 + 0.1) / 2)


def test_steady_durations_leave_out_the_first_to_start() -> None:
    t = trace({1: (0, 0, 3, "a"), 2: (0, 0.5, 1.5, "b"), 3: (0, 3, 4, "a")})
    assert t.steady_durations(skip=1) == pytest.approx([1.0, 1.0])


def test_inputs_come_from_the_steady_runs_in_simulated_seconds() -> None:
    t = trace({1: (0, 0, 2, "a"), 2: (0, 2.1, 3.1, "a"), 3: (0, 3.1, 4.1, "a")})
    inputs = Inputs.of(t, slots=1, k=10.0)
    assert inputs.service_s == pytest.approx(10.0)  # 1 real s, the first run left out, × 10
    assert inputs.cv == pytest.approx(0.0)
    assert inputs.handoff_s == pytest.approx(0.5)  # (0.1 + 0) / 2 real s, × 10
    assert inputs.slot_s == pytest.approx(10.5)
    assert Inputs.mean([inputs, replace(inputs, service_s=12.0)]).service_s == pytest.approx(11.0)


def test_start_lag_counts_syncs_that_found_a_slot_free_and_began_late() -> None:
    # One slot. 1 is due at 0 and starts at once; 2 is due at 0 too, behind 1: its wait is the
    # model's queueing, not lag; 3 is due at 5 with the slot free and starts 2 s late.
    t = trace({1: (0, 0, 1, "a"), 2: (0, 1, 2, "a"), 3: (5, 7, 8, "a")})
    lags = start_lag_p95(t, slots=1)
    assert lags == pytest.approx(2.0)
    on_time = trace({1: (0, 0, 1, "a"), 2: (0, 1, 2, "a"), 3: (5, 5, 6, "a")})
    assert start_lag_p95(on_time, slots=1) == 0.0


def test_busy_share_is_the_windows_slot_time_spent_running() -> None:
    # Two slots over a 900 s window at k = 900 (1 real s): one busy all of it, one half.
    t = trace({1: (0, 0, 1, "a"), 2: (0, 0, 0.5, "b"), 3: (0, 1, 3, "a")})
    assert busy_share(t, slots=2, k=900.0) == pytest.approx(0.75)


def test_completions_are_counted_per_simulated_minute_up_to_the_horizon() -> None:
    assert per_minute([0, 59.9, 60, 179, 200], horizon_s=180) == [2, 1, 1]


def test_compression_keeps_the_busy_worker_under_the_cpu_budget() -> None:
    config = WindowConfig(sources=5_000, cpu_budget=0.5, compression_range=(2.0, 500.0))
    # 10 slots, all busy (5,000 in 900 s keep 27.8 busy): 10 × k / 5 s × 10 ms = 0.5 cores.
    assert choose_compression("report", 10, 0.010, config, cores=1.0) == pytest.approx(25.0)
    assert choose_compression("report", 10, 0.010, config, cores=2.0) == pytest.approx(50.0)
    # 35 slots, of which the report's stagger keeps 27.8 busy; ours 334 a minute: as many.
    busy = 5_000 / 900 * 5
    assert choose_compression("report", 35, 0.010, config, 1.0) == pytest.approx(250 / busy)
    assert choose_compression("ours", 35, 0.010, config, 1.0) == pytest.approx(250 / (334 / 12))
    assert choose_compression("report", 1, 1e-6, config, cores=1.0) == 500.0
    assert choose_compression("report", 1000, 1.0, config, cores=1.0) == 2.0


def run(
    stagger: str, slots: int, repeat: int, service_s: float, done: list[float]
) -> dict[str, Any]:
    return {
        "stagger": stagger,
        "slots": slots,
        "repeat": repeat,
        "compression": 10.0,
        "done_s": done,
        "in_window": sum(t <= window.WINDOW_S for t in done),
        "inputs": {"service_s": service_s, "cv": 0.0, "handoff_s": 0.0},
        "saturated": False,
    }


def judged(config: WindowConfig, runs: list[dict[str, Any]], i: int) -> dict[str, Any]:
    return window._judge(config, dict(runs[i], done_s=list(runs[i]["done_s"])), runs)


def overloaded(slots: int, service_s: float) -> list[float]:
    """The report's stagger on too few slots: back to back from the start, ``slots`` at a time."""
    per_slot = math.floor(990 / service_s)
    return sorted((k + 1) * service_s for k in range(per_slot) for _ in range(slots))


def test_each_run_is_predicted_from_the_other_repeats_not_its_own() -> None:
    config = WindowConfig(sources=2_000, grid=(("report", (4,)),), repeats=2, seed=3)
    # The other repeat met 5 s syncs; this one is judged against that, whatever it met itself.
    runs = [run("report", 4, 0, 99.0, overloaded(4, 5.0)), run("report", 4, 1, 5.0, [])]
    point = judged(config, runs, 0)
    assert point["calibrated_on"] == 1 and point["model_inputs"]["service_s"] == 5.0
    rows = {r["metric"]: r for r in point["rows"]}
    # Overloaded from the first instant, 4 slots finish 4 × 900 / 5 = 720 syncs in the window.
    assert rows["syncs in the window"]["predicted"] == pytest.approx(720, abs=8)
    assert abs(rows["syncs in the window"]["error"]) < 0.02
    assert rows["window end s"]["measured"] is None  # 2,000 were never all done


def test_a_model_fed_the_wrong_service_time_is_caught_by_the_error() -> None:
    config = WindowConfig(sources=2_000, grid=(("report", (4,)),), repeats=2, seed=3)
    runs = [run("report", 4, 0, 5.0, overloaded(4, 5.0)), run("report", 4, 1, 10.0, [])]
    rows = {r["metric"]: r for r in judged(config, runs, 0)["rows"]}
    assert rows["syncs in the window"]["error"] == pytest.approx(1.0, abs=0.05)
    assert max_abs_error([{"saturated": False, "rows": list(rows.values())}]) >= 0.95


def test_ours_releases_the_pro_rata_cap_a_tick() -> None:
    # 35 slots of 5 s outrun 334 a minute: the model finishes each tick's syncs within it.
    config = WindowConfig(sources=5_000, grid=(("report", (35,)),), repeats=2, seed=1)
    inputs = Inputs(service_s=5.0, cv=0.0, handoff_s=0.0)
    found = window._predict(config, "ours", 35, inputs, horizon_s=990.0, seed=0)
    per_min = per_minute(found["completions"], 990.0)
    assert per_min[:14] == [334] * 14
    assert found["end_s"] is not None and 840 < found["end_s"] < 900


def test_a_run_without_another_repeat_is_not_predicted() -> None:
    config = WindowConfig(sources=100, grid=(("report", (4,)),), repeats=1)
    point = judged(config, [run("report", 4, 0, 5.0, [1.0, 2.0])], 0)
    assert point["rows"] == [] and point["calibrated_on"] == 0
    assert max_abs_error([point]) is None


def test_saturated_runs_are_left_out_of_the_largest_error() -> None:
    rows = [{"metric": "m", "predicted": 1.0, "measured": 2.0, "error": 1.0}]
    assert max_abs_error([{"saturated": True, "rows": rows}]) is None


def test_an_unknown_stagger_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown stagger"):
        WindowConfig(grid=(("nope", (1,)),))


TINY = WindowConfig(
    sources=60,
    grid=(("report", (3,)), ("ours", (3,))),
    repeats=2,
    latency_mean_s=5.0,
    compression_range=(200.0, 200.0),
    min_calibration=12,
)


def check_tiny(result: dict[str, Any], workers: str) -> None:
    assert result["workers"] == workers
    assert [(p["stagger"], p["repeat"]) for p in result["points"]] == [
        ("report", 0), ("report", 1), ("ours", 0), ("ours", 1)
    ]  # fmt: skip
    for point in result["points"]:
        rows = {r["metric"]: r for r in point["rows"]}
        assert point["calibrated_on"] == 1 and point["compression"] == 200.0
        # Every sync ran and was recorded, within the window's 5 real seconds.
        assert rows["syncs by the horizon"]["measured"] == TINY.sources
        assert rows["syncs in the window"]["predicted"] > 0
        assert rows["window end s"]["measured"] is not None
        assert point["model_inputs"]["service_s"] >= TINY.latency_mean_s * 0.8


@pytest.mark.slow
def test_a_tiny_window_runs_through_an_in_process_worker(tmp_path: Any) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'unused.db'}", key_prefix="t:")
    check_tiny(window.measure_windows(settings, TINY), "threads")


@pytest.mark.slow
@pytest.mark.redis
@pytest.mark.postgres
def test_a_tiny_window_runs_through_worker_processes_on_the_real_engines() -> None:
    # The report on real engines: PostgreSQL (a schema a run) and worker processes on Redis.
    settings = Settings(
        database_url=require_env(POSTGRES_ENV),
        broker_url=require_env(BROKER_ENV),
        key_prefix=f"t:{os.getpid()}:",
    )
    check_tiny(window.measure_windows(settings, TINY), "processes")


def test_a_run_is_saturated_by_cpu_by_start_lag_or_by_a_late_release_and_says_which() -> None:
    assert window.saturation(0.5, 1.0, lag_s=1.0, late_s=0.0) == []
    assert window.saturation(0.95, 1.0, 1.0, 0.0) == ["worker CPU 95% of 1 core(s)"]
    assert window.saturation(1.5, 2.0, 1.0, 0.0) == []
    # A release late by under 1% of the window (9 s) moves under 1% of its syncs.
    assert window.saturation(0.5, 1.0, 1.0, 8.0) == []
    assert window.saturation(0.5, 1.0, 6.0, 10.0) == [
        "start lag p95 6.0 s",
        "released 10.0 s late",
    ]
