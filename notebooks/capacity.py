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
# # Capacity of the periodic channel sync
#
# The P0 report's scenario (5,000 sources per 15-minute window, 0–900 s stagger, 10 single-slot
# workers, 5 s mean task, 100 tasks/min per worker, 10,000 units/day) through the analytic model
# and a simulated day (`ytscale.capacity`), then the model against a run of the real pipeline.

# %% tags=["parameters"]
reports_dir = "../reports"

# %%
import json
from dataclasses import replace
from pathlib import Path

import matplotlib.pyplot as plt

from ytscale.capacity import CapacityParams, analytic

m = json.loads((Path(reports_dir) / "measurements.json").read_text())
cap = m.get("capacity")
p = CapacityParams()

# %% [markdown]
# ## Sources per window vs worker slots
# Syncs one window can complete (service capacity and per-worker rate limits, quota set aside)
# against the number of single-slot workers, with the report's 5,000 target.

# %%
workers = list(range(5, 61, 5))
per_window = [
    min(
        analytic.service_capacity(replace(p, workers=w)),
        analytic.rate_limit_capacity(replace(p, workers=w)),
    )
    * p.window_s
    for w in workers
]
fig, ax = plt.subplots(figsize=(7, 4))
ax.plot(workers, per_window, marker="o", label="syncs per window (slots / 5 s, rate limit)")
ax.axhline(5_000, color="red", linestyle="--", label="report's 5,000 per window")
ax.axvline(10, color="grey", linestyle=":", label="report's 10 workers")
ax.set_xlabel("worker slots")
ax.set_ylabel("syncs per 15-min window")
ax.legend()
plt.show()
plan = analytic.slots_for_target(p)
print(
    f"slots for 5,000 per window at <= 80% utilisation: {plan.slots} (utilisation {plan.utilisation:.0%})"
)

# %% [markdown]
# ## Sync-cycle time vs users (10K–100K)

# %%
if cap:
    series = cap["cycle_series"]
    users = [pt["sources"] for pt in series]
    fig, ax = plt.subplots(figsize=(7, 4))
    for name in series[0]["limits"]:
        ax.plot(users, [(pt["limits"][name] or float("nan")) / 3600 for pt in series], label=name)
    ax.axhline(0.5, color="red", linestyle="--", label="report's 30-min cycle")
    ax.set_yscale("log")
    ax.set_xlabel("users (one source each)")
    ax.set_ylabel("cycle time, hours (log)")
    ax.legend()
    plt.show()
    for pt in series:
        print(
            f"{pt['sources']:>7,} users: cycle {pt['cycle_s'] / 3600:8.1f} h, bound by {pt['binding']}"
        )

# %% [markdown]
# ## Quota units per day vs the 10,000 budget: the report's sync and ours
# 100K sources synced every 30 minutes through the Data API, other limits lifted. Syncs that cost
# no quota (the channel feed, WebSub push) are compared in the strategies notebook.

# %%
if cap:
    by = cap["quota_by_strategy_at_users"]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.bar(list(by), list(by.values()))
    ax.axhline(10_000, color="red", linestyle="--", label="10,000 units/day (whole project)")
    ax.set_yscale("log")
    ax.set_ylabel("units per day (log)")
    ax.legend()
    plt.xticks(rotation=20)
    plt.show()
    for name, units in by.items():
        print(f"{name:>20}: {units:>12,.0f} units/day = {units / 10_000:,.1f}× the budget")

# %% [markdown]
# ## A simulated day of the report's scenario

# %%
if cap:
    sim = cap["simulation"]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(sim["dispatched"], label="dispatched")
    ax.plot(sim["completed"], label="completed")
    ax.plot(sim["refused"], label="refused (quota)")
    ax.plot(sim["backlog"], label="backlog")
    ax.set_xlabel("window")
    ax.legend()
    plt.show()
    print("binding constraint first:", cap["constraints"][0]["name"])
    for row in cap["comparison"]:
        print(f"{row['metric']:>28}: analytic {row['analytic']}, simulated {row['simulated']}")

# %% [markdown]
# ## Model vs measured
# A burst of syncs through Celery workers and the fake YouTube (5 s latency, time compressed
# 100×); the model's inputs (service time, CV, broker hand-off) come from a separate, smaller
# calibration burst.

# %%
v = m.get("validation")
if v:
    print(f"broker: {v['broker']}; calibration: {v['calibration']}")
    for row in v["rows"]:
        print(
            f"{row['metric']:>22}: predicted {row['predicted']:.3f}, measured {row['measured']:.3f}, error {row['error']:+.1%}"
        )
    fig, ax = plt.subplots(figsize=(6, 3))
    ax.bar([r["metric"] for r in v["rows"]], [r["error"] * 100 for r in v["rows"]])
    ax.axhline(5, color="red", linestyle="--")
    ax.axhline(-5, color="red", linestyle="--")
    ax.set_ylabel("error %")
    plt.show()
else:
    print("validation not run")
