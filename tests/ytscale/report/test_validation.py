"""Model vs measured: the calibration's arithmetic, and the comparison held to bursts made to order.

A real worker takes seconds to stop, so the fast tests stand hand-built bursts in for the worker's
(``_bursts``); one slow test runs the real thing on a tiny burst.
"""

from __future__ import annotations

import json
import statistics
from typing import Any

import pytest

from reference.settings import Settings
from ytscale.fake.youtube import FakeYouTube
from ytscale.report import validation
from ytscale.report.validation import (
    Burst,
    Calibration,
    Row,
    ValidationConfig,
    ValidationResult,
    validate,
)

METRICS = ["throughput syncs/s", "makespan s", "mean completion s"]


def burst(syncs: int, slots: int, service_s: float, startup_s: float = 0.0) -> Burst:
    """``syncs`` syncs of ``service_s`` each on ``slots`` slots, back to back from ``startup_s``."""
    started = [startup_s + (i // slots) * service_s for i in range(syncs)]
    return Burst(started, [t + service_s for t in started], [service_s] * syncs)


def test_a_rows_error_is_relative_to_the_prediction() -> None:
    assert Row("m", predicted=4.0, measured=5.0).error == 0.25
    assert Row("m", predicted=4.0, measured=3.0).error == -0.25
    # Nothing predicted: no relative error to give.
    assert Row("m", predicted=0.0, measured=3.0).error == 0.0


def test_calibration_measures_service_time_spread_handoff_and_startup() -> None:
    # Two slots; the second pair waits 0.2 s for the broker after the first pair finishes.
    found = Burst(
        started=[0.1, 0.1, 1.3, 1.3], finished=[1.1, 1.1, 2.3, 2.5], durations=[1.0, 1.0, 1.0, 1.2]
    )
    cal = Calibration.of(found, slots=2)

    mean = 4.2 / 4
    assert cal.service_s == pytest.approx(mean)
    assert cal.cv == pytest.approx(statistics.pstdev(found.durations) / mean)
    # Two slots busy for 2.4 s are 4.8 slot-seconds, 4.2 of them running syncs.
    assert cal.handoff_s == pytest.approx((4.8 - 4.2) / 4)
    assert cal.startup_s == 0.1
    assert cal.slot_s == pytest.approx(cal.service_s + cal.handoff_s)


def test_calibration_never_counts_negative_idle_time() -> None:
    # More syncs overlapping than slots (a late signal): no hand-off, not a negative one.
    cal = Calibration.of(burst(4, slots=4, service_s=1.0), slots=2)
    assert (cal.handoff_s, cal.cv, cal.startup_s) == (0.0, 0.0, 0.0)


def test_calibration_needs_at_least_one_sync() -> None:
    with pytest.raises(statistics.StatisticsError):
        Calibration.of(Burst([], [], []), slots=2)


def test_the_result_as_json_holds_what_the_notebooks_read() -> None:
    config = ValidationConfig(sources=6, slots=2, calibration=4)
    cal = Calibration(service_s=1.0, cv=0.5, handoff_s=0.1, startup_s=0.2)
    rows = (Row(METRICS[0], 2.0, 1.8), Row(METRICS[1], 3.0, 3.3))
    result = ValidationResult(config, "memory", cal, rows, wall_s=1.5)

    assert result.max_abs_error == pytest.approx(0.1)
    data = json.loads(json.dumps(result.as_dict(), allow_nan=False))
    assert data["broker"] == "memory"
    assert data["max_abs_error"] == pytest.approx(0.1)
    assert data["wall_s"] == 1.5
    assert data["config"]["sources"] == 6 and data["config"]["slots"] == 2
    assert data["calibration"] == {"service_s": 1.0, "cv": 0.5, "handoff_s": 0.1, "startup_s": 0.2}
    assert [r["metric"] for r in data["rows"]] == METRICS[:2]
    assert data["rows"][0]["predicted"] == 2.0 and data["rows"][0]["measured"] == 1.8
    assert [r["error"] for r in data["rows"]] == pytest.approx([-0.1, 0.1])


def test_a_result_without_rows_has_no_largest_error() -> None:
    result = ValidationResult(ValidationConfig(), "memory", Calibration(1, 0, 0, 0), (), 0.0)
    with pytest.raises(ValueError):
        _ = result.max_abs_error


@pytest.mark.parametrize(
    ("startup_s", "slowdown", "errors"),
    [
        (0.0, 1.0, [0.0, 0.0, 0.0]),
        (0.5, 1.0, [0.0, 0.0, 0.0]),
        # Syncs twice as slow as calibrated: half the throughput, twice the times.
        (0.0, 2.0, [-0.5, 1.0, 1.0]),
    ],
    ids=["as-calibrated", "late-start", "twice-as-slow"],
)
def test_the_model_predicts_bursts_that_behave_as_calibrated(
    monkeypatch: pytest.MonkeyPatch, startup_s: float, slowdown: float, errors: list[float]
) -> None:
    config = ValidationConfig(sources=6, slots=2, calibration=4, latency_mean_s=3.0, seed=5)
    seen: dict[str, Any] = {}

    def bursts(
        settings: Settings, fake: FakeYouTube, phases: list[list[int]], slots: int
    ) -> list[Burst]:
        seen.update(settings=settings, config=fake.config, phases=phases, slots=slots)
        warm, calibration, judged = (len(ids) for ids in phases)
        return [
            burst(warm, slots, 1.0),
            burst(calibration, slots, 1.0, startup_s),
            burst(judged, slots, slowdown, startup_s),
        ]

    monkeypatch.setattr(validation, "_bursts", bursts)
    result = validate(Settings(key_prefix="t:"), config)

    phases = seen["phases"]
    # Every seeded source once, in id order: a warm-up of two per slot, calibration, the burst.
    assert [len(ids) for ids in phases] == [2 * config.slots, config.calibration, config.sources]
    ids = [i for phase in phases for i in phase]
    assert ids == sorted(set(ids))
    assert seen["slots"] == config.slots
    fake = seen["config"]
    assert (fake.seed, fake.time_scale, fake.faults.latency.mean_s) == (5, config.time_scale, 3.0)
    # A scratch population under a prefix of its own, not the settings' database.
    assert seen["settings"].key_prefix.startswith("t:report:")
    assert seen["settings"].database_url != Settings().database_url

    assert result.broker == "memory"
    assert result.calibration == Calibration(1.0, 0.0, 0.0, startup_s)
    assert [r.metric for r in result.rows] == METRICS
    assert [r.error for r in result.rows] == pytest.approx(errors, abs=1e-9)
    assert result.rows[0].predicted == pytest.approx(config.slots / 1.0)
    assert result.max_abs_error == pytest.approx(max(map(abs, errors)), abs=1e-9)


@pytest.mark.slow
def test_a_tiny_burst_through_a_real_worker_is_compared_with_the_model() -> None:
    config = ValidationConfig(sources=12, slots=2, calibration=6, time_scale=1_000.0)
    result = validate(Settings(key_prefix="t:"), config)

    assert result.broker == "memory"
    assert [r.metric for r in result.rows] == METRICS
    cal = result.calibration
    assert cal.service_s > 0 and cal.handoff_s >= 0 and cal.startup_s >= 0
    # The model's throughput is the slots over a slot's time, as calibrated.
    assert result.rows[0].predicted == pytest.approx(config.slots / cal.slot_s)
    assert all(r.measured > 0 for r in result.rows)
    assert result.wall_s > 0
