from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ytscale.capacity import analytic as a
from ytscale.capacity.params import CapacityParams
from ytscale.capacity.simulation import SimResult, simulate

UNLIMITED = CapacityParams(daily_quota=10**12)
#: Unsaturated steady state: 10K sources, 5,000 dispatched each window, 40 slots at ρ ≈ 0.69.
STEADY = replace(UNLIMITED, sources=10_000, workers=40)


@pytest.fixture(scope="module")
def steady() -> SimResult:
    return simulate(STEADY, windows=12, seed=7)


def test_littles_law_holds_in_steady_state(steady: SimResult) -> None:
    # Measured three separate ways: a time integral, a count and a per-task mean.
    assert steady.mean_in_system == pytest.approx(
        steady.finish_rate * steady.mean_time_in_system, rel=0.02
    )
    busy = steady.busy_slot_s / steady.horizon_s
    assert busy == pytest.approx(steady.execution_rate * STEADY.service_mean_s, rel=0.03)


def test_unsaturated_windows_drain(steady: SimResult) -> None:
    assert all(w.dispatched == 5_000 for w in steady.windows)
    # Only tasks whose ETA falls near the window's end are still queued when it closes.
    assert max(w.queued for w in steady.windows) < 0.05 * 5_000
    assert steady.queue_delay["p99"] < 120
    assert steady.redeliveries == steady.duplicate_executions == 0


def test_saturated_queue_grows_window_after_window() -> None:
    # The report's scenario at 100K sources: 5,000 dispatched, ~1,800 done per window.
    r = simulate(replace(UNLIMITED, sources=100_000), windows=8, seed=1)
    queued = [w.queued for w in r.windows]
    assert queued == sorted(queued) and queued[-1] > 20_000
    assert all(w.completed < 2_000 for w in r.windows)
    assert min(w.utilisation for w in r.windows[1:]) > 0.99
    delays = r.queue_delays
    assert delays[-1000:].mean() > 4 * delays[:1000].mean()
    # Waits alone, with every countdown inside the timeout, end in redeliveries.
    assert r.params.stagger_s < r.params.visibility_timeout_s
    assert r.redeliveries > 0


def test_countdown_past_visibility_timeout_duplicates_tasks() -> None:
    roomy = replace(STEADY, workers=200, acks_late=False)
    short = simulate(replace(roomy, visibility_timeout_s=600), windows=4, seed=3)
    assert short.redeliveries / short.dispatched == pytest.approx(1 / 3, rel=0.05)
    assert short.duplicate_executions > 0
    assert short.executions > short.completed
    safe = simulate(replace(roomy, visibility_timeout_s=1_200), windows=4, seed=3)
    assert safe.redeliveries == safe.duplicate_executions == 0


def test_acks_late_holds_the_message_through_the_run() -> None:
    # Countdowns ≤ 900 s, no waiting (1,000 slots), 30 s runs, a 910 s timeout: only acking
    # after the run crosses it, for countdowns past 880 s.
    tight = replace(
        STEADY,
        workers=1,
        concurrency=1_000,
        rate_limit_per_min=None,
        service_mean_s=30.0,
        service_cv=0.0,
        visibility_timeout_s=910,
    )
    assert simulate(replace(tight, acks_late=False), windows=2).redeliveries == 0
    assert simulate(replace(tight, acks_late=True), windows=2).redeliveries > 0


def test_quota_exhaustion_refuses_syncs_and_resets_daily() -> None:
    p = CapacityParams(sources=200, cap_per_window=200, daily_quota=1_000)
    r = simulate(p, windows=192, seed=2)
    assert len(r.quota_units_by_day) == 2
    assert all(1_000 - 7 < used <= 1_000 for used in r.quota_units_by_day)
    assert r.refused > 0 and r.quota_refused_units >= 2 * r.refused
    assert r.completed == pytest.approx(2 * 1_000 / 2, rel=0.1)  # ~2 units a sync
    assert sum(w.quota_units for w in r.windows) == sum(r.quota_units_by_day)


def test_rate_limit_caps_each_worker() -> None:
    # One worker with 20 slots could run 4 tasks/s; its 60/min limit lets 1/s through.
    p = replace(UNLIMITED, sources=2_000, cap_per_window=1_000, workers=1, concurrency=20)
    r = simulate(replace(p, rate_limit_per_min=60), windows=6, seed=4)
    assert r.execution_rate == pytest.approx(1.0, rel=0.03)
    assert a.throughput(replace(p, rate_limit_per_min=60)) == pytest.approx(1.0)
    assert simulate(replace(p, rate_limit_per_min=None), windows=6, seed=4).execution_rate > 1.05


def test_first_cycle_takes_ceil_n_over_cap_windows() -> None:
    p = replace(UNLIMITED, sources=50_000, workers=200)
    r = simulate(p, windows=11, seed=5)
    assert r.first_cycle_s is not None
    assert 9 * 900 < r.first_cycle_s < 10 * 900 + 60  # 2.5 h, not the report's 30 min
    assert simulate(p, windows=9, seed=5).first_cycle_s is None


def test_seeded_runs_are_reproducible() -> None:
    p = replace(STEADY, sources=3_000, cap_per_window=1_000, visibility_timeout_s=500)
    one, two, other = (simulate(p, windows=3, seed=s) for s in (11, 11, 12))
    assert one.windows == two.windows
    assert np.array_equal(one.queue_delays, two.queue_delays)
    assert np.array_equal(one.sync_lags, two.sync_lags)
    assert one.windows != other.windows


@settings(max_examples=40, deadline=None)
@given(
    sources=st.integers(0, 300),
    cap=st.integers(1, 120),
    workers=st.integers(1, 4),
    concurrency=st.integers(1, 3),
    stagger=st.floats(0, 900),
    timeout=st.floats(50, 2_000),
    interval=st.sampled_from([0.0, 300.0, 2_000.0]),
    quota=st.integers(0, 400),
    acks_late=st.booleans(),
    windows=st.integers(1, 5),
    seed=st.integers(0, 2**16),
)
def test_every_due_sync_is_completed_refused_or_in_the_backlog(
    sources: int,
    cap: int,
    workers: int,
    concurrency: int,
    stagger: float,
    timeout: float,
    interval: float,
    quota: int,
    acks_late: bool,
    windows: int,
    seed: int,
) -> None:
    p = CapacityParams(
        sources=sources,
        cap_per_window=cap,
        workers=workers,
        concurrency=concurrency,
        stagger_s=stagger,
        visibility_timeout_s=timeout,
        sync_interval_s=interval,
        daily_quota=quota,
        acks_late=acks_late,
        service_mean_s=20.0,
        service_dist="gamma",
    )
    r = simulate(p, windows=windows, seed=seed)
    assert r.completed + r.refused + r.backlog == r.arrived
    assert r.windows[-1].backlog == r.backlog
    assert all(w.dispatched <= cap for w in r.windows)
    assert all(used <= quota for used in r.quota_units_by_day)
    assert r.executions - r.duplicate_executions <= r.dispatched
    assert 0 <= r.utilisation <= 1 + 1e-9
