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
# ## Whole windows: the model against the real pipeline
# Each point is one 15-minute window of the report's scenario run through the real pipeline:
# 5,000 sources due at once, released by the report's stagger (one query, countdowns U(0, 900 s))
# or by ours (a tick a minute releasing the pro-rata 334), Celery worker slots taking the syncs,
# the fake YouTube answering each call after a lognormal latency of 5 s mean. Time is compressed
# as far as the CPU a sync costs allows (the factor is in the table); a run whose CPU share or
# start lag shows the machine set the pace is marked saturated and not judged. Each run is
# predicted by the discrete-event simulation fed with what the *other* repeats of its point
# measured (service time, its CV, the hand-off between syncs), never with its own.
#
# The measured points sit below the nominal line where the slots are the limit: compression
# stretches each sync's few milliseconds of CPU by the same factor as its latency, so a slot is
# held longer than 5 s (the table's service times). The model, fed those service times,
# predicts the points; at the real pace the CPU adds milliseconds and the nominal line holds.

# %%
import statistics

w = m.get("windows")
points = list((w or {}).get("points", []))


def row(pt, metric):
    return next((r for r in pt["rows"] if r["metric"] == metric), None)


def fmt(x, spec):
    return "—" if x is None else format(x, spec)


if points:
    fig, ax = plt.subplots(figsize=(8, 4.5))
    top = max(pt["slots"] for pt in points) + 5
    axis = list(range(1, top + 1))
    line = [min(s * p.window_s / p.service_mean_s, 5_000) for s in axis]
    ax.plot(axis, line, color="grey", linewidth=1,
            label="model, nominal 5 s sync: min(slots × 900 s / 5 s, 5,000)")  # fmt: skip
    for stagger, marker, shift in (("report", "o", -0.4), ("ours", "s", 0.4)):
        mine = [pt for pt in points if pt["stagger"] == stagger]
        for judged in (True, False):
            chosen = [pt for pt in mine if pt["saturated"] != judged]
            if not chosen:
                continue
            ax.scatter([pt["slots"] + shift for pt in chosen],
                       [pt["in_window"] for pt in chosen], marker=marker, s=45,
                       facecolors=f"C{0 if stagger == 'report' else 1}" if judged else "none",
                       edgecolors=f"C{0 if stagger == 'report' else 1}",
                       label=f"measured, {stagger} stagger" + ("" if judged else " (saturated)"))  # fmt: skip
        model = [(pt["slots"] + shift, row(pt, "syncs in the window")) for pt in mine]
        model = [(x, r["predicted"]) for x, r in model if r]
        if model:
            ax.scatter(*zip(*model), marker="_", color="black", s=200,
                       label="model, from the other repeats" if stagger == "report" else None)  # fmt: skip
    ax.axhline(5_000, color="red", linestyle="--", label="report's 5,000 per window")
    ax.axvline(10, color="grey", linestyle=":", label="report's 10 workers")
    ax.set_xlabel("worker slots")
    ax.set_ylabel("syncs done within the 900 s window")
    ax.legend(fontsize=8)
    plt.show()
    print(f"{w['workers']} on the {w['broker']} broker; a sync costs "
          f"{w['cpu_per_sync_s'] * 1e3:.1f} ms of worker CPU; the step took {w['wall_s']:.0f} s,"
          " one run at a time")  # fmt: skip
else:
    print("the window measurements were not run")

# %% [markdown]
# ### The error at each point, and the spread over repeats
# Measured / predicted for each run (service s: what this run met / the model's input, from the
# other repeats); the window's end is known only for runs that finished every sync by the horizon.

# %%
if points:
    metrics = ("syncs in the window", "syncs by the horizon", "window end s", "mean completion s")
    print(f"{'stagger':>7} {'slots':>5} {'#':>2} {'×':>4} {'service s':>11} "
          + " ".join(f"{m:>26}" for m in metrics) + f" {'CPU':>5}")  # fmt: skip
    for pt in points:
        cells = []
        for metric in metrics:
            r = row(pt, metric)
            text = "—" if r is None else (
                f"{fmt(r['measured'], ',.0f')}/{fmt(r['predicted'], ',.0f')} "
                f"{fmt(r['error'], '+.1%')}")  # fmt: skip
            cells.append(f"{text:>26}")
        flag = f"  saturated ({'; '.join(pt['saturated_by'])}): not judged" if pt["saturated"] else ""
        model = (pt.get("model_inputs") or {}).get("service_s")
        service = f"{pt['inputs']['service_s']:.2f}/{fmt(model, '.2f')}"
        print(f"{pt['stagger']:>7} {pt['slots']:>5} {pt['repeat']:>2} {pt['compression']:>4.0f} "
              f"{service:>11} " + " ".join(cells) + f" {pt['cpu_share']:>5.0%}{flag}")  # fmt: skip
    print()
    groups = {}
    for pt in points:
        groups.setdefault((pt["stagger"], pt["slots"]), []).append(pt)
    for (stagger, slots), pts in groups.items():
        measured = [pt["in_window"] for pt in pts]
        errors = [r["error"] for pt in pts if (r := row(pt, "syncs in the window"))]
        span = f"error {min(errors):+.1%} … {max(errors):+.1%}" if errors else "not predicted"
        print(f"{stagger:>7} × {slots:>2} slots: {len(pts)} repeats, in the window "
              f"{statistics.fmean(measured):,.0f} (spread {max(measured) - min(measured):,}), "
              f"{span}")  # fmt: skip
    print(f"\nlargest model error over the judged runs: {fmt(w['max_abs_error'], '.1%')} "
          "(aim: within 5%)")  # fmt: skip

# %% [markdown]
# ### Completions per minute: measured (solid) and the model (dashed)

# %%
if points:
    staggers = sorted({pt["stagger"] for pt in points})
    fig, axes = plt.subplots(1, len(staggers), figsize=(6.5 * len(staggers), 4), sharey=True,
                             squeeze=False)  # fmt: skip
    for ax, stagger in zip(axes[0], staggers):
        for pt in [pt for pt in points if pt["stagger"] == stagger and pt["repeat"] == 0]:
            series = pt["completions_per_min"]
            (drawn,) = ax.plot(series["measured"], label=f"{pt['slots']} slots")
            if "predicted" in series:
                ax.plot(series["predicted"], linestyle="--", color=drawn.get_color())
        ax.axvline(15, color="red", linestyle=":", label="window end (900 s)")
        ax.set_title(f"{stagger} stagger")
        ax.set_xlabel("simulated minute")
        ax.set_ylabel("syncs completed per minute")
        ax.legend(fontsize=8)
    plt.show()
