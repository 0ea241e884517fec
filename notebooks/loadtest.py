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
# # Load test
# Request rate and p50/p95/p99 latency over time, from Locust's CSV history
# (`reports/loadtest/*_stats_history.csv`), and whether the thresholds were met.

# %% tags=["parameters"]
reports_dir = "../reports"
max_p95_ms = 500.0
max_failure_ratio = 0.01

# %%
import csv
from pathlib import Path

import matplotlib.pyplot as plt

histories = sorted((Path(reports_dir) / "loadtest").glob("*_stats_history.csv"))
print("histories:", [h.name for h in histories] or "none: the load test did not run")


def num(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return float("nan")


# %%
for path in histories:
    rows = [r for r in csv.DictReader(path.open()) if r.get("Name") == "Aggregated"]
    if not rows:
        print(f"{path.name}: no aggregated rows")
        continue
    t0 = num(rows[0]["Timestamp"])
    t = [num(r["Timestamp"]) - t0 for r in rows]
    fig, (a1, a2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    a1.plot(t, [num(r["Requests/s"]) for r in rows], label="requests/s")
    a1.plot(t, [num(r["Failures/s"]) for r in rows], label="failures/s")
    a1.legend()
    for q in ("50%", "95%", "99%"):
        a2.plot(t, [num(r[q]) for r in rows], label=f"p{q[:-1]}")
    a2.axhline(max_p95_ms, color="red", linestyle="--", label=f"p95 threshold {max_p95_ms:g} ms")
    a2.set_xlabel("s")
    a2.set_ylabel("ms")
    a2.legend()
    fig.suptitle(path.name)
    plt.show()
    last = rows[-1]
    requests, failures = num(last["Total Request Count"]), num(last["Total Failure Count"])
    p95 = num(last["95%"])
    ratio = failures / requests if requests else float("nan")
    print(f"{path.name}: {requests:,.0f} requests, failure ratio {ratio:.2%}, final p95 {p95:g} ms")
    print(
        "p95 threshold met:",
        p95 <= max_p95_ms,
        "| failure threshold met:",
        ratio <= max_failure_ratio,
    )

# %% [markdown]
# ## Latency from the intended start, and the generator's verdict
# `*_latency.csv`: exact percentiles (HDR histograms) timed from when each request was *due*
# (corrected) and from when it was *sent*; the gap is time spent waiting behind a slow answer
# or a late generator. `*_generator.csv`: arrivals due, late and dropped, schedule lag, CPU; a
# run marked INVALID measured its generator, not the server.

# %%
for path in sorted((Path(reports_dir) / "loadtest").glob("*_latency.csv")):
    rows = {r["Name"]: r for r in csv.DictReader(path.open())}
    total = rows.get("Aggregated")
    if total is None:
        continue
    names = [n for n in rows if n != "Aggregated"]
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(names) + 1.5))
    y = range(len(names))
    ax.barh([i + 0.2 for i in y], [num(rows[n]["corrected p95"]) for n in names], 0.4,
            label="p95 corrected")
    ax.barh([i - 0.2 for i in y], [num(rows[n]["sent p95"]) for n in names], 0.4,
            label="p95 sent")
    ax.set_yticks(list(y), names)
    ax.set_xlabel("ms")
    ax.legend()
    fig.suptitle(path.name)
    plt.show()
    for q in ("p50", "p95", "p99", "p99.9"):
        print(f"{q:>6}: corrected {num(total['corrected ' + q]):8.3f} ms"
              f"   sent {num(total['sent ' + q]):8.3f} ms")
    verdict = path.with_name(path.name.replace("_latency.csv", "_generator.csv"))
    if verdict.exists():
        for field, value in csv.reader(verdict.open()):
            print(f"{field}: {value}")

# %% [markdown]
# ## Capacity from load: the knee and the Universal Scalability Law
# `python -m loadtests.knee` steps the offered rate up until the corrected p95 or the error
# ratio breaks (`knee/knee.csv`). Throughput and p95 against the offered rate; then the USL
# fitted to (N = X·R, X) over the steps whose generator kept up, with its 95 % band, drawn no
# further than twice the largest measured concurrency.

# %%
knee_csv = Path(reports_dir) / "loadtest" / "knee" / "knee.csv"
if not knee_csv.exists():
    print("no step-load search in this report: run python -m loadtests.knee")
else:
    import numpy as np

    from loadtests.knee import Step, usl

    rows = list(csv.DictReader(knee_csv.open()))
    steps = [
        Step(**{k: (v if k == "generator" else float(v)) for k, v in row.items()
                if k not in ("concurrency", "held")})
        for row in rows
    ]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 4))
    offered = [s.offered_rps for s in steps]
    a1.plot(offered, [s.achieved_rps for s in steps], "o-", label="achieved")
    a1.plot(offered, offered, ":", color="grey", label="offered")
    a1.set_xlabel("offered requests/s")
    a1.set_ylabel("requests/s")
    twin = a1.twinx()
    twin.plot(offered, [s.p95_ms for s in steps], "s--", color="red", label="p95 corrected")
    twin.set_ylabel("ms")
    a1.legend(loc="upper left")
    twin.legend(loc="lower right")
    fit = usl(steps)
    kept = [s for s in steps if s.generator == "valid"]
    a2.plot([s.concurrency for s in kept], [s.achieved_rps for s in kept], "o", label="steps")
    if fit is not None:
        n = np.linspace(0.01, 2 * fit.largest, 200)
        bands = [fit.band(v) for v in n]
        a2.plot(n, [fit.throughput(v) for v in n], label="USL fit")
        a2.fill_between(n, [b[0] for b in bands], [b[1] for b in bands], alpha=0.2,
                        label="95 % band")
        print(f"USL: lambda {fit.lam:.2f}/s, sigma {fit.sigma:.4f}, kappa {fit.kappa:.6f}, "
              f"peak at N = {fit.peak:.1f}")
    else:
        print("fewer than 4 steps the generator kept up with: no USL fit")
    a2.set_xlabel("N = X·R (Little's law)")
    a2.set_ylabel("requests/s")
    a2.legend()
    plt.show()
    # The search's judgement (its p95 and error thresholds, not this page's), step by step.
    held = [s for s, row in zip(steps, rows) if row["held"] == "1"]
    print(f"{len(steps)} steps; knee (the highest rate the search held):",
          f"{held[-1].offered_rps:g} requests/s" if held else "none")
