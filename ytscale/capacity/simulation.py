"""Discrete-event simulation of the sync windows, as Celery on a Redis broker runs them.

What is modelled, and why it matters:

- every ``window_s`` the scheduler dispatches up to ``cap_per_window`` due sources, oldest first;
  the rest wait for a later window (the backlog);
- each task gets a countdown U(0, ``stagger_s``). Celery delivers ETA tasks at once to one worker,
  which holds them unacked until the ETA, so the task is bound to a random worker at dispatch;
- at its ETA the task passes the worker's rate limit (a token bucket of capacity 1, FIFO, as
  ``celery.worker.consumer`` does it), then waits for one of the worker's ``concurrency`` slots;
- Redis restores a reserved message not acked ``visibility_timeout_s`` after its reservation; the
  copy is reserved by some worker and held to the same ETA, so *both* run (a redelivery). The ack
  comes at the start, or at the end under ``acks_late``;
- each execution first reserves its quota units from the day's budget; when they run out the sync
  is refused and takes no slot;
- a source is due again ``sync_interval_s`` after its sync finished (completed or refused).

Conservation holds at every instant: arrived (due events) = completed + refused + backlog.

Redelivery is modelled at the earliest moment (kombu sweeps roughly every 100 s). Quota days start
with the run rather than at midnight Pacific time.
"""

from __future__ import annotations

import heapq
import itertools
import math
from bisect import bisect_right
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np
import numpy.typing as npt

from ytscale.capacity.params import DAY_S, CapacityParams

FloatArray = npt.NDArray[np.float64]
Sampler = Callable[[np.random.Generator, int], FloatArray]

_ELIGIBLE, _READY, _DONE = 0, 1, 2


def service_sampler(p: CapacityParams) -> Sampler:
    """Draws of the task time with ``p``'s mean and CV (lognormal or gamma; CV 0: constant)."""
    mean, cv = p.service_mean_s, p.service_cv
    if cv == 0:
        return lambda rng, n: np.full(n, mean)
    if p.service_dist == "gamma":
        shape, scale = 1 / cv**2, mean * cv**2
        return lambda rng, n: rng.gamma(shape, scale, n)
    sigma2 = math.log1p(cv**2)
    mu, sigma = math.log(mean) - sigma2 / 2, math.sqrt(sigma2)
    return lambda rng, n: rng.lognormal(mu, sigma, n)


@dataclass(frozen=True)
class WindowStats:
    """What happened in one window; ``pending`` and ``queued`` are taken at its end."""

    index: int
    dispatched: int
    completed: int
    refused: int
    executions: int
    redeliveries: int
    #: Due sources the cap left undispatched.
    pending: int
    #: Dispatched syncs not finished: held to their ETA, waiting for a slot, or running.
    queued: int
    utilisation: float
    quota_units: int

    @property
    def backlog(self) -> int:
        """Due sources not yet synced."""
        return self.pending + self.queued


def _percentiles(values: FloatArray) -> dict[str, float]:
    if values.size == 0:
        return {"p50": math.nan, "p95": math.nan, "p99": math.nan}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": float(p50), "p95": float(p95), "p99": float(p99)}


@dataclass(frozen=True)
class SimResult:
    """Totals over the horizon, per-window rows, and the raw delay samples."""

    params: CapacityParams
    seed: int
    horizon_s: float
    windows: tuple[WindowStats, ...]
    #: Due events (a source becoming due) up to the horizon.
    arrived: int
    dispatched: int
    completed: int
    refused: int
    backlog: int
    #: Syncs that ran (a copy started with its quota granted), duplicates included.
    executions: int
    duplicate_executions: int
    redeliveries: int
    quota_units_by_day: tuple[int, ...]
    #: Units the refused executions would have cost.
    quota_refused_units: int
    busy_slot_s: float
    #: ∫ (tasks past their ETA and unfinished) dt, and the finished ones' Σ(finish − ETA).
    in_system_s: float
    time_in_system_s: float
    finished_tasks: int
    #: Per started execution: start − ETA (rate-limit hold plus wait for a slot).
    queue_delays: FloatArray = field(repr=False)
    #: Per sync that ran: its first start − the moment its source became due.
    sync_lags: FloatArray = field(repr=False)
    #: When each completed sync finished (its first copy to finish), in completion order.
    completion_times: FloatArray = field(repr=False)
    #: When every source had completed one sync (None: not within the horizon).
    first_cycle_s: float | None
    mean_resync_interval_s: float

    @property
    def utilisation(self) -> float:
        return self.busy_slot_s / (self.params.slots * self.horizon_s)

    @property
    def execution_rate(self) -> float:
        """Executions started per second."""
        return self.executions / self.horizon_s

    @property
    def mean_in_system(self) -> float:
        """L: time-averaged tasks past their ETA and unfinished."""
        return self.in_system_s / self.horizon_s

    @property
    def finish_rate(self) -> float:
        """λ: tasks (every copy, refused ones too) finished per second."""
        return self.finished_tasks / self.horizon_s

    @property
    def mean_time_in_system(self) -> float:
        """W: mean finish − ETA of the finished tasks."""
        return self.time_in_system_s / self.finished_tasks if self.finished_tasks else math.nan

    @property
    def mean_queue_delay(self) -> float:
        return float(self.queue_delays.mean()) if self.queue_delays.size else math.nan

    @property
    def redeliveries_per_task(self) -> float:
        return self.redeliveries / self.dispatched if self.dispatched else 0.0

    @property
    def queue_delay(self) -> dict[str, float]:
        """p50/p95/p99 of start − ETA."""
        return _percentiles(self.queue_delays)


def simulate(p: CapacityParams, windows: int | None = None, seed: int = 0) -> SimResult:
    """Run ``windows`` scheduler windows (default: one day) from a cold start, every source due.

    Deterministic for a given ``seed``.
    """
    n = round(p.windows_per_day) if windows is None else windows
    if n < 1:
        raise ValueError("simulate at least one window")
    return _Simulation(p, seed).run(n)


@dataclass(slots=True)
class _Counts:
    dispatched: int = 0
    completed: int = 0
    refused: int = 0
    executions: int = 0
    duplicates: int = 0
    redeliveries: int = 0


class _Simulation:
    """One run's state. Copies (deliveries of a task) and due events are parallel lists by id."""

    def __init__(self, p: CapacityParams, seed: int) -> None:
        self.p = p
        self.rng = np.random.default_rng(seed)
        self.seed = seed
        self.sample_service = service_sampler(p)
        self.heap: list[tuple[float, int, int, int]] = []
        self.seq = itertools.count()
        # Reservations are made in time order, so their visibility deadlines form a FIFO.
        self.watch: deque[tuple[float, int]] = deque()
        self.token_interval = 60 / p.rate_limit_per_min if p.rate_limit_per_min else 0.0
        self.next_token = [0.0] * p.workers
        self.free = [p.concurrency] * p.workers
        self.ready: list[deque[int]] = [deque() for _ in range(p.workers)]
        # Due events, appended in due-time order (finish times only grow): a FIFO with a head.
        self.due_t: list[float] = [0.0] * p.sources
        self.ev_source = list(range(p.sources))
        self.ev_state: list[int] = [0] * p.sources  # 0 open, 1 completed, 2 refused
        self.ev_started = [False] * p.sources
        self.ev_service: list[float] = [0.0] * p.sources
        self.ev_units: list[int] = [0] * p.sources
        self.head = 0
        self.cp_event: list[int] = []
        self.cp_eta: list[float] = []
        self.cp_worker: list[int] = []
        self.cp_acked: list[bool] = []
        self.units_table = [p.poll_cost.units(0)]
        self.last_done = [-p.target_cycle_s] * p.sources
        self.synced_once = bytearray(p.sources)
        self.synced_count = 0
        self.first_cycle_s: float | None = None if p.sources else 0.0
        self.resync_sum, self.resync_count = 0.0, 0
        self.quota_by_day: list[int] = []
        self.quota_refused_units = 0
        self.counts = _Counts()
        self.in_flight = 0
        self.busy = self.in_system = 0
        self.last_t = 0.0
        self.busy_area = self.window_busy = self.system_area = 0.0
        self.finished, self.time_in_system = 0, 0.0
        self.quota_window = 0
        self.delays: list[float] = []
        self.lags: list[float] = []
        self.completions: list[float] = []

    # --- driver --------------------------------------------------------------------------------

    def run(self, windows: int) -> SimResult:
        rows = []
        for k in range(windows):
            before = replace(self.counts)
            start = k * self.p.window_s
            self._dispatch(start)
            self._run_until(start + self.p.window_s)
            rows.append(self._close_window(k, start + self.p.window_s, before))
        return self._result(windows * self.p.window_s, rows)

    def _run_until(self, end: float) -> None:
        heap, watch, acked, pop = self.heap, self.watch, self.cp_acked, heapq.heappop
        while True:
            t_next = heap[0][0] if heap else math.inf
            if watch and watch[0][0] <= t_next and watch[0][0] < end:
                deadline, copy = watch.popleft()
                if not acked[copy]:
                    self._advance(deadline)
                    self._redeliver(copy, deadline)
                continue
            if t_next >= end:
                return
            t, _, kind, copy = pop(heap)
            self._advance(t)
            if kind == _ELIGIBLE:
                self._eligible(copy, t)
            elif kind == _READY:
                self._enqueue(copy, t)
            else:
                self._done(copy, t)

    def _advance(self, t: float) -> None:
        """Integrate busy slots and tasks in system up to ``t``."""
        dt = t - self.last_t
        self.window_busy += self.busy * dt
        self.system_area += self.in_system * dt
        self.last_t = t

    # --- scheduler -----------------------------------------------------------------------------

    def _dispatch(self, t: float) -> None:
        p, rng = self.p, self.rng
        stop = min(bisect_right(self.due_t, t, lo=self.head), self.head + p.cap_per_window)
        events = list(range(self.head, stop))
        self.head = stop
        m = len(events)
        if not m:
            return
        etas = t + rng.uniform(0.0, p.stagger_s, m)
        workers = rng.integers(0, p.workers, m).tolist()
        last = np.array([self.last_done[self.ev_source[e]] for e in events])
        mean_new = p.uploads_per_source_per_day * (etas - last) / DAY_S
        new = rng.poisson(np.maximum(mean_new, 0.0))
        units = self._units(new)
        services = self.sample_service(rng, m).tolist()
        deadline = t + p.visibility_timeout_s
        for e, eta, w, s, u in zip(events, etas.tolist(), workers, services, units, strict=True):
            self.ev_service[e], self.ev_units[e] = s, u
            copy = self._new_copy(e, eta, w)
            heapq.heappush(self.heap, (eta, next(self.seq), _ELIGIBLE, copy))
            self.watch.append((deadline, copy))
        self.counts.dispatched += m
        self.in_flight += m

    def _units(self, new: npt.NDArray[np.int64]) -> list[int]:
        table = self.units_table
        for k in range(len(table), int(new.max()) + 1):
            table.append(self.p.poll_cost.units(k))
        return [table[k] for k in new.tolist()]

    def _new_copy(self, event: int, eta: float, worker: int) -> int:
        self.cp_event.append(event)
        self.cp_eta.append(eta)
        self.cp_worker.append(worker)
        self.cp_acked.append(False)
        return len(self.cp_event) - 1

    # --- broker and workers --------------------------------------------------------------------

    def _redeliver(self, copy: int, t: float) -> None:
        """The visibility timeout expired unacked: a second copy goes to some worker, same ETA."""
        self.counts.redeliveries += 1
        eta = self.cp_eta[copy]
        again = self._new_copy(self.cp_event[copy], eta, int(self.rng.integers(self.p.workers)))
        heapq.heappush(self.heap, (max(eta, t), next(self.seq), _ELIGIBLE, again))
        self.watch.append((t + self.p.visibility_timeout_s, again))

    def _eligible(self, copy: int, t: float) -> None:
        """ETA reached: take a token from the worker's bucket, or wait for one in FIFO order."""
        self.in_system += 1
        if self.token_interval:
            w = self.cp_worker[copy]
            release = max(t, self.next_token[w])
            self.next_token[w] = release + self.token_interval
            if release > t:
                heapq.heappush(self.heap, (release, next(self.seq), _READY, copy))
                return
        self._enqueue(copy, t)

    def _enqueue(self, copy: int, t: float) -> None:
        """Start at once on a free slot of its worker, else wait in the worker's FIFO."""
        w = self.cp_worker[copy]
        if self.free[w] and not self.ready[w]:
            self._start(copy, t)
        else:
            self.ready[w].append(copy)

    def _start(self, copy: int, t: float) -> None:
        """Reserve the sync's quota, then take a slot; refused, the sync frees its place at once."""
        p, e, c = self.p, self.cp_event[copy], self.counts
        self.delays.append(t - self.cp_eta[copy])
        units, day = self.ev_units[e], int(t // DAY_S)
        if day >= len(self.quota_by_day):
            self.quota_by_day.extend([0] * (day + 1 - len(self.quota_by_day)))
        if self.quota_by_day[day] + units > p.daily_quota:
            self.quota_refused_units += units
            self.cp_acked[copy] = True
            self._finish(copy, t, refused=True)
            return
        self.quota_by_day[day] += units
        self.quota_window += units
        self.free[self.cp_worker[copy]] -= 1
        self.busy += 1
        c.executions += 1
        if self.ev_started[e]:
            c.duplicates += 1
        else:
            self.ev_started[e] = True
            self.lags.append(t - self.due_t[e])
        if not p.acks_late:
            self.cp_acked[copy] = True
        heapq.heappush(self.heap, (t + self.ev_service[e], next(self.seq), _DONE, copy))

    def _done(self, copy: int, t: float) -> None:
        w = self.cp_worker[copy]
        self.free[w] += 1
        self.busy -= 1
        self.cp_acked[copy] = True
        self._finish(copy, t, refused=False)
        queue, free = self.ready[w], self.free
        while free[w] and queue:  # refused syncs take no slot: keep going
            self._start(queue.popleft(), t)

    def _finish(self, copy: int, t: float, *, refused: bool) -> None:
        """A copy left the system; the first copy of a due event to finish settles it."""
        self.in_system -= 1
        self.finished += 1
        self.time_in_system += t - self.cp_eta[copy]
        e = self.cp_event[copy]
        if self.ev_state[e]:
            return
        self.ev_state[e] = 2 if refused else 1
        if refused:
            self.counts.refused += 1
        else:
            self.counts.completed += 1
            self.completions.append(t)
            self._record_sync(self.ev_source[e], t)
        self.in_flight -= 1
        # The source is due again; finish times only grow, so the due list stays sorted.
        self.due_t.append(t + self.p.sync_interval_s)
        self.ev_source.append(self.ev_source[e])
        self.ev_state.append(0)
        self.ev_started.append(False)
        self.ev_service.append(0.0)
        self.ev_units.append(0)

    def _record_sync(self, source: int, t: float) -> None:
        if self.synced_once[source]:
            self.resync_sum += t - self.last_done[source]
            self.resync_count += 1
        else:
            self.synced_once[source] = 1
            self.synced_count += 1
            if self.synced_count == self.p.sources:
                self.first_cycle_s = t
        self.last_done[source] = t

    # --- bookkeeping ---------------------------------------------------------------------------

    def _close_window(self, k: int, end: float, before: _Counts) -> WindowStats:
        self._advance(end)
        now = self.counts
        pending = bisect_right(self.due_t, end, lo=self.head) - self.head
        row = WindowStats(
            index=k,
            dispatched=now.dispatched - before.dispatched,
            completed=now.completed - before.completed,
            refused=now.refused - before.refused,
            executions=now.executions - before.executions,
            redeliveries=now.redeliveries - before.redeliveries,
            pending=pending,
            queued=self.in_flight,
            utilisation=self.window_busy / (self.p.slots * self.p.window_s),
            quota_units=self.quota_window,
        )
        self.busy_area += self.window_busy
        self.window_busy, self.quota_window = 0.0, 0
        return row

    def _result(self, horizon: float, rows: list[WindowStats]) -> SimResult:
        c = self.counts
        arrived = bisect_right(self.due_t, horizon)
        days = math.ceil(horizon / DAY_S)
        by_day = (self.quota_by_day + [0] * days)[:days]
        return SimResult(
            params=self.p,
            seed=self.seed,
            horizon_s=horizon,
            windows=tuple(rows),
            arrived=arrived,
            dispatched=c.dispatched,
            completed=c.completed,
            refused=c.refused,
            # Counted from each event's own state, not the counters: conservation is then a check.
            backlog=sum(1 for e in range(arrived) if not self.ev_state[e]),
            executions=c.executions,
            duplicate_executions=c.duplicates,
            redeliveries=c.redeliveries,
            quota_units_by_day=tuple(by_day),
            quota_refused_units=self.quota_refused_units,
            busy_slot_s=self.busy_area,
            in_system_s=self.system_area,
            time_in_system_s=self.time_in_system,
            finished_tasks=self.finished,
            queue_delays=np.asarray(self.delays),
            sync_lags=np.asarray(self.lags),
            completion_times=np.asarray(self.completions),
            first_cycle_s=self.first_cycle_s,
            mean_resync_interval_s=(
                self.resync_sum / self.resync_count if self.resync_count else math.nan
            ),
        )
