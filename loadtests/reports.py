"""The run's own figures next to Locust's reports: exact latencies, arrivals, the generator verdict.

With ``--csv PREFIX``: ``PREFIX_latency.csv`` (per request name and ``Aggregated``: requests,
corrected and sent p50/p90/p95/p99/p99.9/max/mean in ms, from :mod:`loadtests.latency`) and
``PREFIX_generator.csv`` (the verdict and its reasons, arrivals due/late/dropped, schedule lag,
generator CPU: :mod:`loadtests.generator`). With ``--html FILE``: the same two tables, and the
thresholds missed, as a section at the top of Locust's report.
"""

from __future__ import annotations

import csv
import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from locust.env import Environment
from locust.stats import PERCENTILES_TO_REPORT, StatsCSV

from loadtests.generator import Verdict
from loadtests.latency import Latencies

SECTION_ID = "ytscale-verdict"


def write(
    environment: Environment, latencies: Latencies, verdict: Verdict, missed: Sequence[str]
) -> None:
    options = environment.parsed_options
    rows = latencies.rows()
    if prefix := getattr(options, "csv_prefix", None):
        # Locust rewrites PREFIX_stats.csv on a one-second timer and not again at the end, so
        # the requests of a run's last second could be missing from it; written now from the
        # final stats, it counts the same requests as the latency CSV beside it.
        with open(f"{prefix}_stats.csv", "w", newline="") as f:
            StatsCSV(environment, PERCENTILES_TO_REPORT).requests_csv(csv.writer(f))
        with open(f"{prefix}_latency.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        with open(f"{prefix}_generator.csv", "w", newline="") as f:
            csv.writer(f).writerows([("Field", "Value"), *verdict.rows()])
    html_file = getattr(options, "html_file", None)
    if html_file and Path(html_file).exists():
        inject(Path(html_file), section(rows, verdict, missed, options))


def section(
    rows: Sequence[dict[str, Any]], verdict: Verdict, missed: Sequence[str], options: Any
) -> str:
    basis = getattr(options, "latency_basis", "corrected")
    state = "valid" if verdict.valid else "INVALID: " + "; ".join(verdict.reasons)
    judged = "every threshold held" if not missed else "thresholds missed: " + "; ".join(missed)
    head = "".join(f"<th>{html.escape(str(k))}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in row.values()) + "</tr>" for row in rows
    )
    generator = "".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in verdict.rows()
    )
    return (
        f'<section id="{SECTION_ID}" style="font-family:sans-serif;padding:1em">'
        f"<h2>Generator: {html.escape(state)}</h2><p>{html.escape(judged)} "
        f"(latency thresholds on the {html.escape(basis)} latency)</p>"
        "<h3>Latency, ms: corrected (from the intended start) and sent (from the send); "
        "HDR histograms</h3>"
        f"<table border=1 cellpadding=3><tr>{head}</tr>{body}</table>"
        f"<h3>Arrivals and generator</h3><table border=1 cellpadding=3>{generator}</table>"
        "</section>"
    )


def inject(path: Path, fragment: str) -> None:
    """Put ``fragment`` first in the page's body (replacing one put there before)."""
    text = path.read_text(encoding="utf-8")
    start = text.find(f'<section id="{SECTION_ID}"')
    if start >= 0:
        text = text[:start] + text[text.index("</section>", start) + len("</section>") :]
    at = text.find("<body")
    at = text.index(">", at) + 1 if at >= 0 else 0
    path.write_text(text[:at] + fragment + text[at:], encoding="utf-8")


def _cell(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, float) else html.escape(str(value))
