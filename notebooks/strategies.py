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
# # Beyond the report: a sync that fits the YouTube quota
#
# The report syncs every channel through the Data API, a unit per playlist page on every sync.
# Two other ways to learn of uploads cost no quota: the channel's public Atom feed (latest 15
# uploads, minutes late) and WebSub push (the hub posts each upload; leases must be renewed).
# Then only the details of videos that are actually new cost units, 50 ids a unit across channels.
#
# Two sources of figures, both from this run (`reports/measurements.json`, key `strategies`):
# **measured** — the real pipeline (scheduler, feed reader, `/websub` callback with HMAC checks,
# batched detail fetch) against the fake YouTube and its hub on a simulated clock, for a scaled
# population with a scaled budget; **model** — `ytscale.capacity.strategies`, first on the run's
# own parameters (to hold it to the measurement), then at 100,000 users.

# %% tags=["parameters"]
reports_dir = "../reports"

# %%
import json
from pathlib import Path

import matplotlib.pyplot as plt

m = json.loads((Path(reports_dir) / "measurements.json").read_text())
COLOURS = {"api_polling": "tab:blue", "feed_polling": "tab:orange", "push": "tab:green"}
STYLES = {"api_polling": "-", "feed_polling": "-", "push": "--"}


def human(seconds):
    """A duration in the unit a reader would pick."""
    if seconds is None:
        return "n/a"
    for unit, size, limit in (("s", 1, 120), ("min", 60, 7_200), ("h", 3_600, 172_800)):
        if seconds < limit:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds / 86_400:,.1f} d"


s = m.get("strategies")
if not s:
    print("the strategies step did not run: `ytscale report` without `--skip strategies`")
else:
    cfg, measured, model = s["config"], s["strategies"], s["model"]
    names = list(measured)
    print(
        f"run: {cfg['sources']} sources (busy channels, measured "
        f"{measured[names[0]]['uploads_per_source_per_day']:.2f} uploads/source/day), "
        f"{cfg['days']} simulated days in {cfg['step_s']:.0f} s steps, "
        f"{cfg['push_loss']:.0%} of notifications lost"
    )
    print(
        "budgets (units/day):",
        cfg["daily_quota"],
        "— API polling gets its sources' share of 10,000 (its cost is linear in sources);",
        "the batched strategies the whole budget (a population share would starve batches that",
        "fill at 100K), and the table below shows what they used of it",
    )
    print("sync intervals (s):", s["intervals_s"])

# %% [markdown]
# ## At 100,000 users (model)
# Units per day against the shared 10,000-unit budget, freshness (upload → project), the worker
# slots the work keeps busy, and the largest population each strategy serves inside the budget.
# Push's mean can sit above its p95: the few notifications the hub loses wait for the next
# fallback feed read, hours later, and pull the mean up without touching the 95th percentile.

# %%
if s:
    full = model["full"]
    header = (
        f"{'strategy':>13} {'units/day':>10} {'in budget':>9} {'fresh mean':>11} {'p95':>10} "
        f"{'slots':>6} {'YT req/s':>9} {'max sources in 10K':>19}"
    )
    print(header)
    for f in full:
        biggest = f["max_sources_in_budget"]
        print(
            f"{f['strategy']:>13} {f['units_per_day']:>10,.0f} {str(f['within_budget']):>9} "
            f"{human(f['freshness_mean_s']):>11} {human(f['freshness_p95_s']):>10} "
            f"{f['slots_needed']:>6} {f['youtube_requests_per_s']:>9.1f} "
            f"{'unbounded' if biggest is None else f'{biggest:,.0f}':>19}"
        )
    d = model["full_deployment"]
    print(
        f"assumed: {d['uploads_per_source_per_day']:.3f} uploads/source/day; service times "
        f"{d['api_request_s']} s per API call, {d['feed_request_s']} s per feed read"
    )

# %%
if s:
    series = model["series"]
    fig, ax = plt.subplots(figsize=(7, 4))
    for name, units in series["units"].items():
        ax.plot(
            series["sources"], units, STYLES[name], marker="o", color=COLOURS[name], label=name
        )
    for f in model["full"]:
        if f["max_sources_in_budget"]:
            ax.plot(f["max_sources_in_budget"], 10_000, "x", color=COLOURS[f["strategy"]], ms=10)
    ax.axhline(10_000, color="red", linestyle="--", label="10,000 units/day (whole project)")
    ax.axvline(100_000, color="grey", linestyle=":", label="100K users")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("sources (one per user)")
    ax.set_ylabel("quota units per day (log)")
    ax.set_title("Quota per strategy vs population (x: largest population in budget)")
    ax.legend()
    plt.show()

# %% [markdown]
# ## Measured: freshness on the real pipeline
# Cumulative share of the run's uploads imported within a given delay. A curve that stops below
# 100% left uploads unimported at the end of the run (the API-polling budget ran out).

# %%
if s:
    fig, ax = plt.subplots(figsize=(7, 4))
    predicted_p50 = {f["strategy"]: f["freshness_p50_s"] for f in model["run"]}
    for name in names:
        r = measured[name]
        samples = r["samples"]
        label = f"{name}: {r['imported']} of {r['uploads']} imported"
        if samples:
            share = [(i + 1) / r["uploads"] for i in range(len(samples))]
            minutes = [x / 60 for x in samples]
            ax.step(minutes, share, where="post", color=COLOURS[name], label=label)
        else:
            ax.plot([], [], color=COLOURS[name], label=label)
        if predicted_p50.get(name):
            ax.axvline(predicted_p50[name] / 60, color=COLOURS[name], linestyle=":", alpha=0.7)
    ax.set_xscale("log")
    ax.set_xlabel("upload → project, minutes (log); dotted: the model's median")
    ax.set_ylabel("share of uploads imported")
    ax.set_ylim(0, 1.02)
    ax.legend()
    plt.show()

# %% [markdown]
# ## Measured vs model, on the run's parameters

# %%
if s:
    predicted = {f["strategy"]: f for f in model["run"]}
    print(
        f"{'strategy':>13} {'uploads':>7} {'imported':>8} {'units/day':>17} "
        f"{'fresh p50 (s)':>19} {'fresh p95 (s)':>19} {'feed reads':>10}"
    )
    for name in names:
        r, p = measured[name], predicted[name]
        f50 = r["freshness_s"]["p50"]
        f95 = r["freshness_s"]["p95"]
        print(
            f"{name:>13} {r['uploads']:>7} {r['imported']:>8} "
            f"{r['units_per_day']:>7.1f} / {p['units_per_day']:>7.1f}  "
            f"{'-' if f50 is None else f'{f50:,.0f}':>8} / {p['freshness_p50_s']:>8,.0f}  "
            f"{'-' if f95 is None else f'{f95:,.0f}':>8} / {p['freshness_p95_s']:>8,.0f}  "
            f"{r['feed_requests']:>10}"
        )
    print("(measured / model; freshness measured to one step)")
    for name in names:
        p = predicted[name]
        if not p["within_budget"]:
            interval = p["effective_interval_s"]
            print(
                f"{name}: the model needs {p['units_per_day']:,.0f} units/day against "
                f"{cfg['daily_quota'][name]:,}: each source is synced every "
                + ("never" if interval is None else f"{interval / 86_400:.1f} days")
                + " instead, so most uploads wait longer than the run lasts"
            )
    waiting = {
        "feed_polling": "uploaded since their feed's last read",
        "push": "their notification lost, awaiting the next fallback feed read",
    }
    for name in names:
        r = measured[name]
        if r["missing"]:
            age = r["missing_age_s"]
            why = (
                f"the budget ran out ({r['failed_syncs']} of {r['syncs']} syncs refused or failed)"
                if r["failed_syncs"]
                else waiting.get(name, "not found yet")
            )
            print(
                f"{name}: {r['missing']} of {r['uploads']} uploads not imported by the end "
                f"(median age {human(age['p50'])}, oldest {human(age['max'])}): {why}"
            )
    hub = measured.get("push", {}).get("hub")
    if hub:
        print("hub:", json.dumps(hub))

# %% [markdown]
# ## What this says
# Computed from the figures above, not typed in.

# %%
if s:
    by = {f["strategy"]: f for f in model["full"]}
    for name in names:
        f, r = by[name], measured[name]
        verdict = "fits" if f["within_budget"] else "does not fit"
        p50 = r["freshness_s"]["p50"]
        print(
            f"- {name}: at 100K users {f['units_per_day']:,.0f} units/day ({verdict} 10,000); "
            f"freshness {human(f['freshness_mean_s'])} mean (model); measured on the run: "
            f"{r['imported']}/{r['uploads']} uploads imported, p50 {human(p50)}"
        )
