"""Alembic from Python: head equals the models; 0002 repairs the report's duplicates, loses nothing.

The database is seeded at 0001 (the report's schema, keyed by URL) with one video under several URL
forms, links on every copy, import requests pointing at copies, and URLs that name no video.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, MetaData, Table, insert, select, text
from sqlalchemy.exc import IntegrityError

from reference import migrate
from reference.db import make_engine
from reference.models import Base
from reference.videos import watch_url

A, B = "dQw4w9WgXcQ", "9bZkp7q19f0"
T0 = datetime(2025, 11, 29, 10, 0, tzinfo=UTC)


def schema_diff(url: str) -> list[Any]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return list(compare_metadata(MigrationContext.configure(conn), Base.metadata))
    finally:
        engine.dispose()


def test_head_builds_exactly_the_models(url: str, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)  # no alembic.ini in sight: the package finds its migrations
    migrate.upgrade(url)
    assert migrate.current(url) == migrate.head() == "0004"
    assert schema_diff(url) == []


#: Tables revision 0003 adds (issue 7's quota-free sync); 0001 and 0002 know nothing of them.
TABLES_0003 = {"push_subscriptions", "pending_uploads"}


def _kinds(diff: list[Any], *, without: set[str] = TABLES_0003) -> list[str]:
    """The kinds of change in ``diff``, leaving out those on the tables named in ``without``."""
    kinds = []
    for change in diff:
        first = change[0] if isinstance(change[0], tuple) else change
        target = first[1]
        table = getattr(target, "table", target)
        if getattr(table, "name", None) not in without:
            kinds.append(first[0])
    return sorted(kinds)


def test_0001_is_the_reports_schema(url: str) -> None:
    migrate.upgrade(url, "0001")
    diff = schema_diff(url)
    # Exactly what 0002 changes: video_id and its unique constraint missing, the report's index
    # extra, no quarantine table.
    assert _kinds(diff) == [
        "add_column", "add_constraint", "add_index", "add_table", "remove_index"
    ], diff  # fmt: skip


def test_0003_adds_exactly_the_push_and_pending_tables(url: str) -> None:
    migrate.upgrade(url, "0002")
    diff = schema_diff(url)
    assert _kinds(diff) == [], diff
    assert _kinds(diff, without=set()) == ["add_index", "add_index", "add_table", "add_table"]


def test_0004_adds_exactly_the_subscription_lifecycle_columns(url: str) -> None:
    migrate.upgrade(url, "0003")
    assert _kinds(schema_diff(url)) == ["add_column"] * 4


def test_down_and_up_again_returns_to_head(url: str) -> None:
    migrate.upgrade(url)
    migrate.downgrade(url, "0001")
    assert migrate.current(url) == "0001"
    migrate.upgrade(url)
    assert schema_diff(url) == []


def test_stamp_adopts_a_database_built_from_the_models(url: str) -> None:
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    assert migrate.current(url) is None
    migrate.stamp(url)
    migrate.upgrade(url)  # nothing to do, and nothing fails
    assert migrate.current(url) == migrate.head() == "0004"


# --- 0002 on data -----------------------------------------------------------------------------

#: (id, user, url, tools, categories); ids 1-4 are one video for user 1, 6-7 one for user 2.
PROJECTS: list[tuple[int, int, str, list[int], list[int]]] = [
    (1, 1, watch_url(A), [1], []),
    (2, 1, f"https://youtu.be/{A}", [1, 2], [1]),
    (3, 1, f"https://www.youtube.com/shorts/{A}", [], [2]),
    (4, 1, f"m.youtube.com/watch?v={A}&t=42", [3], [1]),
    (5, 1, f"https://youtu.be/{B}", [2], []),
    (6, 2, watch_url(A), [], [1]),
    (7, 2, watch_url(A), [1], [1]),  # the same URL twice: a lost race
    (8, 1, "https://vimeo.com/12345", [3], [2]),
    (9, 2, "https://www.youtube.com/channel/UC123", [], []),
]
#: (import request id, project id it points at)
REQUESTS = [(1, 2), (2, 1), (3, 8), (4, None), (5, 7)]
#: After the merge: survivor id -> (tools, categories), the union over its copies.
SURVIVORS = {1: ({1, 2, 3}, {1, 2}), 5: ({2}, set()), 6: ({1}, {1})}
QUARANTINED = {8: "host 'vimeo.com'", 9: "names no single video"}
#: Link tables, the column naming the tag, and where PROJECTS lists the tags.
LINKS = (("project_tools", "tool_id", 3), ("project_categories", "category_id", 4))
#: Extra distinct videos so the backfill pages more than once (it reads 5,000 rows a batch).
FILLER = 5_100


def seed_0001(url: str) -> None:
    engine = make_engine(url)
    tables = _reflect(engine)
    stamp = {"created_at": T0, "updated_at": T0}

    def project(pid: int, user: int, external_url: str) -> dict[str, Any]:
        return {"id": pid, "user_id": user, "external_url": external_url, "title": "", **stamp}

    rows = [project(pid, user, u) for pid, user, u, _, _ in PROJECTS]
    rows += [project(100 + n, 3, watch_url(f"f{n:010d}")) for n in range(FILLER)]
    # A duplicate and an unparseable URL past the first batch.
    rows += [
        project(100 + FILLER, 3, f"youtu.be/f{FILLER - 1:010d}"),
        project(101 + FILLER, 3, "not a url"),
    ]
    with engine.begin() as conn:
        conn.execute(
            insert(tables["users"]),
            [{"id": u, "name": f"u{u}", "created_at": T0} for u in (1, 2, 3)],
        )
        for vocabulary in ("tools", "categories"):
            conn.execute(
                insert(tables[vocabulary]),
                [{"id": i, "name": f"{vocabulary}{i}", "is_active": True} for i in (1, 2, 3)],
            )
        conn.execute(insert(tables["projects"]), rows)
        for link, column, index in LINKS:
            conn.execute(
                insert(tables[link]),
                [{"project_id": p[0], column: tag} for p in PROJECTS for tag in p[index]],
            )
        conn.execute(
            insert(tables["import_requests"]),
            [
                {"id": rid, "user_id": 1, "kind": "video", "target": "t", "status": "imported"}
                | {"project_id": pid, **stamp}
                for rid, pid in REQUESTS
            ],
        )
    engine.dispose()


def _reflect(engine: Engine) -> dict[str, Table]:
    meta = MetaData()
    meta.reflect(engine)
    return dict(meta.tables)


def snapshot(url: str) -> dict[str, Any]:
    """Project ids, links and import-request targets, as plain sets and dicts."""
    engine = make_engine(url)
    with engine.connect() as conn:

        def pairs(sql: str) -> set[tuple[Any, Any]]:
            return {(a, b) for a, b in conn.execute(text(sql))}

        result = {
            table: pairs(f"SELECT project_id, {column} FROM {table}") for table, column, _ in LINKS
        }
        result["projects"] = set(conn.execute(text("SELECT id FROM projects")).scalars())
        result["requests"] = dict(pairs("SELECT id, project_id FROM import_requests"))
    engine.dispose()
    return result


def test_0002_merges_duplicates_and_quarantines_what_names_no_video(url: str) -> None:
    migrate.upgrade(url, "0001")
    seed_0001(url)
    before = snapshot(url)
    migrate.upgrade(url)
    after = snapshot(url)
    engine = make_engine(url)
    tables = _reflect(engine)
    with engine.connect() as conn:
        quarantine = {
            row.project_id: row for row in conn.execute(select(tables["project_quarantine"]))
        }
        video_ids = {p: v for p, v in conn.execute(text("SELECT id, video_id FROM projects"))}
        if conn.dialect.name == "sqlite":  # where migrations run with foreign keys off
            assert conn.exec_driver_sql("PRAGMA foreign_key_check").all() == []
    merged = {2, 3, 4, 7, 100 + FILLER}
    # Nothing lost: every project survives, merged into a survivor, or sits in quarantine.
    assert len(before["projects"]) == len(after["projects"]) + len(merged) + len(quarantine)
    assert after["projects"] == before["projects"] - merged - set(quarantine)
    assert set(quarantine) == {8, 9, 101 + FILLER}
    for pid, why in QUARANTINED.items():
        assert why in quarantine[pid].reason
    saved = quarantine[8].row
    assert (
        saved["projects"]["external_url"],
        saved["project_tools"],
        saved["project_categories"],
    ) == (
        "https://vimeo.com/12345",
        [3],
        [2],
    )
    assert saved["import_requests"] == [3]
    # The union of every copy's links is on the survivor, once each; no link points at a gone row.
    for pid, (tools, categories) in SURVIVORS.items():
        assert {t for p, t in after["project_tools"] if p == pid} == tools
        assert {c for p, c in after["project_categories"] if p == pid} == categories
    for table in ("project_tools", "project_categories"):
        assert {p for p, _ in after[table]} <= after["projects"]
    # Import requests follow their project to the survivor; the quarantined one's is unlinked.
    assert after["requests"] == {1: 1, 2: 1, 3: None, 4: None, 5: 6}
    assert video_ids[1] == video_ids[6] == A and video_ids[5] == B
    assert video_ids[100 + FILLER - 1] == f"f{FILLER - 1:010d}"
    # And a duplicate can no longer be written.
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.execute(
            insert(tables["projects"]),
            {"user_id": 1, "video_id": A, "external_url": "x", "title": ""}
            | {"created_at": T0, "updated_at": T0},
        )
    engine.dispose()
    assert schema_diff(url) == []


def test_downgrade_puts_quarantined_projects_back(url: str) -> None:
    migrate.upgrade(url, "0001")
    seed_0001(url)
    migrate.upgrade(url)
    head = snapshot(url)
    migrate.downgrade(url, "0001")
    back = snapshot(url)
    assert back["projects"] == head["projects"] | {8, 9, 101 + FILLER}
    assert (8, 3) in back["project_tools"] and (8, 2) in back["project_categories"]
    assert back["requests"][3] == 8
    migrate.upgrade(url)
    assert snapshot(url) == head
