"""Reading query plans: the same names and verdicts from SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select

from reference.models import Project
from ytscale.instruments.plans import explain, recording


def test_recording_keeps_the_sql_and_parameters_as_sent(engine: Engine) -> None:
    with recording(engine) as sent, engine.connect() as conn:
        conn.execute(select(Project.id).where(Project.user_id == 7))
    assert len(sent) == 1
    sql, parameters = sent[0]
    assert "FROM projects" in sql and 7 in (
        parameters.values() if isinstance(parameters, dict) else parameters
    )


def test_a_sort_on_an_unindexed_column_reads_everything(engine: Engine) -> None:
    plan = explain(engine, "SELECT id FROM projects ORDER BY title")
    assert plan.full_scans == {"projects"} and plan.sorts and not plan.searched, plan.text


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize(
    ("sql", "index"),
    [
        ("SELECT title FROM projects WHERE id = 1", "pk_projects"),
        (
            "SELECT id FROM projects WHERE user_id = 1 AND video_id = 'x'",
            "uq_projects_user_id_video_id",
        ),
        (
            "SELECT id FROM content_sources WHERE is_active = 1 AND next_sync_at < '2030'",
            "ix_content_sources_due",
        ),
    ],
    ids=["rowid", "unique", "index"],
)
def test_sqlite_implicit_indexes_go_by_their_constraint_names(
    engine: Engine, sql: str, index: str
) -> None:
    plan = explain(engine, sql)
    assert plan.searched == {index} and not plan.full_scans, plan.text
