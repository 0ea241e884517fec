"""A CI-sized run of the main job: notebooks executed on small parameters, every output written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ytscale.report.claims import CLAIMS, validate_claims
from ytscale.report.run import NOTEBOOKS, STEPS, finite, main, parser


@pytest.mark.slow
def test_quick_run_writes_every_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    skipped = ["seed", "loadtest", "bench"]
    code = main(["--quick", "--out", str(tmp_path), *[a for s in skipped for a in ("--skip", s)]])
    out, err = capsys.readouterr()

    assert code == 0, err
    claims = json.loads((tmp_path / "claims.json").read_text())
    assert validate_claims(claims) == []
    # Nothing this run measures may come out unmeasured; C1 needs the skipped benchmarks.
    unmeasured = {c["id"] for c in claims if c["verdict"] == "unmeasured"}
    assert unmeasured <= {"C1"}
    for claim in CLAIMS:
        assert claim.id in out  # the terminal table
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert [s["step"] for s in manifest["steps"]] == list(STEPS)
    assert {s["step"] for s in manifest["steps"] if s["status"] == "skipped"} == set(skipped)
    assert manifest["settings"]["database_url"]
    validation = json.loads((tmp_path / "measurements.json").read_text())["validation"]
    assert {r["metric"] for r in validation["rows"]} >= {"throughput syncs/s", "makespan s"}
    index = (tmp_path / "html" / "index.html").read_text()
    assert all(f">{c.id}<" in index for c in CLAIMS)
    for name in NOTEBOOKS:
        page = (tmp_path / "html" / f"{name}.html").read_text()
        assert "Traceback" not in page
        assert (tmp_path / "notebooks" / f"{name}.ipynb").exists()
    assert f"step {len(STEPS)}/{len(STEPS)} notebooks" in err


def test_unknown_steps_are_refused() -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["--skip", "nonsense"])


def test_json_gets_no_infinities() -> None:
    assert finite({"a": [float("inf"), 1.5, float("nan")], "b": (2,)}) == {
        "a": [None, 1.5, None],
        "b": [2],
    }
