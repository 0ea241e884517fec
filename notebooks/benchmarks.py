# ---
# jupyter:
#   jupytext:
#     formats: py:percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Benchmarks: the report's before, its after, and ours
# Per claim: duplicate lookup times and plans, tag-matching statements per video, quota units
# lost or over-granted under contention (from `reports/benchmarks/*.json` and this run's own
# measurements in `measurements.json`).

# %% tags=["parameters"]
reports_dir = "../reports"

# %%
import json
from collections import defaultdict
from pathlib import Path

import matplotlib.pyplot as plt

m = json.loads((Path(reports_dir) / "measurements.json").read_text())
bench = m.get("benchmarks")
rows = bench["rows"] if bench else []
print("benchmark file:", bench["file"] if bench else "none: the benchmarks did not run")

# %% [markdown]
# ## Duplicate lookup (C1, C2)

# %%
lookup = [r for r in rows if r["claim"] == "lookup"]
if lookup:
    series = defaultdict(list)
    for r in lookup:
        series[(r["case"]["backend"], r["variant"])].append((r["case"]["n"], r["mean_s"] * 1e3))
    fig, ax = plt.subplots(figsize=(7, 4))
    for (backend, variant), points in sorted(series.items()):
        points.sort()
        ax.plot(
            [n for n, _ in points],
            [ms for _, ms in points],
            marker="o",
            label=f"{backend} {variant}",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("projects")
    ax.set_ylabel("ms per lookup")
    ax.legend()
    plt.show()
    for r in sorted(lookup, key=lambda r: (r["case"]["backend"], r["case"]["n"], r["variant"])):
        print(
            f"{r['case']['backend']:>10} {r['case']['n']:>9,} {r['variant']:>6}: {r['mean_s'] * 1e3:8.3f} ms, full scan {r.get('full_scan')}, indexes {r.get('indexes')}"
        )
print("EXPLAIN in this run:", json.dumps(m.get("plans"), indent=1))

# %% [markdown]
# ## Tag matching: statements per video (C4, C5)

# %%
matching = m.get("matching")
if matching:
    variants = matching["variants"]
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar(list(variants), [v["per_video"] for v in variants.values()])
    ax.set_ylabel("SQL statements per video (warm)")
    plt.show()
    for name, v in variants.items():
        print(
            f"{name:>6}: {v['per_video']:g} per video, {v['cold']} for the first; {matching['per_day'][name]:,.0f} per 1,000 videos"
        )
for r in rows:
    if r["claim"] == "matching":
        print(f"bench {r['case']}: {r['variant']:>6} {r.get('queries_per_video')} per video")

# %% [markdown]
# ## Quota under contention (C3)

# %%
contention = m.get("contention") or {}
for schedule, run in contention.get("schedules", {}).items():
    print(f"schedule {schedule} on {contention['store']}: {run['about']}; budget {run['budget']}")
    for name, v in run["variants"].items():
        print(
            f"  {name:>6}: granted {v['granted']}, lost {v['lost']}, over-granted {v['over_granted']}; order {' '.join(v['order'])}"
        )
race = contention.get("race")
if race:
    print(f"free race, store {contention['store']} ({race['bursts']} bursts of {race['workers']}):")
    for name, v in race["variants"].items():
        print(
            f"  {name:>6}: granted {v['granted']}, lost {v['lost']}, over-granted {v['over_granted']}, refused-but-charged {v['phantom']}"
        )
for r in rows:
    if r["claim"] == "quota" and r["case"].get("mode") == "contention":
        print(
            f"bench {r['case']['store']:>9} {r['variant']:>6}: lost {r.get('lost')}, over-granted {r.get('over_granted')}, phantom {r.get('phantom')} of {r.get('attempts')}"
        )

# %% [markdown]
# ## Quota accounting over a channel import (C9–C11)

# %%
print(json.dumps({k: m.get(k) for k in ("call_costs", "accuracy", "breaker")}, indent=1))
