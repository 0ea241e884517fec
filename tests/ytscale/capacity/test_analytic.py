import math
from dataclasses import replace

import pytest

from ytscale.capacity import analytic as a
from ytscale.capacity.params import POLL_COSTS, CapacityParams

REPORT = CapacityParams()  # 5000/window, 10 workers × 1 slot, 5 s, 100/min/worker, 10K units/day
UNLIMITED = replace(REPORT, daily_quota=10**12)


def test_the_reports_arithmetic_redone() -> None:
    # 5000 tasks × 5 s = 25,000 task-seconds per 900 s window.
    assert a.dispatch_rate(REPORT) == pytest.approx(5000 / 900)  # 5.6 tasks/s, not "~28"
    assert a.offered_load(REPORT) == pytest.approx(27.78, abs=0.01)  # busy slots needed
    assert a.utilisation(REPORT) == pytest.approx(2.78, abs=0.01)  # not "~80%"
    assert a.mean_wait(REPORT) == math.inf
    assert a.slots_needed(REPORT, max_utilisation=0.8) == 35
    # "Growth to 20 workers adds 2x headroom": still saturated.
    assert a.utilisation(replace(REPORT, workers=20)) == pytest.approx(1.39, abs=0.01)


def test_throughput_is_the_tightest_of_offered_slots_rate_limit_and_quota() -> None:
    assert a.service_capacity(REPORT) == pytest.approx(10 / 5)
    assert a.throughput(UNLIMITED) == pytest.approx(2.0)
    assert a.throughput(replace(UNLIMITED, workers=100)) == pytest.approx(5000 / 900)
    # The budget pays for 10,000 / 2 syncs a day when no sync finds anything new.
    idle = replace(REPORT, uploads_per_source_per_day=0)
    assert a.throughput(idle) == pytest.approx(10_000 / 2 / 86_400)


def test_rate_limit_is_per_worker_so_it_scales_with_workers() -> None:
    assert a.rate_limit_capacity(REPORT) * 900 == pytest.approx(15_000)  # per window, 10 workers
    one_big_worker = replace(UNLIMITED, workers=1, concurrency=40)
    assert a.service_capacity(one_big_worker) == pytest.approx(100 / 60)  # not 40 / 5
    two = replace(one_big_worker, workers=2)
    assert a.rate_limit_capacity(two) == pytest.approx(2 * a.rate_limit_capacity(one_big_worker))
    assert a.rate_limit_capacity(replace(REPORT, rate_limit_per_min=None)) == math.inf


@pytest.mark.parametrize(("sources", "hours"), [(5_000, 0.25), (50_000, 2.5), (100_000, 5.0)])
def test_per_window_cap_alone_sets_the_cycle(sources: int, hours: float) -> None:
    p = replace(UNLIMITED, sources=sources, workers=1_000)
    assert a.cycle_time(p) == pytest.approx(hours * 3_600)  # the report claims 30 min for 50K
    assert max(a.cycle_limits(p), key=a.cycle_limits(p).__getitem__) == "per_window_cap"


def test_cycle_is_throughput_bound_when_workers_are_short() -> None:
    assert a.cycle_time(UNLIMITED) == pytest.approx(5000 * 5 / 10)
    assert a.syncs_per_day(UNLIMITED) == pytest.approx(5000 * 86_400 / 2_500)


def test_quota_cycle_is_days_for_the_report_and_weeks_for_100k() -> None:
    no_uploads = replace(REPORT, uploads_per_source_per_day=0)  # 2 units per sync exactly
    assert a.cycle_time(no_uploads) == pytest.approx(5_000 * 2 / 10_000 * 86_400)
    big = replace(no_uploads, sources=100_000)
    assert a.cycle_time(big) / 86_400 == pytest.approx(20)
    # New uploads make each sync dearer the longer the cycle: the fixed point is later still.
    assert a.cycle_time(replace(big, uploads_per_source_per_day=1)) / 86_400 > 29


def test_quota_units_per_day_against_the_budget() -> None:
    p = replace(REPORT, uploads_per_source_per_day=0, workers=1_000)
    assert a.quota_units_per_day(p) == pytest.approx(5000 * 96 * 2)
    by = a.quota_by_strategy(p)
    assert set(by) == {"api_polling_report", "api_polling"}
    assert by["api_polling"] == pytest.approx(5000 * 96 * 1)
    busy = replace(p, uploads_per_source_per_day=1)
    by = a.quota_by_strategy(busy)
    # A sync every window rarely finds an upload: about one videos.list per upload on top.
    assert by["api_polling"] == pytest.approx(5000 * 96 + 5000, rel=0.01)
    assert by["api_polling_report"] - by["api_polling"] == pytest.approx(5000 * 96)


def test_expected_units_sums_the_poisson_distribution() -> None:
    s = POLL_COSTS["api_polling"]
    assert a.expected_units(s, 0) == 1
    # 1 page, plus one videos.list whenever anything is new: 1 + P(n > 0).
    assert a.expected_units(s, 1.0) == pytest.approx(2 - math.exp(-1))
    assert a.expected_units(s, 1_000) == pytest.approx(1000 / 50 * 2 + 1, rel=0.02)


def test_report_scenario_is_bound_by_quota_first_then_slots() -> None:
    cs = {c.name: c for c in a.constraints(REPORT)}
    assert a.binding_constraint(REPORT).name == "quota"
    quota = replace(REPORT, uploads_per_source_per_day=0)
    assert a.binding_constraint(quota).demand == pytest.approx(960_000)
    assert a.binding_constraint(quota).max_sources == pytest.approx(10_000 / (96 * 2))
    assert cs["worker_slots"].load == pytest.approx(2.78, abs=0.01)
    assert cs["worker_slots"].max_sources == pytest.approx(1_800)
    assert cs["per_window_cap"].load == pytest.approx(1.0)
    assert cs["rate_limit"].load == pytest.approx(1 / 3)
    assert cs["visibility_timeout"].load == pytest.approx(905 / 3_600)
    assert a.binding_constraint(UNLIMITED).name == "worker_slots"
    many = replace(UNLIMITED, sources=100_000, workers=1_000)
    assert a.binding_constraint(many).name == "per_window_cap"
    assert a.binding_constraint(many).load == pytest.approx(20)


def test_a_countdown_past_the_visibility_timeout_binds_at_any_size() -> None:
    p = replace(UNLIMITED, workers=1_000, sources=10, visibility_timeout_s=600)
    worst = a.binding_constraint(p)
    assert (worst.name, worst.max_sources) == ("visibility_timeout", 0)


@pytest.mark.parametrize(
    ("stagger", "timeout", "held", "expected"),
    [
        (900, 3_600, 0, 0.0),
        (900, 1_000, 0, 0.0),
        (900, 600, 0, 1 / 3),
        (900, 300, 0, 2 / 3 + 1 / 3),  # restored after 300 s and again after 600 s
        (900, 850, 100, 1 / 6),
        (0, 600, 700, 1.0),
    ],
)
def test_expected_redeliveries(
    stagger: float, timeout: float, held: float, expected: float
) -> None:
    assert a.expected_redeliveries(stagger, timeout, held) == pytest.approx(expected)


def test_redeliveries_add_executions() -> None:
    p = replace(UNLIMITED, visibility_timeout_s=600, acks_late=False)
    assert a.execution_rate(p) == pytest.approx(a.dispatch_rate(p) * 4 / 3)


@pytest.mark.parametrize(
    ("servers", "load", "expected"), [(1, 0.5, 0.5), (2, 1.0, 1 / 3), (3, 3.0, 1.0), (3, 0.0, 0.0)]
)
def test_erlang_c(servers: int, load: float, expected: float) -> None:
    assert a.erlang_c(servers, load) == pytest.approx(expected)


@pytest.mark.parametrize(("cv", "wait"), [(1.0, 5.0), (0.0, 2.5)])
def test_mean_wait_is_pollaczek_khinchine_for_one_slot(cv: float, wait: float) -> None:
    # λ = 90 / 900 = 0.1/s, E[S] = 5 s: ρ = 0.5; M/M/1 waits ρ/(1-ρ)·E[S], M/D/1 half that.
    p = CapacityParams(
        sources=90, cap_per_window=90, workers=1, service_cv=cv, rate_limit_per_min=None
    )
    assert a.mean_wait(p) == pytest.approx(wait)
    assert a.mean_in_system(p) == pytest.approx(a.littles_law(0.1, wait + 5))


def test_slots_for_the_5000_target() -> None:
    plan = a.slots_for_target(REPORT, per_window=5_000, max_utilisation=0.8)
    assert (plan.slots, plan.workers) == (35, 35)
    assert plan.utilisation <= 0.8
    assert a.slots_for_target(replace(REPORT, concurrency=4)).workers == 9
    # A tight per-worker rate limit needs more workers than the slots do.
    assert a.slots_for_target(replace(REPORT, rate_limit_per_min=10)).workers == 42


def test_cycle_time_series_grows_with_users() -> None:
    series = a.cycle_time_series(replace(REPORT, workers=40))
    assert [pt.sources for pt in series] == list(range(10_000, 100_001, 10_000))
    cycles = [pt.cycle_s for pt in series]
    assert cycles == sorted(cycles)
    assert {pt.binding for pt in series} == {"quota"}
    unlimited = a.cycle_time_series(replace(UNLIMITED, workers=1_000), [10_000, 100_000])
    assert [(pt.binding, pt.cycle_s) for pt in unlimited] == [
        ("per_window_cap", 1_800),
        ("per_window_cap", 18_000),
    ]


def test_no_sources_no_load() -> None:
    p = replace(REPORT, sources=0)
    assert a.cycle_time(p) == 0
    assert a.quota_units_per_day(p) == 0
    assert a.offered_load(p) == 0
