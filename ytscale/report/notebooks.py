"""Notebooks: jupytext percent scripts → executed with papermill (parameters cell) → HTML pages.

The ``.py`` scripts in ``notebooks/`` are what is committed; the ``.ipynb`` files are generated
into ``<out>/notebooks/`` and the pages into ``<out>/html/``, with an ``index.html`` that opens
with the run's conclusion, then the claims table, each claim linked to the section that decided it.
Pages hide their code (a reviewer reads figures first); each links its source and executed
notebook, and says what produced it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ytscale.report.summary import conclusion, provenance, read_run

TITLES = {
    "capacity": "Capacity: model, simulation, and model vs measured",
    "strategies": "Beyond the report: a sync that fits the YouTube quota",
    "loadtest": "Load test: rate and latency over time",
    "benchmarks": "Benchmarks: before / after / ours",
    "claims": "Claims audit",
}

#: Where each claim's deciding figure is: page and section heading (nbconvert's anchor is the
#: heading with spaces as dashes). A claim not listed links to the claims page.
SECTIONS = {
    **dict.fromkeys(("C1", "C2"), ("benchmarks", "Duplicate lookup (C1, C2)")),
    "C3": ("benchmarks", "Quota under contention (C3)"),
    **dict.fromkeys(("C4", "C5"), ("benchmarks", "Tag matching: statements per video (C4, C5)")),
    **dict.fromkeys(
        ("C9", "C10", "C11"), ("benchmarks", "Quota accounting over a channel import (C9–C11)")
    ),
    **dict.fromkeys(("C6", "C8", "C14"), ("capacity", "Sources per window vs worker slots")),
    **dict.fromkeys(("C7", "C16"), ("capacity", "Sync-cycle time vs users (10K–100K)")),
    "C12": ("capacity", "Quota units per day vs the 10,000 budget: the report's sync and ours"),
    "C13": ("capacity", "Whole windows: the model against the real pipeline"),
    "C17": ("claims", "The report's recommended tests, on trial (C17)"),
}


def render(
    names: Iterable[str],
    source_dir: Path,
    out: Path,
    parameters: Mapping[str, Any],
    log: Callable[[str], None] = lambda _: None,
) -> list[Path]:
    """Execute each notebook headless with ``parameters`` and write its HTML page and the index."""
    import jupytext
    import nbformat
    import papermill
    from nbconvert import HTMLExporter

    executed_dir, html_dir = out / "notebooks", out / "html"
    executed_dir.mkdir(parents=True, exist_ok=True)
    html_dir.mkdir(parents=True, exist_ok=True)
    pages = []
    for name in names:
        log(f"  notebook {name}: executing")
        source = executed_dir / f"{name}.source.ipynb"
        executed = executed_dir / f"{name}.ipynb"
        # nbformat and nbconvert ship no type hints.
        nbformat.write(jupytext.read(source_dir / f"{name}.py"), source)  # type: ignore[no-untyped-call]
        papermill.execute_notebook(
            str(source), str(executed), parameters=dict(parameters), kernel_name="python3",
            progress_bar=False, cwd=str(source_dir),
        )  # fmt: skip
        notebook = nbformat.read(executed, as_version=4)  # type: ignore[no-untyped-call]
        # No code (a reviewer reads figures first) and nothing fetched from a CDN: the pages are
        # read offline too, and opening one must not call out of the machine.
        exporter = HTMLExporter(  # type: ignore[no-untyped-call]
            exclude_input=True, mathjax_url="", require_js_url=""
        )
        body, _ = exporter.from_notebook_node(notebook)
        page = html_dir / f"{name}.html"
        page.write_text(_framed(body, name, source_dir, out))
        pages.append(page)
    (html_dir / "index.html").write_text(index_page(out, pages))
    return pages


def model_sentence(measurements: Mapping[str, Any]) -> str:
    """How well the capacity model predicted the measured windows, in one sentence."""
    windows = measurements.get("windows") or {}
    points = windows.get("points") or []
    if not points:
        return "Model vs measured: the capacity windows were not run."
    judged = [p for p in points if not p["saturated"]]
    error = windows.get("max_abs_error")
    worst = "no run could be judged" if error is None else f"largest model error {error:.1%}"
    return (
        f"Model vs measured: {len(points)} whole windows of "
        f"{windows['config']['sources']:,} syncs through the real pipeline "
        f"({windows['workers']} on the {windows['broker']} broker), {len(judged)} judged; "
        f"{worst} (aim: 5%)."
    )


def index_page(out: Path, pages: list[Path]) -> str:
    """The report's front page: the conclusion, the claims table, the model's error, the pages."""
    claims, measurements, manifest = read_run(out)
    sentences = conclusion(claims, measurements).sentences()
    said = "".join(f"<p>{html.escape(x, quote=False)}</p>" for x in sentences)
    rendered = {p.stem for p in pages}
    rows = "\n".join(
        f"<tr class='{html.escape(c['verdict'])}'><td>{_claim_link(c['id'], rendered)}</td>"
        f"<td>{html.escape(c['claim'])}</td><td><b>{html.escape(c['verdict'])}</b></td>"
        f"<td>{html.escape(c['reported'])}</td><td>{html.escape(c['measured'])}</td>"
        f"<td>{html.escape(c['evidence'])}</td></tr>"
        for c in claims
    )
    links = "\n".join(
        f"<li><a href='{p.name}'>{html.escape(TITLES.get(p.stem, p.stem))}</a></li>" for p in pages
    )
    model = f"<p>{html.escape(model_sentence(measurements))}</p>"
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>ytscale report</title>
<style>
body {{ font-family: sans-serif; margin: 2em; max-width: 80em; }}
table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; }}
tr.holds td:nth-child(3) {{ color: #070; }} tr.fails td:nth-child(3) {{ color: #b00; }}
tr.partly td:nth-child(3) {{ color: #a60; }} tr.unmeasured td:nth-child(3) {{ color: #666; }}
.conclusion {{ font-size: 1.1em; border-left: 4px solid #444; padding-left: 1em; }}
</style></head><body>
<h1>ytscale: audit of the P0 scalability report</h1>
<div class="conclusion">{said}</div>
{model}
<h2>Claims</h2>
<p>Each id links to the figure that decided its verdict.</p>
<table><tr><th>id</th><th>claim</th><th>verdict</th><th>reported</th><th>measured</th>
<th>evidence</th></tr>
{rows}
</table>
<h2>Pages</h2><ul>{links}</ul>
<p>Raw data: <a href="../claims.json">claims.json</a>, <a href="../measurements.json">
measurements.json</a>, <a href="../manifest.json">manifest.json</a>,
<a href="../summary.md">summary.md</a>.</p>
<p class="provenance"><small>{html.escape(provenance(manifest))}</small></p>
</body></html>
"""


def anchor(heading: str) -> str:
    """The id nbconvert gives a Markdown heading: dashes for spaces, non-ASCII percent-encoded."""
    return "".join(c if c.isascii() else quote(c) for c in heading.replace(" ", "-"))


def _claim_link(cid: str, rendered: set[str]) -> str:
    page, heading = SECTIONS.get(cid, ("claims", ""))
    if page not in rendered:
        return html.escape(cid)
    target = f"{page}.html" + (f"#{anchor(heading)}" if heading else "")
    return f"<a href='{html.escape(target, quote=True)}'>{html.escape(cid)}</a>"


def _framed(body: str, name: str, source_dir: Path, out: Path) -> str:
    """The page with a header linking back, to its source and executed notebook, and its origin."""
    _, _, manifest = read_run(out)
    source = f"{source_dir.name}/{name}.py"
    header = (
        "<div style='font-family: sans-serif; margin: 1em 2em'><a href='index.html'>← report</a>"
        f" · code hidden: source <code>{html.escape(source)}</code>, "
        f"<a href='../notebooks/{name}.ipynb'>executed notebook with code</a></div>"
    )
    footer = (
        "<div style='font-family: sans-serif; margin: 1em 2em'><small>"
        f"{html.escape(provenance(manifest))}</small></div>"
    )
    body = re.sub(r'<script src="">\s*</script>\n?', "", body)  # what the CDN URLs left
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + header, body, count=1)
    return body.replace("</body>", footer + "</body>", 1)
