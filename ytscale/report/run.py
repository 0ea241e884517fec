"""The main job: measure, simulate, validate, audit the claims, execute the notebooks, write HTML.

```bash
ytscale report                  # the full run (under 10 minutes on 2 cores)
ytscale report --quick          # CI-sized parameters
ytscale report --full-windows   # capacity windows up to 35 slots, and ours (10-15 minutes more)
ytscale report --skip seed --skip bench
```

Each step is named and can be skipped; progress goes to stderr, the claims table to stdout.
Outputs, under ``--out`` (default ``reports/``): ``measurements.json``, ``claims.json``,
``manifest.json``, ``html/index.html`` and one HTML page per notebook.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import math
import os
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reference.settings import PROJECT_ROOT, Settings

NOTEBOOKS = ("capacity", "strategies", "loadtest", "benchmarks", "claims")
NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"


@dataclass(frozen=True)
class Scale:
    """Sizes that differ between the full run and ``--quick``."""

    users: int
    windows: int
    #: The capacity windows (issue 12): sources per window, (stagger, slots) points, repeats.
    window_sources: int
    window_grid: tuple[tuple[str, tuple[int, ...]], ...]
    window_repeats: int
    #: The sync-strategy run (issue 7): sources, and simulated days.
    strategy_sources: int
    strategy_days: float

    @classmethod
    def of(cls, quick: bool, full_windows: bool = False) -> Scale:
        from ytscale.report.window import WindowConfig

        if quick:
            return cls(1_000, 8, 400, (("report", (3, 10)), ("ours", (10,))), 2, 40, 1.0)
        grid = WindowConfig.grid if full_windows else WindowConfig.MAIN_GRID
        # 150 sources for a day and a half: what the capacity windows' lower compression left
        # of the main job's ten minutes (300 for two days took 143 s; this about 65 s).
        return cls(100_000, 96, 5_000, grid, 2, 150, 1.5)


@dataclass
class Run:
    """State the steps share: settings, sizes, where to write, what was measured."""

    settings: Settings
    scale: Scale
    out: Path
    quick: bool
    measurements: dict[str, Any] = field(default_factory=dict)

    def save(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        text = json.dumps(finite(self.measurements), indent=1, default=str, allow_nan=False)
        (self.out / "measurements.json").write_text(text + "\n")


def finite(value: Any) -> Any:
    """``value`` with every infinite or NaN float replaced by None: JSON has neither."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def log(message: str) -> None:
    print(f"[report {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- steps ------------------------------------------------------------------------------------


def step_seed(run: Run) -> str:
    from ytscale.seed import SeedConfig, seed, seeded_counts

    config = SeedConfig(users=run.scale.users)
    url = run.settings.database_url
    if seeded_counts(url, config):
        return f"{run.scale.users:,} users already seeded"
    summary = seed(url, config, replace=True)
    run.measurements["seed"] = summary.as_dict()
    return summary.format().splitlines()[0]


def step_loadtest(run: Run) -> str:
    # The load-test driver is optional: run it when the module that runs it is present.
    if importlib.util.find_spec("loadtests.run") is None:
        return "skipped: loadtests.run is not present"
    main: Callable[[list[str]], int] = importlib.import_module("loadtests.run").main
    argv = ["--out", str(run.out / "loadtest"), "--users", str(run.scale.users)]
    argv += ["--database-url", run.settings.database_url]
    # The full run also finds the knee: at most 8 steps of 8 s, about a minute here.
    full = [*argv, "--run-time", "30", "--knee-steps", "8", "--knee-step-s", "8"]
    code = main([*argv, "--quick"] if run.quick else full)
    if code:
        raise RuntimeError(f"load test exited with {code}")
    return "done" if run.quick else "done, with the step-load search"


def step_bench(run: Run) -> str:
    target = run.out / "benchmarks" / "quick.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable, "-m", "pytest", "benchmarks", "-m", "quick", "-q", "-p", "no:cacheprovider",
        # Instruction counts gate CI's regressions; no verdict reads them; valgrind takes minutes.
        "--ignore=benchmarks/bench_instructions.py",
        "--benchmark-max-time=0.5", f"--benchmark-json={target}",
    ]  # fmt: skip
    env = os.environ | bench_servers(run.settings)
    done = subprocess.run(command, cwd=PROJECT_ROOT, capture_output=True, text=True, env=env)
    tail = (done.stdout.strip().splitlines() or ["(no output)"])[-1]
    if done.returncode not in (0, 1) or not target.exists():
        raise RuntimeError(f"benchmarks exited with {done.returncode}: {tail}")
    return tail


def bench_servers(settings: Settings) -> dict[str, str]:
    """The benchmarks' real-server variables for the engines this report runs on.

    The benchmarks run their real-server params only when these are set, so without them a
    report on PostgreSQL would still judge C1 on SQLite.
    """
    found = {}
    if settings.database_url.startswith("postgresql"):
        found["YTSCALE_TEST_POSTGRES_URL"] = settings.database_url
    if settings.redis_url.startswith(("redis://", "rediss://")):
        found["YTSCALE_TEST_REDIS_URL"] = settings.redis_url
    return found


def step_measure(run: Run) -> str:
    from ytscale.report import duplicates, measure, trial

    s = run.settings
    run.measurements.update(
        matching=measure.matching(),
        plans=measure.lookup_plans(),
        call_costs=measure.call_costs(s),
        accuracy=measure.channel_import_accuracy(s),
        shared_budget=measure.shared_budget(s),
        contention=measure.contention(s),
        breaker=measure.breaker(s),
        duplicates=duplicates.measure(s.database_url),
        trial=trial.measure_trial(s),
    )
    return f"contention on {run.measurements['contention']['store']}"


def step_capacity(run: Run) -> str:
    from ytscale.capacity import CapacityParams
    from ytscale.report import measure

    run.measurements["capacity"] = measure.capacity(CapacityParams(), windows=run.scale.windows)
    return f"{run.scale.windows} windows simulated"


def step_windows(run: Run) -> str:
    from ytscale.report.window import WindowConfig, measure_windows

    config = WindowConfig(
        sources=run.scale.window_sources,
        grid=run.scale.window_grid,
        repeats=run.scale.window_repeats,
    )
    result = measure_windows(run.settings, config, progress=log)
    run.measurements["windows"] = result
    error = result["max_abs_error"]
    judged = sum(not p["saturated"] for p in result["points"])
    worst = "no point judged" if error is None else f"model error at most {error:.1%}"
    points = len(result["points"])
    return f"{judged} of {points} windows judged, {worst} ({result['broker']} broker)"


def step_strategies(run: Run) -> str:
    from ytscale.report.freshness import FreshnessConfig, measure, model_comparison

    config = FreshnessConfig(sources=run.scale.strategy_sources, days=run.scale.strategy_days)
    result = measure(run.settings, config, progress=log)
    result["model"] = model_comparison(result)
    run.measurements["strategies"] = result
    return ", ".join(
        f"{name} p50 {figures['freshness_s']['p50']} s / {figures['units_per_day']:.0f} units/day"
        for name, figures in result["strategies"].items()
    )


def step_collect(run: Run) -> str:
    """Read what other tools wrote: benchmark JSON and Locust's CSV history."""
    from ytscale.report import measure

    bench_dir = run.out / "benchmarks"
    files = [p for p in (bench_dir / "quick.json", bench_dir / "full.json") if p.exists()]
    # Prefer the newest file; a full run has more sizes, a quick one is from this run.
    newest = max(files, key=lambda p: p.stat().st_mtime) if files else None
    found = measure.benchmarks(newest) if newest else None
    if found and newest:
        found["file"] = str(newest.relative_to(run.out))  # as the report's folder names it
    run.measurements["benchmarks"] = found
    histories = sorted((run.out / "loadtest").glob("*_stats_history.csv"))
    names = [str(p.relative_to(run.out)) for p in histories]
    run.measurements["loadtest"] = {"files": names} if histories else None
    return f"benchmarks: {newest or 'none'}; load-test histories: {len(histories)}"


def step_claims(run: Run) -> str:
    from ytscale.report.claims import audit, write_claims

    verdicts = audit(run.measurements)
    write_claims(verdicts, run.out / "claims.json")
    counts = {
        v: sum(x.verdict == v for x in verdicts) for v in dict.fromkeys(x.verdict for x in verdicts)
    }
    return ", ".join(f"{n} {v}" for v, n in counts.items())


def step_notebooks(run: Run) -> str:
    from ytscale.report.notebooks import render

    pages = render(
        NOTEBOOKS,
        NOTEBOOK_DIR,
        run.out,
        # Relative to the notebooks' working directory: no page shows this machine's paths.
        parameters={"reports_dir": os.path.relpath(run.out.resolve(), NOTEBOOK_DIR)},
        log=log,
    )
    return f"{len(pages)} notebooks rendered into {run.out / 'html'}"


STEPS: dict[str, Callable[[Run], str]] = {
    "seed": step_seed,
    "loadtest": step_loadtest,
    "bench": step_bench,
    "measure": step_measure,
    "capacity": step_capacity,
    "windows": step_windows,
    "strategies": step_strategies,
    "collect": step_collect,
    "claims": step_claims,
    "notebooks": step_notebooks,
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ytscale report",
        description="Measure, simulate, validate, audit the P0 report's claims, render the report.",
    )
    p.add_argument("--quick", "--small", action="store_true", help="CI-sized parameters")
    p.add_argument(
        "--full-windows",
        action="store_true",
        help="capacity windows at 5, 10 and 35 slots and ours at 35, not the main job's 5 and "
        "10: 10-15 more minutes",
    )
    p.add_argument("--skip", action="append", default=[], choices=list(STEPS), metavar="STEP",
                   help=f"skip a step (repeatable): {', '.join(STEPS)}")  # fmt: skip
    p.add_argument("--out", type=Path, default=PROJECT_ROOT / "reports", help="output folder")
    p.add_argument(
        "--compare", type=Path, metavar="OLD_REPORT_DIR",
        help="run nothing: print (and write to OUT/compare.md) the claims whose verdict or figure "
        "differs between OLD_REPORT_DIR and OUT, e.g. a copy of reports/ kept from main",
    )  # fmt: skip
    return p


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    if args.compare:
        return _compare(args.compare, args.out)
    run = Run(Settings.from_env(), Scale.of(args.quick, args.full_windows), args.out, args.quick)
    log(f"settings: {run.settings.describe()}")
    started, failed = time.monotonic(), []
    records: list[dict[str, Any]] = []
    for number, (name, step) in enumerate(STEPS.items(), 1):
        head = f"step {number}/{len(STEPS)} {name}"
        if name in args.skip:
            log(f"{head}: skipped (--skip)")
            records.append({"step": name, "status": "skipped"})
            continue
        log(f"{head} ...")
        t0 = time.monotonic()
        try:
            summary = step(run)
            status = "ok"
        except Exception as exc:  # one failed step must not hide the others' results
            summary, status = f"failed: {exc!r}", "failed"
            failed.append(name)
            traceback.print_exc(file=sys.stderr)
        seconds = time.monotonic() - t0
        log(f"{head}: {summary} ({seconds:.1f} s)")
        records.append({"step": name, "status": status, "seconds": seconds, "summary": summary})
        run.save()
        # The pages carry the run's provenance, so the manifest is current before they render.
        _write_manifest(run, records, argv, time.monotonic() - started)
    _finish(run, records, argv, time.monotonic() - started)
    return 1 if failed else 0


def _compare(old: Path, new: Path) -> int:
    from ytscale.report.summary import compare

    try:
        text = compare(old, new)
    except ValueError as exc:
        print(f"ytscale report --compare: {exc}", file=sys.stderr)
        return 2
    (new / "compare.md").write_text(text)
    print(text)
    return 0


def _write_manifest(
    run: Run, records: list[dict[str, Any]], argv: list[str], seconds: float
) -> None:
    from ytscale.report.manifest import manifest

    document = manifest(run.settings, records, argv) | {"total_seconds": seconds}
    (run.out / "manifest.json").write_text(json.dumps(document, indent=2) + "\n")


def _finish(run: Run, records: list[dict[str, Any]], argv: list[str], seconds: float) -> None:
    from ytscale.report.claims import Verdict, table
    from ytscale.report.summary import markdown

    _write_manifest(run, records, argv, seconds)
    claims_file = run.out / "claims.json"
    if claims_file.exists():
        verdicts = [Verdict(**item) for item in json.loads(claims_file.read_text())]
        print(table(verdicts))
        (run.out / "summary.md").write_text(markdown(run.out))
    log(f"done in {seconds:.0f} s: {run.out / 'html' / 'index.html'} (summary: summary.md)")


if __name__ == "__main__":
    raise SystemExit(main())
