import math
from dataclasses import replace

import pytest

from ytscale.capacity.comparison import Comparison, compare
from ytscale.capacity.params import CapacityParams

#: Unsaturated steady state: 5,000 dispatched per window onto 40 slots (ρ ≈ 0.69).
STEADY = CapacityParams(sources=10_000, workers=40, daily_quota=10**12)


@pytest.fixture(scope="module")
def rows() -> dict[str, Comparison]:
    return {row.metric: row for row in compare(STEADY, windows=12, seed=1)}


@pytest.mark.parametrize(
    ("metric", "tolerance"),
    [
        ("dispatched per window", 0.0),
        ("executions per s", 0.02),
        ("utilisation", 0.03),
        ("busy slots (L = λ·E[S])", 0.03),
        ("cycle time s", 0.02),
        ("quota units used per day", 0.03),
        # Erlang C with the Allen–Cunneen factor, per worker: an approximation.
        ("mean wait after ETA s", 0.10),
        ("tasks past ETA (L = λW)", 0.10),
    ],
)
def test_analytic_and_simulated_agree_when_unsaturated(
    rows: dict[str, Comparison], metric: str, tolerance: float
) -> None:
    row = rows[metric]
    assert abs(row.rel_diff) <= tolerance, row


def test_saturation_is_where_they_part(rows: dict[str, Comparison]) -> None:
    saturated = {r.metric: r for r in compare(replace(STEADY, workers=10), windows=4, seed=1)}
    assert saturated["mean wait after ETA s"].analytic == math.inf
    assert saturated["utilisation"].analytic == pytest.approx(1.0)
    assert saturated["utilisation"].simulated > 0.99
    assert rows["redeliveries per task"].rel_diff == 0


@pytest.mark.parametrize(
    ("analytic", "simulated", "expected"),
    [(2.0, 3.0, 0.5), (0.0, 0.0, 0.0), (0.0, 1.0, math.inf), (math.inf, 5.0, math.inf)],
)
def test_rel_diff(analytic: float, simulated: float, expected: float) -> None:
    assert Comparison("x", analytic, simulated).rel_diff == expected
