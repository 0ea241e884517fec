"""Each measurement on small parameters: the figures it must find, in the shape the claims read.

The claims rules themselves are tested on synthetic input in ``test_claims``; here each rule is fed
what a measurement really returns, so a renamed key or a wrong figure shows up as a changed verdict.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from reference.quota.costs import COSTS, MAX_RESULTS_PER_PAGE, cost
from reference.settings import Settings
from reference.youtube.client import ClientConfig
from ytscale.capacity import CapacityParams
from ytscale.instruments.interleave import SCHEDULES
from ytscale.report import measure
from ytscale.report.claims import CLAIMS, Outcome, c3_atomic, judge


@pytest.fixture
def kv_settings(redis_url: str, key_prefix: str) -> Settings:
    """Settings on the store under test: no measurement here touches the configured database."""
    return Settings(redis_url=redis_url, key_prefix=key_prefix)


def verdict(claim_id: str, **measurements: Any) -> Outcome:
    (claim,) = (c for c in CLAIMS if c.id == claim_id)
    return judge(claim, measurements).verdict


# --- tag matching ---------------------------------------------------------------------------------


def test_matching_counts_two_statements_per_tag_before_three_after_and_none_for_ours() -> None:
    found = measure.matching(videos=3, tools=20)

    tags = found["tags_per_video"]
    assert (tags, found["tools"]) == (10, 20)
    assert found["variants"] == {
        "before": {"cold": 2 * tags, "per_video": 2.0 * tags},
        "after": {"cold": 3, "per_video": 3.0},
        "ours": {"cold": 1, "per_video": 0.0},
    }
    # A day is VIDEOS_PER_DAY warm videos plus the one cold start.
    assert found["per_day"] == {
        "before": measure.VIDEOS_PER_DAY * 2 * tags,
        "after": measure.VIDEOS_PER_DAY * 3,
        "ours": 1,
    }
    assert verdict("C4", matching=found) == "holds"
    assert verdict("C5", matching=found) == "fails"


# --- the (user, external_url) index ------------------------------------------------------------


def test_lookup_plans_scan_without_the_index_and_search_it_with() -> None:
    found = measure.lookup_plans()

    assert found["backend"] == "sqlite"
    before, after = found["variants"]["before"], found["variants"]["after"]
    assert (before["indexes"], before["full_scan"]) == ([], True)
    assert before["plan"].startswith("SCAN")
    assert after["full_scan"] is False
    assert len(after["indexes"]) == 1 and "external_url" in after["indexes"][0]
    assert after["plan"].startswith("SEARCH") and after["indexes"][0] in after["plan"]


# --- quota units ----------------------------------------------------------------------------------


def test_each_call_costs_what_the_official_table_says(kv_settings: Settings) -> None:
    found = measure.call_costs(kv_settings)

    assert found == {
        "video_fetch_3_parts": cost("videos.list"),
        "channel_info": cost("channels.list"),
        "listing_page": cost("playlistItems.list"),
        "listing_pages_3": 3 * cost("playlistItems.list"),
    }
    assert found["video_fetch_3_parts"] != measure.REPORT_UNITS["videos.list"]
    assert verdict("C9", call_costs=found) == "fails"
    assert verdict("C10", call_costs=found) == "holds"


def test_a_channel_import_is_counted_exactly_by_ours_and_overcounted_by_the_report(
    kv_settings: Settings,
) -> None:
    found = measure.channel_import_accuracy(kv_settings, min_videos=60)

    imported, calls = found["videos_imported"], found["calls"]
    assert imported >= 60
    assert calls["channels.list"] == 1
    assert calls["playlistItems.list"] == math.ceil(imported / MAX_RESULTS_PER_PAGE)
    assert set(calls) <= set(COSTS)
    truth = sum(cost(method) * n for method, n in calls.items())
    report = sum(measure.REPORT_UNITS[method] * n for method, n in calls.items())
    assert found["truth_units"] == found["ours_units"] == truth
    assert found["ours_error"] == 0.0
    assert found["report_units"] == report > truth
    assert found["report_error"] == pytest.approx((report - truth) / truth)
    assert verdict("C11", accuracy=found) == "fails"


def test_one_user_spending_the_project_budget_refuses_the_next_user(kv_settings: Settings) -> None:
    found = measure.shared_budget(kv_settings, budget=3)

    assert found == {"budget": 3, "first_user_units": 3, "second_user_refused": True}
    assert verdict("C12", shared_budget=found, capacity={"users": 100_000}) == "fails"


# --- quota races ----------------------------------------------------------------------------------


def test_contention_runs_every_schedule_and_on_real_redis_the_free_race(
    redis_url: str, key_prefix: str
) -> None:
    found = measure.contention(Settings(redis_url=redis_url, key_prefix=key_prefix))
    assert set(found["schedules"]) == set(SCHEDULES)
    hold_one = found["schedules"]["hold-one"]["variants"]
    assert (hold_one["after"]["lost"], hold_one["after"]["over_granted"]) == (8, 1)
    assert (hold_one["ours"]["lost"], hold_one["ours"]["over_granted"]) == (0, 0)
    assert hold_one["after"]["order"][:3] == ["A:EXISTS", "B:EXISTS", "B:SET"]
    if found["store"] == "fakeredis":
        assert found["race"] is None
    else:
        assert set(found["race"]["variants"]) == {"before", "after", "ours"}
    verdict, text = c3_atomic({"contention": found})
    assert verdict == "fails"
    assert f"deterministic schedule hold-one on {found['store']}" in text


def test_the_free_race_reports_whole_units_per_variant_and_ours_is_exact(
    kv_settings: Settings,
) -> None:
    workers, bursts = 8, 2
    found = measure.free_race(kv_settings, workers=workers, bursts=bursts)

    assert (found["workers"], found["bursts"]) == (workers, bursts)
    assert set(found["variants"]) == {"before", "after", "ours"}
    for totals in found["variants"].values():
        assert set(totals) == {"attempts", "granted", "lost", "over_granted", "phantom"}
        assert all(type(v) is int and v >= 0 for v in totals.values())
        assert totals["attempts"] == workers * bursts
    budget = (workers // 2) * bursts
    assert found["variants"]["ours"] == {
        "attempts": workers * bursts, "granted": budget, "lost": 0, "over_granted": 0, "phantom": 0,
    }  # fmt: skip


def test_on_fakeredis_the_free_race_shows_only_the_units_after_keeps(key_prefix: str) -> None:
    # fakeredis runs each command under one lock, so no race shows: what is left is by design.
    workers, bursts = 8, 2
    settings = Settings(redis_url="fakeredis://race", key_prefix=key_prefix)
    found = measure.free_race(settings, workers=workers, bursts=bursts)

    budget, refused = (workers // 2) * bursts, (workers - workers // 2) * bursts
    variants = found["variants"]
    for totals in variants.values():
        assert (totals["granted"], totals["lost"], totals["over_granted"]) == (budget, 0, 0)
    assert [variants[v]["phantom"] for v in ("before", "after", "ours")] == [0, refused, 0]


# --- circuit breaker ------------------------------------------------------------------------------


def test_the_breaker_stops_requests_that_retries_would_repeat(kv_settings: Settings) -> None:
    calls = 6
    # A 5 s latency at this scale is half a millisecond a request: the test stays fast.
    found = measure.breaker(kv_settings, calls=calls, scale=10_000.0)

    without, with_ = found["without"], found["with"]
    assert without["calls"] == with_["calls"] == calls
    assert without["requests"] == calls * ClientConfig().max_attempts
    assert (without["failed_fast"], without["s_per_fast_call"]) == (0, None)
    # The breaker opens at its 5th failure, in the second call; every later call sends nothing.
    assert with_["requests"] == 5
    assert with_["failed_fast"] == calls - 2
    assert with_["s_per_fast_call"] >= 0.0
    assert without["s_per_call"] > 0.0 and with_["s_per_call"] > 0.0


# --- capacity model -------------------------------------------------------------------------------


def test_capacity_evaluates_the_reports_scenario() -> None:
    p = CapacityParams()
    found = measure.capacity(p, windows=4, users=1_000)

    # The report's arithmetic, by hand: 5,000 tasks of 5 s per 900 s window on 10 one-slot
    # workers, each limited to 100 tasks a minute.
    erlangs = p.cap_per_window * p.service_mean_s / p.window_s
    assert found["offered_erlangs"] == pytest.approx(erlangs)
    assert found["utilisation"] == pytest.approx(erlangs / 10)
    assert found["slots_for_5000_at_80pct"]["slots"] == math.ceil(erlangs / 0.8)
    assert found["service_capacity_per_s"] == pytest.approx(10 / p.service_mean_s)
    assert found["per_window_capacity_no_quota"] == pytest.approx(10 / p.service_mean_s * 900)
    assert found["per_window_capacity"] < found["per_window_capacity_no_quota"]
    assert found["rate_limit_capacity_per_s"] == pytest.approx(10 * 100 / 60)
    assert found["dispatch_rate_per_s"] == pytest.approx(p.cap_per_window / p.window_s)
    # 50,000 sources: ten windows of 5,000, the worker slots' and the rate limit's times.
    limits = found["cycle_50k_limits_s"]
    assert limits["per_window_cap"] == pytest.approx(10 * p.window_s)
    assert limits["worker_slots"] == pytest.approx(50_000 * p.service_mean_s / 10)
    assert limits["rate_limit"] == pytest.approx(50_000 / (10 * 100 / 60))
    assert found["cycle_50k_s"] == pytest.approx(max(limits.values()))
    assert found["params"]["sources"] == p.sources and found["users"] == 1_000

    sim = found["simulation"]
    assert sim["windows"] == 4
    assert all(len(sim[k]) == 4 for k in ("dispatched", "completed", "refused", "backlog"))
    assert sum(sim["completed"]) <= sum(sim["dispatched"])
    assert sim["final_backlog"] == sim["backlog"][-1]
    # The day's 10,000 units are gone within the hour; what is dispatched after is refused.
    assert sim["quota_units_by_day"] == [p.daily_quota]
    assert sim["refused"][-1] == sim["dispatched"][-1] > 0
    comparison = {c["metric"]: c for c in found["comparison"]}
    assert comparison["dispatched per window"]["analytic"] == p.cap_per_window
    assert comparison["utilisation"]["simulated"] == sim["utilisation"]

    checks = {"C6": "fails", "C7": "fails", "C8": "fails", "C14": "holds"}
    assert {c: verdict(c, capacity=found) for c in checks} == checks


def test_capacity_refuses_a_population_of_nobody() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        measure.capacity(CapacityParams(), windows=1, users=0)


# --- files written by other steps -----------------------------------------------------------------


def bench(name: str, mean: float, extra_info: dict[str, Any] | None) -> dict[str, Any]:
    return {"name": name, "stats": {"mean": mean}, "extra_info": extra_info}


def test_benchmarks_keep_each_rows_figures_but_its_plan(tmp_path: Path) -> None:
    def lookup(n: int, variant: str, mean: float) -> dict[str, Any]:
        info = {"claim": "lookup", "variant": variant, "case": {"backend": "sqlite", "n": n},
                "plan": "SCAN", "rows_read": n}  # fmt: skip
        return bench(f"test_lookup[{variant}-{n}]", mean, info)

    path = tmp_path / "bench.json"
    runs = [lookup(n, v, mean) for n, v, mean in
            [(1_000, "before", 0.001), (1_000, "after", 1e-5), (10_000, "before", 0.01),
             (10_000, "after", 1e-5)]]  # fmt: skip
    path.write_text(json.dumps({"benchmarks": [*runs, bench("test_other", 0.5, None)]}))

    found = measure.benchmarks(path)

    assert found is not None and found["file"] == str(path)
    assert found["rows"][0] == {
        "name": "test_lookup[before-1000]", "claim": "lookup", "variant": "before",
        "case": {"backend": "sqlite", "n": 1_000}, "mean_s": 0.001, "rows_read": 1_000,
    }  # fmt: skip
    assert found["rows"][-1] == {
        "name": "test_other", "claim": None, "variant": None, "case": {}, "mean_s": 0.5,
    }  # fmt: skip
    assert verdict("C1", benchmarks=found) == "holds"


def test_benchmarks_absent_are_none_and_malformed_are_refused(tmp_path: Path) -> None:
    assert measure.benchmarks(tmp_path / "missing.json") is None
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    with pytest.raises(json.JSONDecodeError):
        measure.benchmarks(broken)
    broken.write_text(json.dumps({"benchmarks": [{"name": "no stats"}]}))
    with pytest.raises(KeyError, match="stats"):
        measure.benchmarks(broken)
