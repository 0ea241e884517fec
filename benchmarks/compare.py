"""Compare a benchmark run with a saved baseline: which benchmarks got slower, by a statistic test.

```bash
./do bench quick --compare reports/benchmarks/main.json      # run, gate, then compare
python -m benchmarks.compare BASELINE.json RUN.json [--alpha 0.01] [--min-effect 0.1]
```

For every benchmark in both files (by name) the rounds' times (``stats.data``) are compared with a
one-sided Mann–Whitney U test, as asv does: a benchmark "regressed" when its times are
significantly larger than the baseline's (``p < alpha``) **and** its median grew by at least
``min_effect``. Neither alone is enough: thousands of rounds make a 1% shift significant, and a
point comparison of two minimums or medians flags whatever one disturbed round moved. The test
compares ranks, so a few rounds slowed by another process barely move it. Both files must come
from the same machine; counts are the gate's business (``benchmarks.gate``), not this one's.
Exit status 1 if anything regressed, 2 if a file is unusable.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ALPHA = 0.01
MIN_EFFECT = 0.10


@dataclass(frozen=True)
class Comparison:
    name: str
    baseline_median: float
    median: float
    p_value: float

    @property
    def change(self) -> float:
        return self.median / self.baseline_median - 1

    def regressed(self, alpha: float = ALPHA, min_effect: float = MIN_EFFECT) -> bool:
        return self.p_value < alpha and self.change >= min_effect

    def line(self, alpha: float = ALPHA, min_effect: float = MIN_EFFECT) -> str:
        verdict = "REGRESSED" if self.regressed(alpha, min_effect) else "ok       "
        return (
            f"{verdict} {self.change:+7.1%}  p={self.p_value:.2g}  "
            f"{self.baseline_median * 1e6:10.1f} -> {self.median * 1e6:10.1f} us  {self.name}"
        )


def mann_whitney_greater(slower: Sequence[float], baseline: Sequence[float]) -> float:
    """One-sided p-value that ``slower``'s values tend to exceed ``baseline``'s.

    The normal approximation of U with the tie correction and a continuity correction (what
    ``scipy.stats.mannwhitneyu(..., alternative="greater", method="asymptotic")`` computes).
    """
    n1, n2 = len(slower), len(baseline)
    if n1 == 0 or n2 == 0:
        raise ValueError("the Mann-Whitney test needs rounds on both sides")
    pooled = sorted([(v, 0) for v in slower] + [(v, 1) for v in baseline])
    ranks = [0.0] * len(pooled)
    ties = 0.0
    i = 0
    while i < len(pooled):
        j = i
        while j + 1 < len(pooled) and pooled[j + 1][0] == pooled[i][0]:
            j += 1
        for k in range(i, j + 1):
            ranks[k] = (i + j) / 2 + 1
        size = j - i + 1
        ties += size**3 - size
        i = j + 1
    rank_sum = sum(r for r, (_, side) in zip(ranks, pooled, strict=True) if side == 0)
    u = rank_sum - n1 * (n1 + 1) / 2
    n = n1 + n2
    variance = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if variance <= 0:
        return 1.0  # every value equal: no evidence either way
    z = (u - n1 * n2 / 2 - 0.5) / math.sqrt(variance)
    return 1 - statistics.NormalDist().cdf(z)


def rounds(path: Path) -> dict[str, list[float]]:
    """Each benchmark's round times, by name, from a pytest-benchmark JSON."""
    try:
        document = json.loads(path.read_text())
        return {b["name"]: list(b["stats"]["data"]) for b in document["benchmarks"]}
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise ValueError(f"{path}: not a pytest-benchmark JSON with round data ({exc})") from exc


def compare(baseline: dict[str, list[float]], run: dict[str, list[float]]) -> list[Comparison]:
    """A comparison for every benchmark measured in both runs, in the run's order."""
    return [
        Comparison(
            name,
            statistics.median(baseline[name]),
            statistics.median(times),
            mann_whitney_greater(times, baseline[name]),
        )
        for name, times in run.items()
        if baseline.get(name) and times
    ]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.compare", description=__doc__)
    parser.add_argument("baseline", type=Path, help="a saved run (--benchmark-json) of main")
    parser.add_argument("run", type=Path, help="this run's JSON")
    parser.add_argument("--alpha", type=float, default=ALPHA, help="significance (one-sided)")
    parser.add_argument("--min-effect", type=float, default=MIN_EFFECT, help="median growth")
    args = parser.parse_args(argv)
    try:
        baseline, run = rounds(args.baseline), rounds(args.run)
    except ValueError as exc:
        print(f"benchmark compare: {exc}", file=sys.stderr)
        return 2
    results = compare(baseline, run)
    for item in results:
        print(item.line(args.alpha, args.min_effect))
    unmatched = sorted(set(baseline) ^ set(run))
    if unmatched:
        print(f"\n{len(unmatched)} benchmarks in only one of the runs: not compared")
    regressed = [item for item in results if item.regressed(args.alpha, args.min_effect)]
    if regressed:
        print(
            f"\nbenchmark compare: {len(regressed)} of {len(results)} benchmarks regressed"
            f" (p < {args.alpha:g} and median +{args.min_effect:.0%} or more):",
            file=sys.stderr,
        )
        for item in regressed:
            print(f"  {item.name}", file=sys.stderr)
        return 1
    print(f"\nbenchmark compare: none of {len(results)} benchmarks regressed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
