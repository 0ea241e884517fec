"""The benchmark regression gate: check one run's pytest-benchmark JSON against ``bounds.toml``.

```bash
python -m benchmarks.gate reports/benchmarks/full.json            # every bound
python -m benchmarks.gate quick.json --quick                      # skip bounds marked full = true
python -m benchmarks.gate run.json --only matching,lookup         # only these claims' bounds
```

Absolute times here move by tens of percent between runs, so no bound is an absolute time. Each
bound compares what one run measured:

- ``ratio``: a report variant's time over ours in the same case (same claim, backend, size…),
  optionally per unit of an ``extra_info`` figure (``per = "tasks"``), by the file's statistic
  or the bound's own (``statistic = "median"`` where single lucky rounds make the min noise);
  or, with ``figure``, that count's ratio instead of the time's (instructions per call);
  a timing ratio records the A/A noise floor its value derives from (``floor``);
- ``growth``: the exponent ``k`` of ``time ∝ x**k`` fitted over a case parameter (``over = "n"``);
- ``figure``: an ``extra_info`` count that does not depend on speed (queries, lost units).

Every bound gives ``min`` and/or ``max`` and a ``why``. A bound that matches nothing measured fails
("not measured"), unless its claim is left out by ``--only``, it is ``full = true`` under
``--quick``, or its ``where`` names a backend this run did not measure at all (no server URL).
The exit status is 1 if any bound is broken, naming every one; 2 if the input is unusable.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tomllib
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BOUNDS = Path(__file__).with_name("bounds.toml")
OURS = "ours"
KINDS = ("ratio", "growth", "figure")
#: Case parameters naming a backend: a bound on one the run never measured is not required.
BACKEND_KEYS = ("backend", "store")


class GateError(Exception):
    """The bounds file or the benchmark JSON cannot be used."""


@dataclass(frozen=True)
class Measurement:
    """One benchmark of the run: which claim, variant and case, its time and its figures."""

    name: str
    claim: str
    variant: str
    case: Mapping[str, Any]
    time: float
    figures: Mapping[str, Any]
    #: Every statistic pytest-benchmark recorded, for bounds that name their own.
    stats: Mapping[str, float] = field(default_factory=dict)

    def matches(self, where: Mapping[str, Any]) -> bool:
        return all(_matches(self.case.get(key), want) for key, want in where.items())

    def key(self, *without: str) -> tuple[tuple[str, Any], ...]:
        return tuple(sorted((k, v) for k, v in self.case.items() if k not in without))


@dataclass(frozen=True)
class Bound:
    """One entry of ``bounds.toml``: what to compute for which cases, and its limits."""

    kind: str
    claim: str
    variant: str
    why: str
    min: float | None = None
    max: float | None = None
    where: Mapping[str, Any] = field(default_factory=dict)
    per: str | None = None
    over: str = "n"
    figure: str | None = None
    full: bool = False
    #: The time statistic this ratio compares, instead of the file's.
    statistic: str | None = None
    #: The noise floor measured by A/A runs (``benchmarks.noise``) that a timing bound derives from.
    floor: float | None = None

    def describe(self) -> str:
        if self.kind == "ratio":
            measure = self.figure or "time"
            what = f"{self.variant}/{OURS} {measure}" + (f" per {self.per}" if self.per else "")
        elif self.kind == "growth":
            what = f"{self.variant} growth exponent over {self.over}"
        else:
            what = f"{self.variant} {self.figure}"
        return f"{self.claim}: {what}"

    def limits(self) -> str:
        parts = ([f">= {self.min:g}"] if self.min is not None else []) + (
            [f"<= {self.max:g}"] if self.max is not None else []
        )
        floor = f"; A/A noise floor {self.floor:g}" if self.floor is not None else ""
        return " and ".join(parts) + floor

    def holds(self, value: float) -> bool:
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


@dataclass(frozen=True)
class Check:
    """A bound applied to one case; ``value`` is None when the case was not measured."""

    bound: Bound
    case: str
    value: float | None

    @property
    def ok(self) -> bool:
        return self.value is not None and self.bound.holds(self.value)

    def line(self) -> str:
        shown = "not measured" if self.value is None else f"{self.value:.3g}"
        status = "ok  " if self.ok else "FAIL"
        where = f" [{self.case}]" if self.case else ""
        text = f"{status} {self.bound.describe()}{where} = {shown} (bound {self.bound.limits()})"
        return text if self.ok else f"{text}\n       why: {self.bound.why}"


def load_bounds(path: Path) -> tuple[str, list[Bound]]:
    """The statistic to compare and the bounds of a ``bounds.toml``."""
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise GateError(f"cannot read bounds {path}: {exc}") from exc
    statistic = raw.get("statistic", "min")
    bounds: list[Bound] = []
    for kind in KINDS:
        for number, entry in enumerate(raw.get(kind, []), 1):
            try:
                bound = Bound(kind=kind, **entry)
            except TypeError as exc:
                raise GateError(f"{path}: [[{kind}]] #{number}: {exc}") from exc
            if bound.min is None and bound.max is None:
                raise GateError(f"{path}: [[{kind}]] #{number} ({bound.claim}) has no min or max")
            if not bound.why.strip():
                raise GateError(f"{path}: [[{kind}]] #{number} ({bound.claim}) gives no why")
            if kind == "figure" and not bound.figure:
                raise GateError(f"{path}: [[figure]] #{number} ({bound.claim}) names no figure")
            bounds.append(bound)
    return statistic, bounds


def load_measurements(path: Path, statistic: str) -> list[Measurement]:
    """The benchmarks of a pytest-benchmark JSON that carry a claim and a variant."""
    try:
        document = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise GateError(f"cannot read benchmark JSON {path}: {exc}") from exc
    found = []
    for bench in document.get("benchmarks", []):
        info = bench.get("extra_info", {})
        if "claim" not in info or "variant" not in info:
            continue
        if statistic not in bench["stats"]:
            raise GateError(f"{bench['name']}: no statistic {statistic!r} in its stats")
        found.append(
            Measurement(
                name=bench["name"],
                claim=info["claim"],
                variant=info["variant"],
                case=info.get("case", {}),
                time=float(bench["stats"][statistic]),
                figures=info,
                stats={k: v for k, v in bench["stats"].items() if isinstance(v, int | float)},
            )
        )
    return found


def check(
    bounds: Iterable[Bound],
    measurements: Sequence[Measurement],
    *,
    only: set[str] | None = None,
    quick: bool = False,
) -> list[Check]:
    """Every check the bounds ask of the measurements, passing or not."""
    checks: list[Check] = []
    for bound in bounds:
        if (only is not None and bound.claim not in only) or (quick and bound.full):
            continue
        found = list(_evaluate(bound, measurements))
        if not found and _required(bound, measurements):
            found = [Check(bound, _describe(bound.where.items()), None)]
        checks.extend(found)
    return checks


def growth_exponent(points: Iterable[tuple[float, float]]) -> float:
    """The least-squares slope of ``log(time)`` over ``log(x)``: ``k`` in ``time ∝ x**k``."""
    logs = [(math.log(x), math.log(t)) for x, t in points]
    if len({x for x, _ in logs}) < 2:
        raise ValueError("a growth exponent needs at least two distinct sizes")
    mean_x = sum(x for x, _ in logs) / len(logs)
    mean_y = sum(y for _, y in logs) / len(logs)
    covariance = sum((x - mean_x) * (y - mean_y) for x, y in logs)
    return covariance / sum((x - mean_x) ** 2 for x, _ in logs)


def ratios(measurements: Sequence[Measurement]) -> list[str]:
    """Every variant's time over ours, per claim and case: the run at a glance."""
    ours = {(m.claim, m.key()): m for m in measurements if m.variant == OURS}
    lines = []
    for m in measurements:
        base = ours.get((m.claim, m.key()))
        if base is not None and m.variant != OURS:
            lines.append(
                f"  {m.claim:<9} {m.variant:<7} {m.time / base.time:>10.2f}x ours"
                f"   [{_describe(m.case.items())}]"
            )
    return lines


def _evaluate(bound: Bound, measurements: Sequence[Measurement]) -> Iterator[Check]:
    mine = [m for m in measurements if m.claim == bound.claim and m.matches(bound.where)]
    if bound.kind == "figure":
        for m in mine:
            figure = bound.figure or ""
            if m.variant == bound.variant and figure in m.figures:
                yield Check(bound, _describe(m.case.items()), float(m.figures[figure]))
    elif bound.kind == "ratio":
        ours = {m.key(): m for m in mine if m.variant == OURS}
        for m in mine:
            if m.variant == bound.variant:
                # The report's variant measured without ours beside it: ours failed or was skipped.
                base = ours.get(m.key())
                value = None if base is None else _per(m, bound) / _per(base, bound)
                yield Check(bound, _describe(m.case.items()), value)
    else:
        series: dict[tuple[tuple[str, Any], ...], list[Measurement]] = defaultdict(list)
        for m in mine:
            if m.variant == bound.variant and bound.over in m.case:
                series[m.key(bound.over)].append(m)
        for key, points in series.items():
            if len({m.case[bound.over] for m in points}) >= 2:
                value = growth_exponent((m.case[bound.over], m.time) for m in points)
                sizes = sorted({m.case[bound.over] for m in points})
                yield Check(bound, _describe([*key, (bound.over, _span(sizes))]), value)


def _required(bound: Bound, measurements: Sequence[Measurement]) -> bool:
    """False when the bound's ``where`` names a backend that nothing in this run measured."""
    for key in BACKEND_KEYS:
        if key in bound.where and not any(
            _matches(m.case.get(key), bound.where[key]) for m in measurements
        ):
            return False
    return True


def _per(m: Measurement, bound: Bound) -> float:
    if bound.figure is not None:
        if bound.figure not in m.figures:
            raise GateError(f"{m.name}: no figure {bound.figure!r} in its extra_info")
        time = float(m.figures[bound.figure])
    elif bound.statistic is None:
        time = m.time
    elif bound.statistic in m.stats:
        time = float(m.stats[bound.statistic])
    else:
        raise GateError(f"{m.name}: no statistic {bound.statistic!r} in its stats")
    if bound.per is None:
        return time
    units = float(m.figures.get(bound.per, 0))
    if units <= 0:
        raise GateError(f"{m.name}: figure {bound.per!r} is missing or not positive")
    return time / units


def _matches(value: Any, want: Any) -> bool:
    return value in want if isinstance(want, list) else value == want


def _describe(items: Iterable[tuple[str, Any]]) -> str:
    return " ".join(f"{key}={value}" for key, value in items)


def _span(sizes: list[Any]) -> str:
    return f"{sizes[0]}..{sizes[-1]}"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.gate", description=__doc__)
    parser.add_argument("json", type=Path, help="pytest-benchmark JSON (--benchmark-json)")
    parser.add_argument("--bounds", type=Path, default=BOUNDS)
    parser.add_argument("--only", help="comma-separated claims whose bounds to check")
    parser.add_argument("--quick", action="store_true", help="skip bounds marked full = true")
    args = parser.parse_args(argv)
    try:
        statistic, bounds = load_bounds(args.bounds)
        measurements = load_measurements(args.json, statistic)
        only = set(args.only.split(",")) if args.only else None
        checks = check(bounds, measurements, only=only, quick=args.quick)
    except GateError as exc:
        print(f"benchmark gate: {exc}", file=sys.stderr)
        return 2
    print(f"Times compared by their {statistic}; variant time / ours time:")
    print("\n".join(ratios(measurements)) or "  (no variant measured beside ours)")
    print(f"\nBounds ({args.bounds}):")
    for item in checks:
        print(f"  {item.line()}")
    broken = [item for item in checks if not item.ok]
    if not checks:
        print("benchmark gate: no bound applied to this run", file=sys.stderr)
        return 1
    if broken:
        print(f"\nbenchmark gate: {len(broken)} of {len(checks)} bounds broken:", file=sys.stderr)
        for item in broken:
            print(f"  {item.bound.describe()} [{item.case}]", file=sys.stderr)
        return 1
    print(f"\nbenchmark gate: all {len(checks)} bounds hold")
    return 0


if __name__ == "__main__":
    sys.exit(main())
