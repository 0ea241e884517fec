"""The analytic model and the simulation side by side, one row per figure both can give."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ytscale.capacity import analytic as a
from ytscale.capacity.params import DAY_S, CapacityParams
from ytscale.capacity.simulation import SimResult, simulate


@dataclass(frozen=True)
class Comparison:
    metric: str
    analytic: float
    simulated: float

    @property
    def rel_diff(self) -> float:
        """(simulated − analytic) / analytic; 0 when both are 0."""
        if self.analytic == self.simulated:
            return 0.0
        if self.analytic in (0.0, math.inf):
            return math.inf
        return (self.simulated - self.analytic) / self.analytic


def compare(
    p: CapacityParams, windows: int | None = None, seed: int = 0, result: SimResult | None = None
) -> list[Comparison]:
    """Analytic vs simulated figures for ``p`` (simulating unless ``result`` is given).

    Analytic figures are steady-state; the simulation starts cold, so they agree best over many
    windows of an unsaturated system.
    """
    sim = result if result is not None else simulate(p, windows, seed)
    rate = a.throughput(p)
    days = sim.horizon_s / DAY_S
    rows = [
        (
            "dispatched per window",
            a.dispatch_rate(p) * p.window_s,
            sim.dispatched / len(sim.windows),
        ),
        ("executions per s", rate, sim.execution_rate),
        ("utilisation", rate * p.service_mean_s / p.slots, sim.utilisation),
        ("busy slots (L = λ·E[S])", rate * p.service_mean_s, sim.busy_slot_s / sim.horizon_s),
        ("mean wait after ETA s", a.mean_wait(p), sim.mean_queue_delay),
        ("tasks past ETA (L = λW)", a.mean_in_system(p), sim.mean_in_system),
        ("redeliveries per task", a.redeliveries_per_task(p), sim.redeliveries_per_task),
        ("cycle time s", a.cycle_time(p), sim.mean_resync_interval_s),
        (
            "quota units used per day",
            min(a.quota_units_per_day(p), float(p.daily_quota)),
            sum(sim.quota_units_by_day) / days,
        ),
    ]
    return [Comparison(name, float(x), float(y)) for name, x, y in rows]
