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
# # Claims audit
# Every claim of the P0 report with the verdict computed by `ytscale.report.claims` from this
# run's measurements: holds, partly, fails, or unmeasured when its input is missing.

# %% tags=["parameters"]
reports_dir = "../reports"

# %%
import json
from collections import Counter
from html import escape
from pathlib import Path

from IPython.display import HTML, Markdown, display

claims = json.loads((Path(reports_dir) / "claims.json").read_text())
print(dict(Counter(c["verdict"] for c in claims)))
colours = {"holds": "#070", "partly": "#a60", "fails": "#b00", "unmeasured": "#666"}
rows = "".join(
    f"<tr><td>{c['id']}</td><td>{escape(c['claim'])}</td>"
    f"<td style='color:{colours[c['verdict']]}'><b>{c['verdict']}</b></td>"
    f"<td>{escape(c['reported'])}</td><td>{escape(c['measured'])}</td><td>{escape(c['evidence'])}</td></tr>"
    for c in claims
)
display(
    HTML(
        "<table><tr><th>id</th><th>claim</th><th>verdict</th><th>reported</th><th>measured</th>"
        f"<th>evidence</th></tr>{rows}</table>"
    )
)

# %% [markdown]
# ## The report's recommended tests, on trial (C17)
# Its four tests, ported with their assertions and sizes, run against its "before" code, its
# "after" code and ours. A test verifies a fix only if it asserts something and can fail on
# "before"; runs passed per variant.

# %%
trial = json.loads((Path(reports_dir) / "measurements.json").read_text()).get("trial")
if trial is None:
    print("not measured in this run")
else:
    lines = [
        "| test | asserts | before | after | ours | can fail on before | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, t in trial["tests"].items():
        asserts = f"`{t['asserts']}`" if t["asserts"] else "nothing"
        asserts += f" on {t['store']}" if "store" in t else ""
        cells = " | ".join(f"{v['runs'] - v['failed']}/{v['runs']}" for v in t["variants"].values())
        can_fail = "yes" if t["can_fail_on_before"] else "**no**"
        lines.append(f"| {name} | {asserts} | {cells} | {can_fail} | {t['note']} |")
    display(Markdown("\n".join(lines)))
