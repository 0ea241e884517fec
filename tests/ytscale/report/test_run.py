"""A CI-sized run of the main job: notebooks executed on small parameters, every output written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from reference.settings import PROJECT_ROOT, Settings
from tests.ytscale.report.quickrun import SKIPPED, QuickRun
from ytscale.report.claims import CLAIMS, validate_claims
from ytscale.report.run import NOTEBOOKS, STEPS, bench_servers, finite, main, parser


@pytest.mark.slow
def test_quick_run_writes_every_output(quick_run: QuickRun) -> None:
    code, out, err, tmp_path = quick_run.code, quick_run.out, quick_run.err, quick_run.path
    skipped = SKIPPED

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
    windows = json.loads((tmp_path / "measurements.json").read_text())["windows"]
    assert {r["metric"] for p in windows["points"] for r in p["rows"]} >= {
        "syncs in the window",
        "window end s",
    }
    index = (tmp_path / "html" / "index.html").read_text()
    assert all(f">{c.id}<" in index for c in CLAIMS)
    for name in NOTEBOOKS:
        page = (tmp_path / "html" / f"{name}.html").read_text()
        assert "Traceback" not in page
        assert "hl-ipython3" not in page  # code is hidden; the executed notebook has it
        assert str(tmp_path) not in page and str(PROJECT_ROOT) not in page
        assert (tmp_path / "notebooks" / f"{name}.ipynb").exists()
    assert f"step {len(STEPS)}/{len(STEPS)} notebooks" in err
    summary = (tmp_path / "summary.md").read_text()
    assert (
        summary.count("\n| C") == len(CLAIMS) and "reproduce with `./do report --quick" in summary
    )
    assert main(["--compare", str(tmp_path), "--out", str(tmp_path)]) == 0
    assert "no claim changed" in (tmp_path / "compare.md").read_text()


def test_unknown_steps_are_refused() -> None:
    with pytest.raises(SystemExit):
        parser().parse_args(["--skip", "nonsense"])


def test_json_gets_no_infinities() -> None:
    assert finite({"a": [float("inf"), 1.5, float("nan")], "b": (2,)}) == {
        "a": [None, 1.5, None],
        "b": [2],
    }


def test_the_benchmarks_run_on_the_report_s_real_engines() -> None:
    real = Settings(
        database_url="postgresql+psycopg://postgres@127.0.0.1/test", redis_url="redis://h:6379/0"
    )
    assert bench_servers(real) == {
        "YTSCALE_TEST_POSTGRES_URL": "postgresql+psycopg://postgres@127.0.0.1/test",
        "YTSCALE_TEST_REDIS_URL": "redis://h:6379/0",
    }
    assert bench_servers(Settings()) == {}


def test_compare_without_a_previous_run_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--compare", str(tmp_path / "old"), "--out", str(tmp_path)]) == 2
    assert "run ./do report there first" in capsys.readouterr().err
