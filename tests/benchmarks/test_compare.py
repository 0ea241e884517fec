"""``benchmarks.compare``: a Mann–Whitney test plus a minimum effect decides "regression".

Rounds are drawn from a seeded model of this machine's timing noise (a floor plus right-skewed
lognormal delays, and now and then a round slowed several times by another process), so every
assertion is about the statistics, never about a clock.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from benchmarks.compare import Comparison, compare, main, mann_whitney_greater

ROUNDS = 25
SEEDS = range(30)


def noisy_rounds(seed: int, scale: float = 1.0, n: int = ROUNDS) -> list[float]:
    rng = random.Random(seed)
    rounds = []
    for _ in range(n):
        delay = rng.lognormvariate(-2.0, 0.8)  # median +13%, a long tail
        disturbed = 4.0 if rng.random() < 0.05 else 1.0
        rounds.append(scale * 1e-4 * (1 + delay) * disturbed)
    return rounds


def verdict(baseline: list[float], run: list[float]) -> Comparison:
    [result] = compare({"b": baseline}, {"b": run})
    return result


def test_an_aa_rerun_is_never_a_regression() -> None:
    flagged = [s for s in SEEDS if verdict(noisy_rounds(s), noisy_rounds(s + 1000)).regressed()]
    assert flagged == []


def test_an_injected_20_percent_slowdown_is_flagged() -> None:
    missed = [
        s for s in SEEDS if not verdict(noisy_rounds(s), noisy_rounds(s + 1000, 1.2)).regressed()
    ]
    assert missed == []


def test_a_point_comparison_would_be_fooled_where_the_test_is_not() -> None:
    # One lucky round in the baseline makes a min-based comparison call identical code 20% slower.
    baseline = [*noisy_rounds(3), 0.8e-4]
    run = noisy_rounds(4)
    assert min(run) / min(baseline) > 1.2
    assert not verdict(baseline, run).regressed()


def test_significance_alone_is_not_enough() -> None:
    # Thousands of rounds make a 3% shift significant; it is still below the minimum effect.
    baseline = noisy_rounds(5, n=4000)
    result = verdict(baseline, noisy_rounds(6, 1.03, n=4000))
    assert result.p_value < 0.01 and not result.regressed()


def test_the_p_value_matches_the_textbook() -> None:
    # Every value of one side above every value of the other, 5 against 5: U = 25, p = 0.006.
    assert mann_whitney_greater([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]) == pytest.approx(
        0.0061, abs=1e-4
    )
    assert mann_whitney_greater([1, 2, 3, 4, 5], [6, 7, 8, 9, 10]) > 0.99
    assert mann_whitney_greater([1, 1, 1], [1, 1, 1]) == 1.0


def run_file(tmp_path: Path, name: str, rounds: dict[str, list[float]]) -> str:
    path = tmp_path / name
    benchmarks = [{"name": n, "stats": {"data": data}} for n, data in rounds.items()]
    path.write_text(json.dumps({"benchmarks": benchmarks}))
    return str(path)


def test_main_names_the_regressed_benchmark_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    baseline = run_file(tmp_path, "main.json", {"a": noisy_rounds(1), "b": noisy_rounds(2)})
    same = run_file(tmp_path, "same.json", {"a": noisy_rounds(3), "b": noisy_rounds(4)})
    slower = run_file(tmp_path, "slow.json", {"a": noisy_rounds(3), "b": noisy_rounds(4, 1.2)})
    assert main([baseline, same]) == 0
    assert main([baseline, slower]) == 1
    err = capsys.readouterr().err
    assert "1 of 2 benchmarks regressed" in err and "  b" in err
    assert main([baseline, str(tmp_path / "missing.json")]) == 2
