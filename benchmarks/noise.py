"""Noise floors of the gate's timing bounds, from A/A runs: the same code measured several times.

```bash
python -m benchmarks.noise run1.json run2.json run3.json     # quick or full runs of one commit
```

For every ``ratio`` and ``growth`` bound and every case it applies to, prints the value each run
measured and its floor: for a ratio, the largest over the smallest value (``1.3`` means runs of
identical code disagreed by 30%); for a growth exponent, the largest minus the smallest. A bound
is derived from its floor in ``bounds.toml`` (the floor recorded beside it, as ``floor``): a
minimum ratio sits below the least value measured divided by the floor squared, a maximum exponent
above the largest value measured plus twice the floor, so noise twice as large as any A/A run showed
still cannot trip it.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from benchmarks.gate import BOUNDS, GateError, check, load_bounds, load_measurements


def floors(runs: Sequence[Path], bounds_path: Path = BOUNDS) -> list[str]:
    """One line per timing bound and case: the values of every run, and their floor."""
    statistic, bounds = load_bounds(bounds_path)
    timed = [b for b in bounds if b.kind == "growth" or (b.kind == "ratio" and not b.figure)]
    values: dict[tuple[str, str], list[float]] = defaultdict(list)
    for run in runs:
        for item in check(timed, load_measurements(run, statistic)):
            if item.value is not None:
                values[item.bound.describe(), item.case].append(item.value)
    lines = []
    for (what, case), seen in values.items():
        kind = "growth" if "growth" in what else "ratio"
        floor = max(seen) / min(seen) if kind == "ratio" else max(seen) - min(seen)
        shown = ", ".join(f"{v:.3g}" for v in seen)
        lines.append(f"{what} [{case}]: {shown}; floor {floor:.3g}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.noise", description=__doc__)
    parser.add_argument("runs", type=Path, nargs="+", help="pytest-benchmark JSON of one commit")
    parser.add_argument("--bounds", type=Path, default=BOUNDS)
    args = parser.parse_args(argv)
    try:
        print("\n".join(floors(args.runs, args.bounds)))
    except GateError as exc:
        print(f"benchmark noise: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
