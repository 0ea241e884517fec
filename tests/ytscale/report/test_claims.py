"""The claims rules on synthetic measurements: each can fail, and missing input is "unmeasured"."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from ytscale.report.claims import CLAIMS, audit, validate_claims, write_claims


def lookup_rows(before_big: float, after_small: float, after_big: float) -> list[dict[str, Any]]:
    def row(n: int, variant: str, mean: float) -> dict[str, Any]:
        case = {"backend": "sqlite", "n": n}
        return {"claim": "lookup", "variant": variant, "case": case, "mean_s": mean}

    return [
        row(50_000, "before", before_big / 10),
        row(50_000, "after", after_small),
        row(500_000, "before", before_big),
        row(500_000, "after", after_big),
    ]


def duplicates(held: int = 1, free: int = 1, forms: int = 1) -> dict[str, Any]:
    """A duplicates measurement whose report side made these many projects of the one video."""
    one = {"projects": 1}
    return {
        "backend": "sqlite",
        "concurrent": {
            "runner": "threads", "workers": 8,
            "held": {"report": {"projects": held}, "ours": one},
            "free": {"report": {"projects": free}, "ours": one},
        },
        "url_forms": {"forms": ["a"] * 6, "report": {"projects": forms}, "ours": one},
    }  # fmt: skip


def trial(
    *, before_failed: int = 1, runs: int = 1, asserts: str | None = "x < 1"
) -> dict[str, Any]:
    """A trial of one recommended test whose "before" fails ``before_failed`` of ``runs`` runs."""
    failed = {"before": before_failed, "after": 0, "ours": 0}
    variants = {
        v: {"runs": runs, "failed": n, "values": [{"x": n}] * runs, "errors": []}
        for v, n in failed.items()
    }
    return {
        "asserts": asserts,
        "reads": "x",
        "variants": variants,
        "can_fail_on_before": asserts is not None and before_failed > 0,
        "passes_on_before": before_failed < runs,
    }


def units(attempts: int, lost: int = 0, over_granted: int = 0, phantom: int = 0) -> dict[str, int]:
    """A ledger's counts from one schedule or race."""
    return {"attempts": attempts, "lost": lost, "over_granted": over_granted, "phantom": phantom}


def contention(
    store: str, after_schedule: dict[str, int], after_race: dict[str, int] | None
) -> dict[str, Any]:
    """``measure.contention``'s shape: a schedule, and a free race unless ``after_race`` is None."""
    race = None if after_race is None else {"variants": {"after": after_race, "ours": units(320)}}
    schedule = {"variants": {"after": after_schedule, "ours": units(9)}}
    return {"store": store, "schedules": {"hold-one": schedule}, "race": race}


def windows(done: int, predicted: int, *, saturated: bool, slots: int = 10) -> dict[str, Any]:
    """Two measured windows of the report's stagger at ``slots`` slots."""
    rows = [{"metric": "syncs in the window", "predicted": predicted, "measured": done,
             "error": (done - predicted) / predicted}]  # fmt: skip
    point = {"stagger": "report", "slots": slots, "in_window": done, "saturated": saturated,
             "rows": rows}  # fmt: skip
    return {"config": {"sources": 5_000}, "points": [dict(point, repeat=r) for r in (0, 1)]}


def passing() -> dict[str, Any]:
    """Measurements under which every claim of the report would hold."""
    return {
        "benchmarks": {"rows": lookup_rows(0.05, 0.0002, 0.0002)},
        "plans": {"variants": {"after": {"indexes": ["ix_user_external_url"], "full_scan": False,
                                         "plan": "SEARCH"}}},
        "duplicates": duplicates(),
        "contention": contention("redis", units(9), units(320)),
        "matching": {"variants": {"after": {"per_video": 3.0}},
                     "per_day": {"before": 10_000.0, "after": 100.0, "ours": 1.0}},
        "capacity": {
            "utilisation": 0.8, "slots_for_5000_at_80pct": {"slots": 10},
            "cycle_50k_s": 1_700.0, "cycle_50k_limits_s": {"worker_slots": 1_700.0},
            "per_window_capacity": 60_000.0, "per_window_capacity_no_quota": 60_000.0,
            "rate_limit_capacity_per_s": 16.7, "dispatch_rate_per_s": 5.6, "users": 100_000,
            "params": {"cap_per_window": 5_000},
            "simulation": {"final_backlog": 0, "completed": [5_000, 5_000]},
            "constraints_at_users": [
                {"name": "quota", "demand": 9_000.0, "capacity": 10_000.0, "unit": "units/day"}],
        },
        "windows": windows(4_990, 5_000, saturated=False),
        "call_costs": {"video_fetch_3_parts": 3, "channel_info": 1, "listing_page": 1,
                       "listing_pages_3": 3},
        "accuracy": {"report_units": 102, "truth_units": 100, "report_error": 0.02,
                     "ours_error": 0.0},
        "shared_budget": {"second_user_refused": False},
        "breaker": {
            "with": {"calls": 10, "requests": 5, "failed_fast": 8, "s_per_fast_call": 1e-5},
            "without": {"calls": 10, "requests": 40, "s_per_call": 2.0},
        },
        "trial": {"tests": {"quota": trial(runs=5, before_failed=5), "sync": trial()}},
    }  # fmt: skip


#: One edit per claim that should turn its verdict to "fails".
FAILING = {
    "C1": ("benchmarks", {"rows": lookup_rows(0.05, 0.0002, 0.02)}),
    "C2": ("plans", {"variants": {"after": {"indexes": [], "full_scan": True, "plan": "SCAN"}}}),
    "C3": ("contention", contention("fakeredis", units(9, lost=8, over_granted=1), None)),
    "C4": ("matching", {"variants": {"after": {"per_video": 20.0}},
                        "per_day": {"before": 10_000.0, "after": 100.0, "ours": 1.0}}),
    "C5": ("matching", {"variants": {"after": {"per_video": 3.0}},
                        "per_day": {"before": 20_000.0, "after": 3_000.0, "ours": 1.0}}),
    "C9": ("call_costs", {"video_fetch_3_parts": 1, "channel_info": 1, "listing_page": 1,
                          "listing_pages_3": 3}),
    "C10": ("call_costs", {"video_fetch_3_parts": 3, "channel_info": 1, "listing_page": 2,
                           "listing_pages_3": 6}),
    "C11": ("accuracy", {"report_units": 25, "truth_units": 13, "report_error": 0.92,
                         "ours_error": 0.0}),
    "C12": ("shared_budget", {"second_user_refused": True}),
    "C13": ("windows", windows(1_650, 1_640, saturated=False)),
    "C15": ("breaker", {"with": {"calls": 10, "requests": 40, "failed_fast": 0,
                                 "s_per_fast_call": None},
                        "without": {"calls": 10, "requests": 40, "s_per_call": 2.0}}),
    "C17": ("trial", {"tests": {"quota": trial(runs=5, before_failed=5),
                                "sync": trial(before_failed=0)}}),
}  # fmt: skip

CAPACITY_FAILING = {
    "C6": {"utilisation": 2.78},
    "C7": {"cycle_50k_s": 25_000.0},
    "C8": {"per_window_capacity": 1_800.0},
    "C14": {"rate_limit_capacity_per_s": 1.0},
    "C16": {"constraints_at_users": [
        {"name": "quota", "demand": 9e6, "capacity": 10_000.0, "unit": "units/day"}]},
}  # fmt: skip


def verdicts(m: dict[str, Any]) -> dict[str, str]:
    return {v.id: v.verdict for v in audit(m)}


def test_every_claim_holds_on_measurements_that_meet_it() -> None:
    assert set(verdicts(passing()).values()) == {"holds"}


@pytest.mark.parametrize("claim", sorted(FAILING))
def test_a_measurement_that_breaks_a_claim_fails_it(claim: str) -> None:
    m = passing()
    key, value = FAILING[claim]
    m[key] = value
    assert verdicts(m)[claim] == "fails"


@pytest.mark.parametrize("claim", sorted(CAPACITY_FAILING))
def test_a_capacity_figure_that_breaks_a_claim_fails_it(claim: str) -> None:
    m = passing()
    m["capacity"].update(CAPACITY_FAILING[claim])
    assert verdicts(m)[claim] == "fails"


def test_missing_measurements_make_every_claim_unmeasured() -> None:
    found = audit({})
    assert {v.verdict for v in found} == {"unmeasured"}
    assert all("not measured" in v.measured for v in found)


@pytest.mark.parametrize("key", sorted(passing()))
def test_dropping_one_input_makes_only_its_claims_unmeasured(key: str) -> None:
    m = copy.deepcopy(passing())
    del m[key]
    found = verdicts(m)
    assert "unmeasured" in found.values()
    assert set(found.values()) <= {"holds", "unmeasured"}


def c3(found: dict[str, Any]) -> tuple[str, str]:
    verdict = next(v for v in audit({"contention": found}) if v.id == "C3")
    return verdict.verdict, verdict.measured


def test_exact_schedules_hold_on_fakeredis_and_say_no_race_ran() -> None:
    verdict, text = c3(contention("fakeredis", units(9), None))
    assert verdict == "holds"
    assert "deterministic schedule hold-one on fakeredis: 0 units over-granted, 0 lost" in text
    assert "free-running race not run: REDIS_URL unset" in text


def test_a_schedule_that_loses_units_fails_on_fakeredis_and_names_itself() -> None:
    verdict, text = c3(contention("fakeredis", units(9, lost=8, over_granted=1), None))
    assert verdict == "fails"
    assert (
        "deterministic schedule hold-one on fakeredis: 1 units over-granted, 8 lost in 9 "
        "reservations (ours: 0 units over-granted, 0 lost)"
    ) in text


def test_a_free_race_that_loses_units_fails_even_when_the_schedules_are_exact() -> None:
    verdict, text = c3(contention("redis", units(9), units(320, lost=28, over_granted=37)))
    assert verdict == "fails"
    assert "free-running race on redis: 37 units over-granted, 28 lost in 320" in text
    assert "not run" not in text


def test_refused_units_that_stay_charged_make_it_partly() -> None:
    verdict, text = c3(contention("redis", units(9), units(320, phantom=4)))
    assert verdict == "partly"
    assert "4 refused-but-charged" in text


def test_no_schedule_run_is_unmeasured() -> None:
    found = contention("fakeredis", units(9), None)
    found["schedules"] = {}
    assert c3(found)[0] == "unmeasured"


@pytest.mark.parametrize(
    ("made", "figure"),
    [
        (duplicates(held=8), ": 8 projects with the SELECT-to-INSERT window held open"),
        (duplicates(free=3), "held open, 3 free-running"),
        (duplicates(forms=6), "6 URL forms of one video: 6 projects"),
    ],
    ids=["held race", "free race", "url forms"],
)
def test_duplicates_fail_c2_although_the_index_is_used(made: dict[str, Any], figure: str) -> None:
    m = passing()
    m["duplicates"] = made
    (c2,) = [v for v in audit(m) if v.id == "C2"]
    assert c2.verdict == "fails"
    assert "the lookup searches ix_user_external_url" in c2.measured
    assert figure in c2.measured


def test_c2_holds_only_when_the_index_is_used_and_no_duplicate_is_made() -> None:
    m = passing()
    (c2,) = [v for v in audit(m) if v.id == "C2"]
    assert c2.verdict == "holds"
    assert ": 1 projects with the SELECT-to-INSERT window held open, 1 free-running" in c2.measured
    assert "6 URL forms of one video: 1 projects (ours: 1 and 1)" in c2.measured


@pytest.mark.parametrize(
    "weak",
    [
        trial(asserts=None, before_failed=0),  # asserts nothing: passes on anything
        trial(asserts=None, before_failed=1),  # errors on before, but asserts nothing
        trial(runs=100, before_failed=20),  # fails on some fixtures of the broken code only
    ],
    ids=["no-assertion", "no-assertion-erroring", "passes-on-most-fixtures"],
)
def test_a_recommended_test_that_cannot_catch_the_broken_code_fails_c17(
    weak: dict[str, Any],
) -> None:
    m = passing()
    m["trial"]["tests"]["weak"] = weak
    assert verdicts(m)["C17"] == "fails"


def test_c17_shows_each_test_and_variant_in_one_line() -> None:
    m = passing()
    m["trial"]["tests"]["sync"] = trial(runs=4, before_failed=3) | {"store": "redis"}
    (c17,) = [v for v in audit(m) if v.id == "C17"]
    assert c17.verdict == "fails"
    assert c17.measured == (
        "1 of 2 pass on the broken code or cannot fail: "
        "quota [x < 1]: before fails (5), after passes (0), ours passes (0); "
        "sync [x < 1, redis]: before fails 3/4 (3), after passes (0), ours passes (0)"
    )


def test_the_ninety_percent_reduction_alone_is_partly() -> None:
    m = passing()
    m["matching"]["per_day"] = {"before": 20_000.0, "after": 1_500.0, "ours": 1.0}
    assert verdicts(m)["C5"] == "partly"


def test_claims_json_round_trips_and_validates(tmp_path: Path) -> None:
    path = tmp_path / "claims.json"
    write_claims(audit(passing()), path)
    data = json.loads(path.read_text())
    assert validate_claims(data) == []
    assert [item["id"] for item in data] == [c.id for c in CLAIMS]


def test_validation_rejects_a_bad_verdict_and_a_missing_field() -> None:
    data = [dict(id=c.id, claim=c.text, verdict="holds", reported="r", measured="m",
                 evidence="e") for c in CLAIMS]  # fmt: skip
    data[0]["verdict"] = "probably"
    del data[1]["evidence"]
    problems = validate_claims(data)
    assert any("C1" in p and "verdict" in p for p in problems)
    assert any("C2" in p and "evidence" in p for p in problems)


def test_c13_cites_the_measured_windows_of_the_reports_setup() -> None:
    m = passing()
    m["windows"] = windows(1_650, 1_640, saturated=False)
    verdict = next(v for v in audit(m) if v.id == "C13")
    assert verdict.verdict == "fails"
    assert "1,650 of 5,000 syncs done within the window at 10 slots over 2 run(s)" in (
        verdict.measured
    )
    assert "(model 1,640)" in verdict.measured


@pytest.mark.parametrize(
    "found",
    [windows(4_990, 5_000, saturated=True), windows(4_990, 5_000, saturated=False, slots=20)],
    ids=["saturated", "other-slots"],
)
def test_c13_is_unmeasured_without_a_judged_window_at_the_reports_ten_slots(
    found: dict[str, Any],
) -> None:
    m = passing()
    m["windows"] = found
    verdict = next(v for v in audit(m) if v.id == "C13")
    assert verdict.verdict == "unmeasured"
