"""The run's conclusion, its Markdown summary, and the comparison of two runs."""

import json
from pathlib import Path
from typing import Any

import pytest

from reference.settings import PROJECT_ROOT
from ytscale.report.summary import compare, conclusion, markdown, provenance

CLAIMS = [
    {"id": "C1", "claim": "fast | lookup", "verdict": "holds", "reported": "r", "measured": "2×",
     "evidence": "e"},
    {"id": "C2", "claim": "dedup", "verdict": "fails", "reported": "r", "measured": "6 projects",
     "evidence": "e"},
    {"id": "C10", "claim": "units", "verdict": "fails", "reported": "r", "measured": "1 unit",
     "evidence": "e"},
]  # fmt: skip
LIMITS = [
    {"name": "quota", "demand": 9_600_000.0, "capacity": 10_000, "unit": "units/day"},
    {"name": "worker_slots", "demand": 277.8, "capacity": 10, "unit": "busy slots"},
    {"name": "rate_limit", "demand": 5.0, "capacity": 16.7, "unit": "tasks/s"},
]
MEASUREMENTS = {"capacity": {"users": 100_000, "constraints_at_users": LIMITS}}
MANIFEST = {
    "git_sha": "0123456789abcdef", "git_dirty": False, "argv": ["--quick"],
    "machine": {"cpus": 2, "platform": "Linux", "load_average": [1.5, 1.0, 0.5]},
    "settings": {"database_url": "sqlite:///x.db", "redis_url": "fakeredis://",
                 "broker_url": "memory://"},
}  # fmt: skip


def write_run(out: Path, claims: list[dict[str, Any]], manifest: dict[str, Any]) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    (out / "claims.json").write_text(json.dumps(claims))
    (out / "measurements.json").write_text(json.dumps(MEASUREMENTS))
    (out / "manifest.json").write_text(json.dumps(manifest))
    return out


def test_the_conclusion_counts_verdicts_and_names_the_binding_constraint() -> None:
    found = conclusion(CLAIMS, MEASUREMENTS)
    assert found.counts == {"holds": 1, "fails": 2}
    assert [x.name for x in found.exceeded] == ["quota", "worker_slots"]  # worst first
    said = " ".join(found.sentences())
    assert "Of the report's 3 claims: 1 holds, 2 fails." in said
    assert "binds first is quota: 9,600,000 units/day needed against 10,000 (960.0× over)" in said
    assert "also over are worker_slots 27.8×" in said


def test_without_a_capacity_run_readiness_is_not_judged() -> None:
    assert "not judged" in " ".join(conclusion(CLAIMS, {}).sentences())


def test_the_markdown_summary_has_the_conclusion_the_table_and_the_provenance(
    tmp_path: Path,
) -> None:
    text = markdown(write_run(tmp_path, CLAIMS, MANIFEST))
    assert "| C2 | **fails** | dedup | 6 projects |" in text
    assert "fast \\| lookup" in text  # a pipe in a cell cannot break the table
    assert "commit 0123456789ab;" in text and "reproduce with `./do report --quick`" in text
    assert "load average 1.50, 1.00, 0.50" in text


def test_provenance_says_when_there_is_no_manifest() -> None:
    assert "no manifest.json" in provenance({})


def test_compare_lists_only_what_changed_in_claim_order(tmp_path: Path) -> None:
    old = write_run(tmp_path / "old", CLAIMS, MANIFEST)
    changed = [dict(c) for c in CLAIMS]
    changed[1] |= {"verdict": "holds", "measured": "1 project"}
    changed[2] |= {"measured": "2 units"}
    new = write_run(tmp_path / "new", changed, MANIFEST | {"git_sha": "fedcba9876543210"})
    text = compare(old, new)
    assert "| C2 | fails → holds | 6 projects → 1 project |" in text
    assert "| C10 | fails | 1 unit → 2 units |" in text
    assert "| C1 |" not in text
    assert text.index("| C2 |") < text.index("| C10 |")
    assert "2 of 3 claims changed" in text and "commit fedcba987654" in text


def test_compare_of_identical_runs_says_nothing_changed(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", CLAIMS, MANIFEST)
    assert "no claim changed" in compare(run, run)


def test_compare_names_the_missing_run_and_what_to_do(tmp_path: Path) -> None:
    run = write_run(tmp_path / "run", CLAIMS, MANIFEST)
    with pytest.raises(ValueError, match=r"empty.*claims\.json is missing: run ./do report"):
        compare(tmp_path / "empty", run)


def test_provenance_shows_no_absolute_path_of_this_machine() -> None:
    where = {
        "argv": ["--out", "/tmp/elsewhere/report1", "--quick"],
        "settings": {"database_url": f"sqlite:///{PROJECT_ROOT / 'var' / 'ytscale.db'}"},
    }
    line = provenance(where)
    assert "database_url=sqlite:///var/ytscale.db" in line
    assert "`./do report --out …/report1 --quick`" in line
    assert "/tmp" not in line and str(PROJECT_ROOT) not in line
