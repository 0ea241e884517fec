"""Capacity model of the periodic channel sync: closed-form figures and a discrete-event simulation.

```python
from ytscale.capacity import CapacityParams, binding_constraint, compare, simulate

p = CapacityParams(sources=100_000, workers=40)
binding_constraint(p)          # the limit that binds first, with its demand and capacity
simulate(p, windows=96)        # one day, window by window
compare(p)                     # analytic vs simulated, side by side
compare_strategies()           # API polling vs feeds vs push at 100K sources
```

Importing this package needs no numpy; ``simulate`` and ``compare`` import it when first used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ytscale.capacity.analytic import (
    Constraint,
    CyclePoint,
    SlotPlan,
    binding_constraint,
    constraints,
    cycle_limits,
    cycle_time,
    cycle_time_series,
    demand_rate,
    dispatch_rate,
    erlang_c,
    expected_redeliveries,
    expected_units,
    littles_law,
    mean_wait,
    offered_load,
    quota_by_strategy,
    quota_units_per_day,
    slots_for_target,
    slots_needed,
    syncs_per_day,
    throughput,
    utilisation,
)
from ytscale.capacity.params import POLL_COSTS, CapacityParams, PollCost
from ytscale.capacity.strategies import (
    Deployment,
    StrategyFigures,
    compare_strategies,
    figures,
    freshness_quantile,
    units_series,
)

if TYPE_CHECKING:
    from ytscale.capacity.comparison import Comparison, compare
    from ytscale.capacity.simulation import SimResult, WindowStats, simulate

_LAZY = {
    "Comparison": "ytscale.capacity.comparison",
    "compare": "ytscale.capacity.comparison",
    "SimResult": "ytscale.capacity.simulation",
    "WindowStats": "ytscale.capacity.simulation",
    "simulate": "ytscale.capacity.simulation",
}

__all__ = [
    "POLL_COSTS",
    "CapacityParams",
    "Comparison",
    "Constraint",
    "CyclePoint",
    "Deployment",
    "PollCost",
    "SimResult",
    "SlotPlan",
    "StrategyFigures",
    "WindowStats",
    "binding_constraint",
    "compare",
    "compare_strategies",
    "constraints",
    "cycle_limits",
    "cycle_time",
    "cycle_time_series",
    "demand_rate",
    "dispatch_rate",
    "erlang_c",
    "expected_redeliveries",
    "expected_units",
    "figures",
    "freshness_quantile",
    "littles_law",
    "mean_wait",
    "offered_load",
    "quota_by_strategy",
    "quota_units_per_day",
    "simulate",
    "slots_for_target",
    "slots_needed",
    "syncs_per_day",
    "throughput",
    "units_series",
    "utilisation",
]


def __getattr__(name: str) -> Any:
    """Load the numpy-backed simulation only when it is asked for."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
