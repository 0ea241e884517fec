"""The build: it refuses a non-empty database, sums up what it made, knows its own population."""

from __future__ import annotations

from dataclasses import replace

import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from reference.db import make_engine
from reference.models import User
from reference.settings import redact_url
from tests.ytscale.seed.helpers import SMALL, TINY
from ytscale.seed import SEEDED, Contents, SeedError, contents, seed, seeded_counts


def test_refuses_a_non_empty_database_and_leaves_it_alone(url: str) -> None:
    seed(url, TINY)
    with pytest.raises(SeedError, match=r"not empty \(3 users.*--replace"):
        seed(url, SMALL)
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            assert conn.scalar(select(func.count()).select_from(User)) == TINY.users
    finally:
        engine.dispose()


def test_summary_and_seeded_counts(url: str) -> None:
    summary = seed(url, SMALL, raw_baseline=True)
    assert summary.rows["projects"] == SMALL.projects
    assert summary.total_rows == sum(summary.rows.values()) > SMALL.projects
    assert summary.raw_seconds is not None and summary.raw_seconds > 0
    assert summary.as_dict()["ratio_to_raw"] == summary.seconds / summary.raw_seconds
    assert "seed / raw" in summary.format()
    assert seeded_counts(url, SMALL) == summary.rows
    assert seeded_counts(url, replace(SMALL, seed=2)) is None
    assert seeded_counts(url, replace(SMALL, users=100)) is None


def test_the_refusal_and_the_summary_hide_the_password(url: str) -> None:
    if make_url(url).get_backend_name() == "sqlite":
        pytest.skip("a SQLite file has no password")
    summary = seed(url, TINY)
    with_password = make_url(url).set(password="s3cret").render_as_string(hide_password=False)
    with pytest.raises(SeedError, match="not empty") as refused:
        seed(with_password, TINY)
    assert "s3cret" not in str(refused.value) and "***" in str(refused.value)
    assert seed(with_password, TINY, replace=True).database == redact_url(with_password)
    assert summary.database == redact_url(url)


def test_contents_judge_a_database_against_the_population(url: str) -> None:
    empty = contents(url, TINY)
    assert empty == Contents(dict.fromkeys(SEEDED, 0), is_population=False)
    rows = seed(url, TINY).rows
    assert contents(url, TINY) == Contents(rows, is_population=True)
    assert not contents(url, replace(TINY, seed=2)).is_population
    assert not contents(url, replace(TINY, videos_per_user=2)).is_population
