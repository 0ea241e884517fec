"""The report's index page and the frame around each notebook page."""

import json
from pathlib import Path

from ytscale.report.notebooks import SECTIONS, TITLES, _framed, anchor, index_page


def test_the_index_opens_with_the_conclusion_and_links_claims_to_their_figures(
    tmp_path: Path,
) -> None:
    claims = [
        {"id": "C3", "claim": "atomic", "verdict": "fails", "reported": "0%",
         "measured": "8 lost", "evidence": "e"},
        {"id": "C15", "claim": "breaker", "verdict": "holds", "reported": "fast",
         "measured": "5 calls", "evidence": "e"},
    ]  # fmt: skip
    (tmp_path / "claims.json").write_text(json.dumps(claims))
    pages = [tmp_path / "html" / "benchmarks.html", tmp_path / "html" / "claims.html"]
    page = index_page(tmp_path, pages)
    assert page.index("Of the report's 2 claims: 1 holds, 1 fails.") < page.index("<table>")
    assert "<a href='benchmarks.html#Quota-under-contention-(C3)'>C3</a>" in page
    assert "<a href='claims.html'>C15</a>" in page  # no section of its own: the claims page
    assert "no manifest.json" in page


def test_a_claim_whose_page_did_not_render_is_not_a_dead_link(tmp_path: Path) -> None:
    (tmp_path / "claims.json").write_text(
        json.dumps(
            [
                {
                    "id": "C6",
                    "claim": "c",
                    "verdict": "fails",
                    "reported": "r",
                    "measured": "m",
                    "evidence": "e",
                }
            ]
        )  # fmt: skip
    )
    assert "<td>C6</td>" in index_page(tmp_path, [])


def test_every_section_names_a_rendered_page_and_a_heading_of_it() -> None:
    notebooks = Path(__file__).parents[3] / "notebooks"
    for page, heading in SECTIONS.values():
        assert page in TITLES
        assert f"# ## {heading}\n" in (notebooks / f"{page}.py").read_text(), heading


def test_anchors_follow_nbconvert() -> None:
    assert anchor("Duplicate lookup (C1, C2)") == "Duplicate-lookup-(C1,-C2)"
    assert anchor("users (10K–100K)") == "users-(10K%E2%80%93100K)"


def test_a_page_links_back_to_its_source_and_carries_provenance(tmp_path: Path) -> None:
    (tmp_path / "manifest.json").write_text(json.dumps({"git_sha": "abcdef1234567890"}))
    page = _framed("<html><body class='x'><p>figure</p></body></html>", "capacity",
                   Path("/somewhere/notebooks"), tmp_path)  # fmt: skip
    assert page.index("← report") < page.index("figure") < page.index("commit abcdef123456")
    assert "source <code>notebooks/capacity.py</code>" in page
    assert "../notebooks/capacity.ipynb" in page and "/somewhere" not in page
