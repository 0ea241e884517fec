"""Closed-form capacity figures for the periodic channel sync: load, cycle time, quota, limits.

Rates are per second. Two demands appear: the *dispatch* rate (what the scheduler enqueues, clipped
by the per-window cap) drives utilisation and waiting; the *demand* rate (every source synced once
per target cycle) is what each constraint is measured against to find the one that binds first::

    p = CapacityParams()                 # the P0 report's scenario
    utilisation(p)                       # 2.78: ten single-slot workers are saturated
    binding_constraint(p).name           # "quota"
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace

from ytscale.capacity.params import DAY_S, POLL_COSTS, CapacityParams, PollCost

# --- arrival and load ------------------------------------------------------------------------


def demand_rate(p: CapacityParams) -> float:
    """Syncs/s needed to sync every source once per target cycle."""
    return p.sources / p.target_cycle_s


def dispatch_rate(p: CapacityParams) -> float:
    """Syncs/s the scheduler enqueues: the demand, clipped to ``cap_per_window`` per window."""
    return min(demand_rate(p) * p.window_s, p.cap_per_window) / p.window_s


def expected_redeliveries(stagger_s: float, visibility_timeout_s: float, held_s: float) -> float:
    """Mean broker redeliveries per task whose countdown is U(0, ``stagger_s``).

    A reserved message not acked ``visibility_timeout_s`` after its reservation is restored and
    reserved again by a worker, which holds it to the same ETA; so the k-th copy appears when the
    ack comes later than k timeouts after dispatch. ``held_s`` is what the ack waits for beyond the
    countdown (the task time under ``acks_late``).
    """
    total, k = 0.0, 1
    while (threshold := k * visibility_timeout_s - held_s) < stagger_s:
        total += 1.0 if threshold <= 0 else 1.0 - threshold / stagger_s
        k += 1
    return total


def redeliveries_per_task(p: CapacityParams) -> float:
    """Redeliveries the countdown alone causes: a lower bound.

    Waiting after the ETA pushes more copies past the timeout, and every duplicate adds load and so
    waiting; near saturation that feedback runs away, which only the simulation shows.
    """
    held = p.service_mean_s if p.acks_late else 0.0
    return expected_redeliveries(p.stagger_s, p.visibility_timeout_s, held)


def execution_rate(p: CapacityParams) -> float:
    """Task executions/s offered to the workers: dispatched syncs plus redelivered duplicates."""
    return dispatch_rate(p) * (1 + redeliveries_per_task(p))


def offered_load(p: CapacityParams) -> float:
    """Erlangs: mean number of slots the offered work keeps busy (λ · E[S])."""
    return execution_rate(p) * p.service_mean_s


def utilisation(p: CapacityParams) -> float:
    """Offered load per slot; ≥ 1 means the queue grows without bound."""
    return offered_load(p) / p.slots


def rate_limit_capacity(p: CapacityParams) -> float:
    """Tasks/s all workers' rate limits let through (Celery limits each worker separately)."""
    if p.rate_limit_per_min is None:
        return math.inf
    return p.workers * p.rate_limit_per_min / 60


def service_capacity(p: CapacityParams) -> float:
    """Executions/s the pool can sustain: slots / E[S], or the rate limits if lower."""
    return min(p.slots / p.service_mean_s, rate_limit_capacity(p))


def quota_rate(p: CapacityParams) -> float:
    """Executions/s the daily budget pays for, averaged over the day, in the steady cycle."""
    units = units_per_sync(p, cycle_time(p))
    return p.daily_quota / units / DAY_S if units else math.inf


def throughput(p: CapacityParams) -> float:
    """Executions/s completed in steady state: the offered rate, or the tightest limit."""
    return min(execution_rate(p), service_capacity(p), quota_rate(p))


def slots_needed(p: CapacityParams, max_utilisation: float = 0.8) -> int:
    """Slots that carry ``p``'s offered load at no more than ``max_utilisation``."""
    return math.ceil(offered_load(p) / max_utilisation - 1e-9)


def littles_law(arrival_rate: float, time_in_system_s: float) -> float:
    """L = λW: mean number in a stable system from its throughput and mean time inside."""
    return arrival_rate * time_in_system_s


# --- waiting ---------------------------------------------------------------------------------


def erlang_c(servers: int, load: float) -> float:
    """Probability that an arrival waits in an M/M/``servers`` queue offered ``load`` Erlangs."""
    if load >= servers:
        return 1.0
    blocking = 1.0  # Erlang B by its stable recursion, then converted to C
    for i in range(1, servers + 1):
        blocking = load * blocking / (i + load * blocking)
    return servers * blocking / (servers - load * (1 - blocking))


def mean_wait(p: CapacityParams) -> float:
    """Mean wait between a task's ETA and its start (inf when saturated).

    Celery hands an ETA task to one worker at dispatch, so each worker is its own M/G/k queue
    (k = concurrency) fed 1/workers of the load: Erlang C scaled by the Allen–Cunneen factor
    (1 + CV²)/2. The rate limit's own queueing is ignored below its capacity.
    """
    per_worker = execution_rate(p) / p.workers
    load = per_worker * p.service_mean_s
    if load >= p.concurrency or per_worker >= rate_limit_capacity(p) / p.workers:
        return math.inf
    mm_c = erlang_c(p.concurrency, load) * p.service_mean_s / (p.concurrency - load)
    return mm_c * (1 + p.service_cv**2) / 2


def mean_in_system(p: CapacityParams) -> float:
    """Tasks past their ETA and not finished, by Little's law."""
    return littles_law(execution_rate(p), mean_wait(p) + p.service_mean_s)


# --- quota -----------------------------------------------------------------------------------


def poisson_mean(f: Callable[[int], float], mean: float) -> float:
    """E[f(N)] for N ~ Poisson(``mean``), summed to 12 standard deviations past the mean."""
    if mean <= 0:
        return float(f(0))
    top = int(mean + 12 * math.sqrt(mean) + 20)
    log_mean = math.log(mean)
    return sum(math.exp(n * log_mean - mean - math.lgamma(n + 1)) * f(n) for n in range(top))


def expected_units(cost: PollCost, mean_new_videos: float) -> float:
    """E[units of one sync] when the new uploads it finds are Poisson(``mean_new_videos``)."""
    return poisson_mean(cost.units, mean_new_videos)


def units_per_sync(p: CapacityParams, cycle_s: float) -> float:
    """Mean units of one sync of a source synced every ``cycle_s``."""
    return expected_units(p.poll_cost, p.uploads_per_source_per_day * cycle_s / DAY_S)


def _units_per_day(p: CapacityParams, cycle_s: float) -> float:
    """Units/day to sync every source every ``cycle_s``, duplicates included."""
    if not p.sources:
        return 0.0
    syncs = p.sources * DAY_S / cycle_s * (1 + redeliveries_per_task(p))
    return syncs * units_per_sync(p, cycle_s)


def quota_units_per_day(p: CapacityParams) -> float:
    """Units/day spent at the pace the other limits allow, as if the quota were unlimited."""
    return _units_per_day(p, _cycle_without_quota(p))


def quota_by_strategy(
    p: CapacityParams, strategies: Iterable[str] = tuple(POLL_COSTS)
) -> dict[str, float]:
    """``quota_units_per_day`` under each of :data:`POLL_COSTS`, all else equal."""
    return {name: quota_units_per_day(replace(p, strategy=name)) for name in strategies}


# --- cycle time ------------------------------------------------------------------------------


def _cycle_without_quota(p: CapacityParams) -> float:
    return max(cycle_limits(p, with_quota=False).values())


def _quota_cycle(p: CapacityParams, floor_s: float) -> float:
    """Shortest cycle the budget pays for, starting from the other limits' ``floor_s``.

    Longer cycles find more new videos per sync, so the cost per sync rises with the cycle: the
    fixed point of cycle = cycle · units/day(cycle) / budget is found by iterating upwards. When
    the quota does not bind, its own (shorter) figure at ``floor_s`` is returned.
    """
    if not p.sources:
        return 0.0
    if p.daily_quota <= 0:
        return math.inf
    cycle, needed = floor_s, _units_per_day(p, floor_s) / p.daily_quota * floor_s
    for _ in range(200):
        if needed <= cycle * (1 + 1e-9):
            return needed
        cycle, needed = needed, _units_per_day(p, needed) / p.daily_quota * needed
    return math.inf


def cycle_limits(p: CapacityParams, *, with_quota: bool = True) -> dict[str, float]:
    """Seconds to sync all ``p.sources`` once, as each limit alone allows."""
    n = p.sources
    per_sync = 1 + redeliveries_per_task(p)
    limits = {
        "sync_interval": p.sync_interval_s,
        "per_window_cap": math.ceil(n / p.cap_per_window) * p.window_s,
        "worker_slots": n * per_sync * p.service_mean_s / p.slots,
        "rate_limit": n * per_sync / rate_limit_capacity(p),
    }
    if with_quota:
        limits["quota"] = _quota_cycle(p, max(limits.values()))
    return limits


def cycle_time(p: CapacityParams) -> float:
    """Seconds for every source to be synced once: the slowest of the limits."""
    return max(cycle_limits(p).values())


def syncs_per_day(p: CapacityParams) -> float:
    """Distinct syncs completed per day at the cycle time's pace."""
    return p.sources * DAY_S / cycle_time(p) if p.sources else 0.0


# --- constraints -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Constraint:
    """One limit measured against the demand of syncing every source once per target cycle."""

    name: str
    demand: float
    capacity: float
    unit: str
    #: Most sources the limit allows at the target cycle (inf: not limited by source count).
    max_sources: float

    @property
    def load(self) -> float:
        """demand / capacity; above 1 the limit is exceeded."""
        return self.demand / self.capacity if self.capacity else math.inf


def constraints(p: CapacityParams) -> list[Constraint]:
    """Every limit with its figures, the most overloaded first.

    The visibility timeout limits the countdown, not the source count: it binds when a task can be
    held unacked longer than the timeout. A saturated pool also pushes waits past it; that shows
    under ``worker_slots`` here and as redeliveries in the simulation.
    """
    cycle, per_sync = p.target_cycle_s, 1 + redeliveries_per_task(p)
    syncs = demand_rate(p)
    units_per_source = _units_per_day(replace(p, sources=1), cycle)
    held = p.stagger_s + (p.service_mean_s if p.acks_late else 0.0)
    out = [
        Constraint(
            "per_window_cap",
            syncs * p.window_s,
            p.cap_per_window,
            "syncs/window",
            p.cap_per_window * cycle / p.window_s,
        ),
        Constraint(
            "worker_slots",
            syncs * per_sync * p.service_mean_s,
            p.slots,
            "busy slots",
            p.slots / (p.service_mean_s * per_sync) * cycle,
        ),
        Constraint(
            "rate_limit",
            syncs * per_sync,
            rate_limit_capacity(p),
            "tasks/s",
            rate_limit_capacity(p) / per_sync * cycle,
        ),
        Constraint(
            "quota",
            units_per_source * p.sources,
            p.daily_quota,
            "units/day",
            p.daily_quota / units_per_source if units_per_source else math.inf,
        ),
        Constraint(
            "visibility_timeout",
            held,
            p.visibility_timeout_s,
            "s held unacked",
            math.inf if held < p.visibility_timeout_s else 0.0,
        ),
    ]
    return sorted(out, key=lambda c: c.load, reverse=True)


def binding_constraint(p: CapacityParams) -> Constraint:
    """The limit that binds first: the most overloaded one (see ``constraints`` for the rest)."""
    return constraints(p)[0]


# --- series for the notebook -----------------------------------------------------------------


@dataclass(frozen=True)
class SlotPlan:
    """Workers that carry a per-window target at a utilisation ceiling."""

    per_window: int
    offered_erlangs: float
    slots: int
    workers: int
    utilisation: float


def slots_for_target(
    p: CapacityParams, per_window: int = 5_000, max_utilisation: float = 0.8
) -> SlotPlan:
    """Slots, and workers at ``p.concurrency``, for ``per_window`` syncs at ≤ ``max_utilisation``.

    Enough workers are also needed for their per-worker rate limits to stay under the ceiling.
    """
    target = replace(p, sources=per_window, cap_per_window=per_window, sync_interval_s=0.0)
    slots = slots_needed(target, max_utilisation)
    workers = math.ceil(slots / p.concurrency)
    if p.rate_limit_per_min is not None:
        per_worker = p.rate_limit_per_min / 60 * max_utilisation
        workers = max(workers, math.ceil(execution_rate(target) / per_worker - 1e-9))
    planned = replace(target, workers=workers)
    return SlotPlan(per_window, offered_load(target), planned.slots, workers, utilisation(planned))


@dataclass(frozen=True)
class CyclePoint:
    """Cycle time for one population size, with each limit's own figure."""

    sources: int
    limits: Mapping[str, float]
    cycle_s: float

    @property
    def binding(self) -> str:
        return max(self.limits, key=lambda k: self.limits[k])


def cycle_time_series(
    p: CapacityParams, sources: Iterable[int] = range(10_000, 100_001, 10_000)
) -> list[CyclePoint]:
    """Cycle time against population size (default 10K..100K)."""
    points = []
    for n in sources:
        limits = cycle_limits(replace(p, sources=n))
        points.append(CyclePoint(n, limits, max(limits.values())))
    return points
