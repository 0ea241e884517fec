"""What a reviewer reads first: a run's conclusion, as Markdown, and what changed since another run.

```python
found = conclusion(claims, measurements)     # counts per verdict, the binding constraint
markdown(out)                                # summary.md: a CI job summary or a PR comment
compare(old_out, new_out)                    # verdicts and figures that changed between two runs
```

Everything is read from the run's own files (``claims.json``, ``measurements.json``,
``manifest.json``), so a summary never says more than the run measured.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reference.settings import PROJECT_ROOT
from reference.youtube.parse import JsonDict

VERDICTS = ("holds", "partly", "fails", "unmeasured")
# An absolute path, alone or after a URL's "sqlite:///".
_ABSOLUTE = re.compile(r"(?<![\w:/])/[^\s,;`'\"]+|(?<=sqlite:///)/[^\s,;`'\"]+")


@dataclass(frozen=True)
class Limit:
    """One capacity constraint at the target population: what it needs against what it has."""

    name: str
    demand: float
    capacity: float
    unit: str

    @property
    def factor(self) -> float:
        return self.demand / self.capacity if self.capacity else float("inf")


@dataclass(frozen=True)
class Conclusion:
    counts: dict[str, int]
    #: Constraints exceeded at ``users``, worst first.
    exceeded: list[Limit]
    users: int | None

    @property
    def binding(self) -> Limit | None:
        return self.exceeded[0] if self.exceeded else None

    def sentences(self) -> list[str]:
        total = sum(self.counts.values())
        tally = ", ".join(f"{self.counts[v]} {v}" for v in VERDICTS if self.counts.get(v))
        said = [f"Of the report's {total} claims: {tally}."]
        if self.binding and self.users:
            worst = self.binding
            said.append(
                f"At {self.users:,} users the constraint that binds first is {worst.name}: "
                f"{worst.demand:,.0f} {worst.unit} needed against {worst.capacity:,.0f} "
                f"({worst.factor:,.1f}× over)."
            )
            others = [f"{x.name} {x.factor:,.1f}×" for x in self.exceeded[1:]]
            ready = "Ready would take every limit under 1×"
            said.append(f"{ready}: also over are {', '.join(others)}." if others else f"{ready}.")
        elif self.users:
            said.append(f"At {self.users:,} users no modelled limit is exceeded.")
        else:
            said.append("The capacity model did not run, so readiness is not judged.")
        return said


def conclusion(claims: list[JsonDict], measurements: JsonDict) -> Conclusion:
    counts = Counter(str(c["verdict"]) for c in claims)
    capacity = measurements.get("capacity") or {}
    rows = capacity.get("constraints_at_users") or []
    limits = [Limit(r["name"], r["demand"], r["capacity"], r["unit"]) for r in rows]
    exceeded = sorted((x for x in limits if x.demand > x.capacity), key=lambda x: -x.factor)
    return Conclusion(dict(counts), exceeded, capacity.get("users"))


def read_run(out: Path) -> tuple[list[JsonDict], JsonDict, JsonDict]:
    """``claims.json``, ``measurements.json`` and ``manifest.json`` of a report folder."""
    return (_read(out / "claims.json") or [], _read(out / "measurements.json") or {},
            _read(out / "manifest.json") or {})  # fmt: skip


def provenance(manifest: JsonDict) -> str:
    """One line saying what produced the figures, and the command that reproduces them."""
    if not manifest:
        return "provenance: no manifest.json (the run did not finish)"
    sha = (manifest.get("git_sha") or "unknown commit")[:12]
    dirty = " (uncommitted changes)" if manifest.get("git_dirty") else ""
    machine = manifest.get("machine") or {}
    load = machine.get("load_average")
    settings = manifest.get("settings") or {}
    backends = ", ".join(
        f"{k}={_portable(settings[k])}"
        for k in ("database_url", "redis_url", "broker_url")
        if k in settings
    )
    command = " ".join(["./do report", *map(_portable, manifest.get("argv", []))])
    return (
        f"commit {sha}{dirty}; {machine.get('cpus')} CPUs, {machine.get('platform')}; "
        f"load average {', '.join(f'{x:.2f}' for x in load) if load else 'unknown'}; "
        f"{backends}; reproduce with `{command}`"
    )


def markdown(out: Path) -> str:
    """The run's summary: the conclusion, the claims table and where the figures came from."""
    claims, measurements, manifest = read_run(out)
    lines = ["# ytscale: audit of the P0 scalability report", ""]
    lines += conclusion(claims, measurements).sentences()
    lines += ["", "| id | verdict | claim | measured |", "|---|---|---|---|"]
    lines += [
        f"| {c['id']} | **{c['verdict']}** | {_cell(c['claim'])} | {_cell(c['measured'])} |"
        for c in claims
    ]
    lines += ["", f"_{provenance(manifest)}_", ""]
    return "\n".join(lines)


def compare(old: Path, new: Path) -> str:
    """The claims whose verdict or measured figure differs between two report folders."""
    before = {c["id"]: c for c in read_run(old)[0]}
    after = {c["id"]: c for c in read_run(new)[0]}
    if not before or not after:
        missing = old if not before else new
        raise ValueError(f"{missing / 'claims.json'} is missing: run ./do report there first")
    lines = [f"# Changes from {old} to {new}", "", "| id | verdict | measured |", "|---|---|---|"]
    changed = 0
    for cid in sorted({*before, *after}, key=_claim_number):
        was, now = before.get(cid), after.get(cid)
        if was == now:
            continue
        changed += 1
        verdict = _change(was and was["verdict"], now and now["verdict"])
        measured = _change(was and was["measured"], now and now["measured"])
        lines.append(f"| {cid} | {verdict} | {_cell(measured)} |")
    if not changed:
        lines.append("| – | no claim changed | – |")
    lines += [
        "",
        f"{changed} of {len(after)} claims changed. Figures are compared as text: timings move "
        "with machine load between runs (see each run's provenance), counts do not.",
        "",
        f"- before: _{provenance(read_run(old)[2])}_",
        f"- after: _{provenance(read_run(new)[2])}_",
        "",
    ]
    return "\n".join(lines)


def _portable(text: str) -> str:
    """``text`` without this machine's absolute paths: the project's relative, others elided."""

    def shorten(match: re.Match[str]) -> str:
        path = Path(match.group(0))
        if path.is_relative_to(PROJECT_ROOT):
            return str(path.relative_to(PROJECT_ROOT))
        return f"…/{path.name}"

    return _ABSOLUTE.sub(shorten, text)


def _change(was: Any, now: Any) -> str:
    if was == now:
        return str(now)
    return f"{was if was is not None else '(absent)'} → {now if now is not None else '(absent)'}"


def _claim_number(cid: str) -> tuple[int, str]:
    digits = "".join(ch for ch in cid if ch.isdigit())
    return (int(digits) if digits else 0, cid)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _read(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None
