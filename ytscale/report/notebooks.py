"""Notebooks: jupytext percent scripts → executed with papermill (parameters cell) → HTML pages.

The ``.py`` scripts in ``notebooks/`` are what is committed; the ``.ipynb`` files are generated
into ``<out>/notebooks/`` and the pages into ``<out>/html/``, with an ``index.html`` that holds the
claims table and links every page.
"""

from __future__ import annotations

import html
import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

TITLES = {
    "capacity": "Capacity: model, simulation, and model vs measured",
    "strategies": "Beyond the report: a sync that fits the YouTube quota",
    "loadtest": "Load test: rate and latency over time",
    "benchmarks": "Benchmarks: before / after / ours",
    "claims": "Claims audit",
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
        body, _ = HTMLExporter().from_notebook_node(notebook)  # type: ignore[no-untyped-call]
        page = html_dir / f"{name}.html"
        page.write_text(body)
        pages.append(page)
    (html_dir / "index.html").write_text(index_page(out, pages))
    return pages


def index_page(out: Path, pages: list[Path]) -> str:
    """The report's front page: the claims table, the model's error and links to the notebooks."""
    claims = _read(out / "claims.json") or []
    measurements = _read(out / "measurements.json") or {}
    rows = "\n".join(
        f"<tr class='{html.escape(c['verdict'])}'><td>{html.escape(c['id'])}</td>"
        f"<td>{html.escape(c['claim'])}</td><td><b>{html.escape(c['verdict'])}</b></td>"
        f"<td>{html.escape(c['reported'])}</td><td>{html.escape(c['measured'])}</td>"
        f"<td>{html.escape(c['evidence'])}</td></tr>"
        for c in claims
    )
    links = "\n".join(
        f"<li><a href='{p.name}'>{html.escape(TITLES.get(p.stem, p.stem))}</a></li>" for p in pages
    )
    validation = measurements.get("validation") or {}
    error = validation.get("max_abs_error")
    model = (
        f"<p>Model vs measured (validation): largest error {error:.1%} "
        f"({html.escape(str(validation.get('broker')))} broker).</p>"
        if isinstance(error, float)
        else "<p>Model vs measured: not run.</p>"
    )
    return f"""<!doctype html>
<html><head><meta charset="utf-8"><title>ytscale report</title>
<style>
body {{ font-family: sans-serif; margin: 2em; }} table {{ border-collapse: collapse; }}
td, th {{ border: 1px solid #ccc; padding: 4px 8px; vertical-align: top; }}
tr.holds td:nth-child(3) {{ color: #070; }} tr.fails td:nth-child(3) {{ color: #b00; }}
tr.partly td:nth-child(3) {{ color: #a60; }} tr.unmeasured td:nth-child(3) {{ color: #666; }}
</style></head><body>
<h1>ytscale: audit of the P0 scalability report</h1>
{model}
<h2>Claims</h2>
<table><tr><th>id</th><th>claim</th><th>verdict</th><th>reported</th><th>measured</th>
<th>evidence</th></tr>
{rows}
</table>
<h2>Notebooks</h2><ul>{links}</ul>
<p>Raw data: <a href="../claims.json">claims.json</a>, <a href="../measurements.json">
measurements.json</a>, <a href="../manifest.json">manifest.json</a>.</p>
</body></html>
"""


def _read(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None
