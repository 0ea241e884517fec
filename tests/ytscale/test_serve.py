"""``ytscale serve``'s start: it seeds an empty database once and says what a database holds."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

from ytscale.seed import SeedConfig
from ytscale.serve import _ensure_seeded

TINY = SeedConfig(users=3, videos_per_user=2, n_tools=2, n_categories=1)


def test_seeds_an_empty_database_once_and_names_a_foreign_one(tmp_path: Path) -> None:
    url, out = f"sqlite:///{tmp_path / 'serve.db'}", io.StringIO()
    assert _ensure_seeded(url, TINY, False, out).startswith("3 users, 6 projects (seeded in ")
    assert "seeding 3 users" in out.getvalue()
    assert _ensure_seeded(url, TINY, False, out) == "3 users, 6 projects (seeded before)"
    other = replace(TINY, seed=2)
    assert _ensure_seeded(url, other, False, out).startswith("3 users, 6 projects (not the ")
    assert "(seeded in " in _ensure_seeded(url, other, True, out)
    assert _ensure_seeded(url, other, False, out).endswith("(seeded before)")
