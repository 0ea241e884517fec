"""The population builder on both databases: counts, uniqueness, catalogue, determinism, due times.

Populations are small (200 users × 5 videos); the 5M-row build is measured by ``ytscale seed
--raw-baseline``, not here.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, insert, select, text
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable

from reference import sources
from reference.db import make_engine
from reference.models import Base, ContentSource, Project, User
from reference.projects import NewProject, find_existing, upsert_project
from reference.videos import watch_url
from ytscale.fake.catalogue import EPOCH, Catalogue
from ytscale.seed import (
    SEEDED,
    SeedConfig,
    SeedError,
    raw_baseline_seconds,
    seed,
    seeded_counts,
)

SMALL = SeedConfig(users=200, videos_per_user=5, n_tools=20, n_categories=5)
TINY = SeedConfig(users=3, videos_per_user=1, n_tools=2, n_categories=1)


@pytest.fixture
def seeded(url: str) -> Iterator[Engine]:
    seed(url, SMALL)
    engine = make_engine(url)
    yield engine
    engine.dispose()


def dump(engine: Engine) -> dict[str, list[tuple[object, ...]]]:
    """Every seeded table's rows, in a stable order."""
    with engine.connect() as conn:
        return {
            name: [tuple(row) for row in conn.execute(select(table).order_by(*table.c))]
            for name, table in ((n, Base.metadata.tables[n]) for n in SEEDED)
        }


def test_counts_and_unique_pairs(seeded: Engine) -> None:
    n, m = SMALL.users, SMALL.videos_per_user
    with Session(seeded) as session:
        per_user = session.execute(
            select(Project.user_id, func.count(), func.count(func.distinct(Project.video_id)))
            .group_by(Project.user_id)
            .order_by(Project.user_id)
        ).all()
        assert session.scalar(select(func.count()).select_from(User)) == n
        assert session.scalar(select(func.count()).select_from(ContentSource)) == n
    assert per_user == [(u, m, m) for u in range(1, n + 1)]
    projects = Base.metadata.tables["projects"]
    with seeded.connect() as conn:
        copy = conn.execute(select(projects).limit(1)).mappings().one()
        with pytest.raises(IntegrityError, match="uq_projects_user_id_video_id|UNIQUE constraint"):
            conn.execute(insert(projects).values({**copy, "id": 10**9}))
        conn.rollback()


def test_sources_and_projects_are_the_catalogues_channels(seeded: Engine) -> None:
    """User u's source is channel u-1 at its newest video; every project is a public video."""
    catalogue = Catalogue(seed=SMALL.seed)
    m = SMALL.videos_per_user
    with Session(seeded) as session:
        for user_id in (1, 2, 57, 200):
            index = user_id - 1
            source = session.scalars(
                select(ContentSource).where(ContentSource.user_id == user_id)
            ).one()
            _, newest = catalogue.uploads(index, 0, m, at=SMALL.now)
            assert source.channel_id == catalogue.user_channel_id(index)
            assert source.uploads_playlist_id == catalogue.uploads_playlist_id(index)
            # A sync pages newest-first until it meets this id: it sees only later uploads.
            assert source.last_video_id == (newest[0].id if newest else None)
            projects = session.scalars(select(Project).where(Project.user_id == user_id)).all()
            own = {p.video_id for p in projects if p.channel_id == source.channel_id}
            assert own == {video.id for video in newest}
            for project in projects:
                located = catalogue.locate_video(project.video_id, at=SMALL.now)
                assert located is not None, f"{project.video_id} is not public at seed time"
                assert project.channel_id == catalogue.channel_id(located[0])
                assert project.external_url == watch_url(project.video_id)


def test_small_channels_borrow_videos_of_others(seeded: Engine) -> None:
    catalogue = Catalogue(seed=SMALL.seed)
    small = next(i for i in range(SMALL.users) if catalogue.video_count(i, SMALL.now) == 0)
    with Session(seeded) as session:
        channels = session.scalars(select(Project.channel_id).where(Project.user_id == small + 1))
        assert len(set(channels)) == SMALL.videos_per_user


def test_same_seed_same_rows_other_seed_other_rows(url: str) -> None:
    engine = make_engine(url)
    try:
        seed(url, SMALL)
        first = dump(engine)
        seed(url, SMALL, replace=True)
        assert dump(engine) == first
        seed(url, replace(SMALL, seed=2), replace=True)
        other = dump(engine)
    finally:
        engine.dispose()
    assert other["projects"] != first["projects"]
    assert other["content_sources"] != first["content_sources"]


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


def test_sources_fall_due_evenly_from_now(url: str) -> None:
    """The scheduler's query sees 1/96 of the sources per 15-minute window, from now on."""
    config = replace(TINY, users=960)
    seed(url, config)
    engine = make_engine(url)
    share = config.users // 96
    try:
        with Session(engine) as session:
            due = [
                len(sources.due_sources(session, config.now + k * config.window, config.users))
                for k in range(-1, 96)
            ]
    finally:
        engine.dispose()
    assert due[0] == 0, "nothing was due before the window that ends at now"
    windows = [after - before for before, after in zip(due, due[1:], strict=False)]
    assert all(share - 1 <= count <= share + 1 for count in windows), windows
    assert due[-1] == config.users


def test_seeded_rows_serve_the_pipeline(seeded: Engine) -> None:
    """Timestamps read back, claims take the due sources, new ids follow the seeded ones."""
    with Session(seeded) as session, session.begin():
        claimed = sources.claim_due(session, now=SMALL.now, limit=SMALL.users)
        assert SMALL.users // 96 <= len(claimed) <= SMALL.users // 96 + 1
        assert all(s.next_sync_at.replace(tzinfo=UTC) <= SMALL.now for s in claimed)
        video = session.scalars(select(Project.video_id).where(Project.user_id == 7)).first()
        assert video is not None and video in find_existing(session, 7, [video])
        added = upsert_project(session, 7, NewProject.from_url(watch_url("dQw4w9WgXcQ")))
    assert added.created and added.project_id == SMALL.projects + 1


def test_rebuilding_constraints_leaves_the_models_intact(url: str) -> None:
    seed(url, TINY)
    ddl = str(CreateTable(Base.metadata.tables["projects"]).compile(dialect=postgresql.dialect()))
    assert "uq_projects_user_id_video_id" in ddl and "fk_projects_user_id_users" in ddl


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


def test_raw_baseline_leaves_no_scratch_behind(url: str, tmp_path: Path) -> None:
    assert raw_baseline_seconds(url, {name: 10 for name in SEEDED}, EPOCH) > 0
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                left = "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ytscale_raw_%'"
                assert conn.scalars(text(left)).all() == []
            else:
                assert [p.name for p in tmp_path.iterdir() if "raw" in p.name] == []
    finally:
        engine.dispose()
