"""The benchmark gate: every kind of bound can fail, it names what broke, it catches a slow-down.

The unit tests feed it hand-made pytest-benchmark JSON. The ``slow`` tests run real benchmarks
(SQLite and fakeredis, tiny timings) in a subprocess and gate them with the real bounds file: as
is; with ``YTSCALE_BENCH_SLOW`` turning "ours" into the report's per-tag matcher; and with
``YTSCALE_BENCH_INJECT`` adding a statement, a Redis round trip or instructions to ours, each of
which a count bound must catch. Timing regressions are ``test_compare.py``'s.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from benchmarks.gate import (
    BOUNDS,
    GateError,
    check,
    growth_exponent,
    load_bounds,
    load_measurements,
    main,
)
from benchmarks.slow import INJECT_ENV, SLOW_ENV
from reference.settings import PROJECT_ROOT
from ytscale.instruments.instructions import valgrind_available


def bench(claim: str, variant: str, seconds: float, **case: Any) -> dict[str, Any]:
    figures = case.pop("figures", {})
    return {
        "name": f"test_{claim}[{variant}-{case}]",
        "stats": {"min": seconds, "median": seconds * 1.1},
        "extra_info": {"claim": claim, "variant": variant, "case": case, **figures},
    }


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run_json(tmp_path: Path, *benchmarks: dict[str, Any]) -> Path:
    # Benchmarks without labels (another plugin's, an old file's) are ignored, not misread.
    unlabelled = {"name": "test_other", "stats": {"min": 1.0}, "extra_info": {}}
    document = {"benchmarks": [*benchmarks, unlabelled]}
    return write(tmp_path, "run.json", json.dumps(document))


LOOKUP = [
    bench("lookup", "before", 0.005, backend="sqlite", n=50_000),
    bench("lookup", "ours", 0.0001, backend="sqlite", n=50_000),
    bench("lookup", "before", 0.05, backend="sqlite", n=500_000),
    bench("lookup", "ours", 0.0001, backend="sqlite", n=500_000),
]


def gate(tmp_path: Path, bounds: str, *benchmarks: dict[str, Any], **options: Any) -> list[Any]:
    statistic, parsed = load_bounds(write(tmp_path, "bounds.toml", bounds))
    measured = load_measurements(run_json(tmp_path, *benchmarks), statistic)
    return check(parsed, measured, **options)


def test_a_ratio_bound_holds_or_fails_per_case(tmp_path: Path) -> None:
    bounds = 'ratio = [{claim = "lookup", variant = "before", min = 100, why = "scan vs probe"}]'
    checks = gate(tmp_path, bounds, *LOOKUP)
    assert [(c.case, round(c.value), c.ok) for c in checks] == [
        ("backend=sqlite n=50000", 50, False),
        ("backend=sqlite n=500000", 500, True),
    ]


def test_a_ratio_can_be_per_unit_of_a_figure(tmp_path: Path) -> None:
    bounds = """
    [[ratio]]
    claim = "sync"
    variant = "after"
    per = "tasks"
    min = 0.5
    why = "per task"
    """
    report = bench("sync", "after", 1.0, backend="sqlite", figures={"tasks": 5000})
    ours = bench("sync", "ours", 3.0, backend="sqlite", figures={"tasks": 10_000})
    [result] = gate(tmp_path, bounds, report, ours)
    assert result.value == pytest.approx(2 / 3) and result.ok


def test_a_ratio_may_compare_its_own_statistic(tmp_path: Path) -> None:
    bounds = """
    [[ratio]]
    claim = "quota"
    variant = "before"
    statistic = "median"
    min = 2
    why = "round trips"
    """
    # A lucky min puts "before" level with ours; the medians tell them apart.
    report = {**bench("quota", "before", 1.0, store="redis"), "stats": {"min": 1.0, "median": 4.0}}
    ours = {**bench("quota", "ours", 1.0, store="redis"), "stats": {"min": 1.0, "median": 1.5}}
    [result] = gate(tmp_path, bounds, report, ours)
    assert result.value == pytest.approx(4.0 / 1.5) and result.ok
    [by_min] = gate(tmp_path, bounds.replace('statistic = "median"', ""), report, ours)
    assert by_min.value == pytest.approx(1.0) and not by_min.ok


def test_a_report_variant_measured_without_ours_fails_as_not_measured(tmp_path: Path) -> None:
    bounds = 'ratio = [{claim = "lookup", variant = "before", min = 1, why = "w"}]'
    [result] = gate(tmp_path, bounds, bench("lookup", "before", 0.005, backend="sqlite", n=1))
    assert result.value is None and not result.ok
    assert "not measured" in result.line()


def test_growth_is_the_fitted_exponent(tmp_path: Path) -> None:
    assert growth_exponent([(10, 3.0), (1000, 30.0), (100_000, 300.0)]) == pytest.approx(0.5)
    bounds = """
    growth = [
      {claim = "lookup", variant = "before", min = 0.9, why = "a scan is linear"},
      {claim = "lookup", variant = "ours", max = 0.2, why = "a probe is flat"},
    ]
    """
    checks = gate(tmp_path, bounds, *LOOKUP)
    assert [(c.case, round(c.value, 6), c.ok) for c in checks] == [
        ("backend=sqlite n=50000..500000", 1.0, True),
        ("backend=sqlite n=50000..500000", 0.0, True),
    ]
    slow_ours = [*LOOKUP[:3], bench("lookup", "ours", 0.001, backend="sqlite", n=500_000)]
    assert not gate(tmp_path, bounds, *slow_ours)[1].ok


def test_growth_needs_two_sizes() -> None:
    with pytest.raises(ValueError, match="two distinct sizes"):
        growth_exponent([(10, 1.0), (10, 2.0)])


def test_a_figure_bound_reads_extra_info(tmp_path: Path) -> None:
    bounds = 'figure = [{claim = "quota", variant = "ours", figure = "lost", max = 0, why = "w"}]'
    fine = bench("quota", "ours", 0.001, store="redis", figures={"lost": 0})
    lossy = bench("quota", "ours", 0.001, store="fakeredis", figures={"lost": 3})
    assert [c.ok for c in gate(tmp_path, bounds, fine, lossy)] == [True, False]


def test_where_selects_cases_and_lists_match_any_value(tmp_path: Path) -> None:
    bounds = """
    ratio = [{claim = "lookup", variant = "before", min = 1, where = {n = [500000, 7]}, why = "w"}]
    """
    assert [c.case for c in gate(tmp_path, bounds, *LOOKUP)] == ["backend=sqlite n=500000"]


def test_a_bound_matching_nothing_fails_unless_excused(tmp_path: Path) -> None:
    unmeasured = 'ratio = [{claim = "sync", variant = "after", min = 1, why = "w"}]'
    [result] = gate(tmp_path, unmeasured, *LOOKUP)
    assert not result.ok
    assert gate(tmp_path, unmeasured, *LOOKUP, only={"lookup"}) == []
    full_only = 'ratio = [{claim = "sync", variant = "after", min = 1, full = true, why = "w"}]'
    assert gate(tmp_path, full_only, *LOOKUP, quick=True) == []
    assert not gate(tmp_path, full_only, *LOOKUP)[0].ok
    where = 'ratio = [{claim = "lookup", variant = "before", min = 1, why = "w", where = {%s}}]'
    # A backend nothing in the run measured (no server URL) excuses the bound...
    assert gate(tmp_path, where % 'store = "redis"', *LOOKUP) == []
    # ...but a measured backend whose case is missing does not.
    assert not gate(tmp_path, where % 'backend = "sqlite", n = 5', *LOOKUP)[0].ok


@pytest.mark.parametrize(
    ("bounds", "message"),
    [
        ('ratio = [{claim = "a", variant = "before", min = 1, why = " "}]', "gives no why"),
        ('ratio = [{claim = "a", variant = "before", why = "w"}]', "no min or max"),
        ('figure = [{claim = "a", variant = "ours", max = 0, why = "w"}]', "names no figure"),
        ('ratio = [{claim = "a", variant = "b", min = 1, why = "w", typo = 1}]', "typo"),
        ("ratio = [", "cannot read bounds"),
    ],
)
def test_a_bounds_file_that_cannot_be_checked_is_rejected(
    tmp_path: Path, bounds: str, message: str
) -> None:
    with pytest.raises(GateError, match=message):
        load_bounds(write(tmp_path, "bounds.toml", bounds))


def test_the_reviewed_bounds_cover_every_claim_and_give_reasons() -> None:
    statistic, bounds = load_bounds(BOUNDS)
    assert statistic == "min"
    assert {b.claim for b in bounds} >= {"lookup", "quota", "matching", "sync"}
    assert all(len(b.why) > 20 for b in bounds)


def test_main_exits_1_naming_every_broken_bound(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bounds = write(
        tmp_path,
        "bounds.toml",
        """
        ratio = [{claim = "lookup", variant = "before", min = 1000, why = "too strict"}]
        growth = [{claim = "lookup", variant = "ours", max = 0.2, why = "flat"}]
        """,
    )
    run = run_json(tmp_path, *LOOKUP)
    assert main([str(run), "--bounds", str(bounds)]) == 1
    out, err = capsys.readouterr()
    assert "2 of 3 bounds broken" in err
    assert "backend=sqlite n=50000]" in err and "backend=sqlite n=500000]" in err
    assert "why: too strict" in out and "growth" not in err


def test_main_exits_0_when_every_bound_holds_and_2_on_bad_input(tmp_path: Path) -> None:
    bound = 'ratio = [{claim = "lookup", variant = "before", min = 10, why = "w"}]'
    bounds = write(tmp_path, "b.toml", bound)
    assert main([str(run_json(tmp_path, *LOOKUP)), "--bounds", str(bounds)]) == 0
    assert main([str(tmp_path / "missing.json"), "--bounds", str(bounds)]) == 2


def run_benchmark(tmp_path: Path, select: str, **env: str) -> Path:
    """A real benchmark file (``path::-k expression``) with timings cut short; returns its JSON."""
    path, _, keyword = select.partition("::")
    out = tmp_path / f"{path.replace('/', '_')}-{'-'.join(env.values())}.json"
    child = {
        k: v for k, v in os.environ.items() if not k.startswith(("YTSCALE_TEST_", "YTSCALE_BENCH_"))
    }
    command = [sys.executable, "-m", "pytest", path, "-q", "-p", "no:cacheprovider", "-k", keyword,
               "--benchmark-max-time=0.01", "--benchmark-min-rounds=3",
               f"--benchmark-json={out}"]  # fmt: skip
    done = subprocess.run(
        command, cwd=PROJECT_ROOT, env={**child, **env}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return out


MATCHING = "benchmarks/bench_matching.py::sqlite"


@pytest.mark.slow
def test_the_gate_passes_a_normal_run(tmp_path: Path) -> None:
    assert main([str(run_benchmark(tmp_path, MATCHING)), "--only", "matching"]) == 0


@pytest.mark.slow
def test_the_gate_fails_a_run_whose_ours_was_slowed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slowed = run_benchmark(tmp_path, MATCHING, **{SLOW_ENV: "matching"})
    assert main([str(slowed), "--only", "matching"]) == 1
    err = capsys.readouterr().err
    assert "matching: before/ours time" in err and "matching: ours queries_per_video" in err


# One injected regression of each kind of count, in the real benchmark, against the real bounds.
INJECTED = [
    ("statement", MATCHING, "matching", "matching: ours queries_per_video"),
    ("round_trip", "benchmarks/bench_quota.py::fakeredis", "quota",
     "quota: ours round_trips_per_reserve"),
    ("instructions", "benchmarks/bench_instructions.py::canonical_url", "cpu",
     "cpu: ours instructions_per_call [path=canonical_url]"),
]  # fmt: skip


def broken_bounds(run: Path, claim: str) -> list[str]:
    """The real bounds of ``claim`` that what ``run`` measured breaks (unmeasured ones left out)."""
    statistic, bounds = load_bounds(BOUNDS)
    checks = check(bounds, load_measurements(run, statistic), only={claim})
    assert checks, f"no bound of {claim} applied"
    return [f"{c.bound.describe()} [{c.case}]" for c in checks if c.value is not None and not c.ok]


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "select", "claim", "broken"), INJECTED)
def test_the_gate_fails_each_injected_kind_of_regression(
    tmp_path: Path, kind: str, select: str, claim: str, broken: str
) -> None:
    if kind == "instructions" and not valgrind_available():
        pytest.skip("valgrind is not on PATH")
    assert broken_bounds(run_benchmark(tmp_path, select), claim) == []
    injected = broken_bounds(run_benchmark(tmp_path, select, **{INJECT_ENV: kind}), claim)
    assert any(line.startswith(broken) for line in injected), injected
