"""Step-load search: offer more each step until the corrected p95 or the error ratio breaks; the
highest rate held is the knee. Then the Universal Scalability Law through the steps.

```bash
python -m loadtests.knee --host http://127.0.0.1:8000 --start-rps 50 --step-rps 50 \\
    --step-s 20 --max-p95-ms 100 --max-error-ratio 0.01 --out reports/loadtest/knee \\
    -- --population-users 100000          # anything after -- goes to every Locust run
```

Each step is one headless Locust run of the API scenario (``loadtests/locust.conf``) at its
``--target-rps``, so each has the whole machinery: the host guard, ``--max-rps``, the exact
corrected latencies and the generator verdict. A step *holds* when its generator was not
saturated, its corrected p95 is within ``--max-p95-ms`` and its error ratio within
``--max-error-ratio``. The search stops at the first step that does not hold (a saturated
generator stops it too: past that point it measures itself). Concurrency per step is Little's
law, ``N = X·R`` (the rate achieved over the second half of the step, past the ramp, times the
mean time in the system, corrected); the USL is fitted to
(N, X) over the steps whose generator kept up (:mod:`loadtests.usl`), with at least 4 of them.
``--out`` gets each step's CSVs and ``knee.csv`` (one row per step).
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from loadtests.usl import Fit, littles_law
from reference.settings import PROJECT_ROOT


@dataclass(frozen=True)
class Step:
    offered_rps: float
    achieved_rps: float
    mean_ms: float
    p95_ms: float
    error_ratio: float
    generator: str
    exit_code: int

    @property
    def concurrency(self) -> float:
        return littles_law(self.achieved_rps, self.mean_ms / 1000)

    def holds(self, max_p95_ms: float, max_error_ratio: float) -> bool:
        return (
            self.generator == "valid"
            and self.p95_ms <= max_p95_ms
            and self.error_ratio <= max_error_ratio
        )


def read_step(prefix: Path, offered: float, exit_code: int) -> Step:
    """A finished run's figures, from its CSVs (stats, latency, generator)."""
    with open(f"{prefix}_stats.csv", newline="") as f:
        total = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    with open(f"{prefix}_latency.csv", newline="") as f:
        latency = next(r for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    with open(f"{prefix}_generator.csv", newline="") as f:
        generator = {r["Field"]: r["Value"] for r in csv.DictReader(f)}
    requests = int(total["Request Count"])
    return Step(
        offered_rps=offered,
        achieved_rps=steady_rps(Path(f"{prefix}_stats_history.csv")),
        mean_ms=float(latency["corrected mean"]),
        p95_ms=float(latency["corrected p95"]),
        error_ratio=int(total["Failure Count"]) / requests if requests else 1.0,
        generator=generator["verdict"],
        exit_code=exit_code,
    )


def steady_rps(history: Path) -> float:
    """Requests a second over the second half of the run (past the ramp), from the history's
    running total (its ``Requests/s`` column trails by Locust's 10 s window)."""
    with open(history, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["Name"] == "Aggregated"]
    if len(rows) < 2:
        return 0.0
    middle, last = rows[len(rows) // 2], rows[-1]
    seconds = int(last["Timestamp"]) - int(middle["Timestamp"])
    requests = int(last["Total Request Count"]) - int(middle["Total Request Count"])
    return requests / seconds if seconds > 0 else 0.0


def usl(steps: Sequence[Step]) -> Fit | None:
    """The USL through the steps whose generator kept up (None: fewer than 4)."""
    kept = [s for s in steps if s.generator == "valid" and s.achieved_rps > 0]
    if len({s.concurrency for s in kept}) < 4:
        return None
    return Fit.of([s.concurrency for s in kept], [s.achieved_rps for s in kept])


def main(argv: Sequence[str] | None = None) -> int:
    own, locust_args = _split(list(sys.argv[1:] if argv is None else argv))
    args = _parser().parse_args(own)
    args.out.mkdir(parents=True, exist_ok=True)
    # Locust patches the interpreter with gevent unless told not to; each step needs it to.
    env = {k: v for k, v in os.environ.items() if k != "LOCUST_SKIP_MONKEY_PATCH"}
    steps: list[Step] = []
    knee: Step | None = None
    for number in range(args.max_steps):
        offered = args.start_rps + number * args.step_rps
        prefix = args.out / f"step_{number:02d}"
        run = subprocess.run(
            [sys.executable, "-m", "locust", "--config", "loadtests/locust.conf",
             "--host", args.host, "--target-rps", f"{offered:g}", "--run-time", f"{args.step_s}s",
             "--csv", str(prefix), "--html", f"{prefix}.html", *locust_args],
            cwd=PROJECT_ROOT, env=env, capture_output=True, text=True,
            timeout=args.step_s + 180,
        )  # fmt: skip
        if run.returncode == 2:  # refused before any request: the guard, a bad profile
            print(run.stderr[-2000:], file=sys.stderr)
            return 2
        step = read_step(prefix, offered, run.returncode)
        steps.append(step)
        held = step.holds(args.max_p95_ms, args.max_error_ratio)
        verdict = "held" if held else "BROKE"
        print(
            f"{offered:7.1f} offered  {step.achieved_rps:7.1f} achieved  p95 {step.p95_ms:8.2f} ms"
            f"  errors {step.error_ratio:.4f}  N {step.concurrency:6.2f}"
            f"  generator {step.generator}  {verdict}",
            flush=True,
        )
        if not held:
            break
        knee = step
    _write(args.out / "knee.csv", steps, args.max_p95_ms, args.max_error_ratio)
    fit = usl(steps)
    print(
        f"knee: {knee.offered_rps:g} requests/s held"
        if knee
        else "knee: not even the first step held"
    )
    if fit is not None:
        print(f"USL: lambda {fit.lam:.2f}/s, sigma {fit.sigma:.4f}, kappa {fit.kappa:.6f}, "
              f"peak at N = {fit.peak:.1f}")  # fmt: skip
    return 0 if knee else 1


def _write(path: Path, steps: Sequence[Step], max_p95_ms: float, max_error_ratio: float) -> None:
    # The search's own judgement per step, so a reader never re-judges with other thresholds.
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow([*asdict(steps[0]), "concurrency", "held"] if steps else [])
        for step in steps:
            held = step.holds(max_p95_ms, max_error_ratio)
            writer.writerow([*asdict(step).values(), f"{step.concurrency:.4f}", int(held)])


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    if "--" in argv:
        at = argv.index("--")
        return argv[:at], argv[at + 1 :]
    return argv, []


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m loadtests.knee",
        description="Step the offered rate up until the corrected p95 or the errors break.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--host", default="http://127.0.0.1:8000")
    p.add_argument("--start-rps", type=float, default=25.0)
    p.add_argument("--step-rps", type=float, default=25.0)
    p.add_argument("--max-steps", type=int, default=12)
    p.add_argument("--step-s", type=int, default=20, help="seconds of load per step")
    p.add_argument("--max-p95-ms", type=float, default=100.0, help="corrected p95 to hold")
    p.add_argument("--max-error-ratio", type=float, default=0.01)
    p.add_argument("--out", type=Path, default=PROJECT_ROOT / "reports" / "loadtest" / "knee")
    return p


if __name__ == "__main__":
    raise SystemExit(main())
