"""Each backend's bulk load: constraints rebuilt and enforced, rows the pipeline reads back."""

from __future__ import annotations

from datetime import UTC

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.schema import CreateTable

from reference import sources
from reference.models import Base, ContentSource, Project, User
from reference.projects import NewProject, find_existing, upsert_project
from reference.videos import watch_url
from tests.ytscale.seed.helpers import SMALL, TINY
from ytscale.seed import seed


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
