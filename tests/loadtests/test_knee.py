"""The step-load search: steps until one breaks, the knee is the last held, the USL through them."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from loadtests import knee
from loadtests.knee import Step
from loadtests.profile import DEFAULT_PROFILE
from tests.loadtests.subprocesses import WIRING_LIMITS
from tests.loadtests.subprocesses import standin as running_standin


def step(offered: float, achieved: float, mean_ms: float, generator: str = "valid") -> Step:
    return Step(offered, achieved, mean_ms, p95_ms=2 * mean_ms, error_ratio=0.0,
                generator=generator, exit_code=0)  # fmt: skip


def test_a_step_holds_only_within_both_limits_and_with_a_valid_generator() -> None:
    assert step(10, 10, 20).holds(max_p95_ms=50, max_error_ratio=0.01)
    assert not step(10, 10, 30).holds(max_p95_ms=50, max_error_ratio=0.01)
    assert not step(10, 10, 20, generator="INVALID").holds(max_p95_ms=50, max_error_ratio=0.01)
    assert step(100, 80, 50).concurrency == pytest.approx(4.0)  # Little: 80/s x 0.05 s


def test_the_usl_is_fitted_to_the_steps_the_generator_kept_up_with() -> None:
    # Throughput X = 10 N / (1 + 0.05 (N - 1) + 0.001 N (N - 1)) at N = 1, 2, 4, 8, 16; R = N / X.
    steps = []
    for n in (1, 2, 4, 8, 16):
        x = 10 * n / (1 + 0.05 * (n - 1) + 0.001 * n * (n - 1))
        steps.append(step(x, x, 1000 * n / x))
    steps.append(step(999, 5, 1000.0, generator="INVALID"))  # would wreck the fit if kept
    fit = knee.usl(steps)
    assert fit is not None
    assert (fit.lam, fit.sigma, fit.kappa) == pytest.approx((10, 0.05, 0.001), rel=1e-6)
    assert knee.usl(steps[:3]) is None


@pytest.fixture(scope="module")
def standin() -> Iterator[str]:
    with running_standin() as url:
        yield url


def run_knee(standin: str, out: Path, max_p95_ms: str, tmp_path: Path) -> int:
    (tmp_path / "keys.csv").write_text("".join(f"{u},key-{u}\n" for u in range(1, 51)))
    (tmp_path / "videos.txt").write_text("https://youtu.be/dQw4w9WgXcQ\nhttps://youtu.be/x\n")
    (tmp_path / "channels.txt").write_text("@one\n")
    return knee.main([
        "--host", standin, "--start-rps", "10", "--step-rps", "10", "--max-steps", "2",
        "--step-s", "3", "--max-p95-ms", max_p95_ms, "--out", str(out), "--",
        "--target-profile", str(DEFAULT_PROFILE.parent / "standin.toml"),
        "--tokens-csv", str(tmp_path / "keys.csv"), "--videos-file", str(tmp_path / "videos.txt"),
        "--channels-file", str(tmp_path / "channels.txt"), "--pacing-s", "1", "--ramp-s", "1",
        *WIRING_LIMITS,
    ])  # fmt: skip


@pytest.mark.slow
def test_the_search_steps_up_while_held_and_stops_at_the_first_break(
    standin: str, tmp_path: Path
) -> None:
    held = tmp_path / "held"
    assert run_knee(standin, held, "5000", tmp_path) == 0
    with open(held / "knee.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [float(r["offered_rps"]) for r in rows] == [10.0, 20.0]
    assert all(float(r["achieved_rps"]) > 0 and float(r["concurrency"]) > 0 for r in rows)
    assert [r["held"] for r in rows] == ["1", "1"]
    broke = tmp_path / "broke"
    assert run_knee(standin, broke, "0.001", tmp_path) == 1
    with open(broke / "knee.csv", newline="") as f:
        assert [r["held"] for r in csv.DictReader(f)] == ["0"]
