"""The import upsert, the duplicate lookup and tag links, on SQLite and PostgreSQL.

Plans are read the honest way: tables of 20K rows, ANALYZEd, so PostgreSQL's planner picks an index
only where it pays, as it would in production.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import Engine, Table, func, insert, select, text
from sqlalchemy.orm import Session

from reference.db import make_engine
from reference.models import Category, Project, ProjectCategory, ProjectTool, Tool, User
from reference.projects import (
    BATCH,
    NewProject,
    Upserted,
    find_existing,
    find_existing_by_url,
    link_tags,
    report_projects_table,
    upsert_project,
    upsert_projects,
)
from reference.videos import InvalidVideoURL
from ytscale.instruments.plans import QueryPlan, explain, recording

VID = "dQw4w9WgXcQ"
FORMS = [
    f"https://www.youtube.com/watch?v={VID}",
    f"https://youtu.be/{VID}",
    f"https://m.youtube.com/watch?feature=share&v={VID}",
    f"https://www.youtube.com/shorts/{VID}",
]
USERS, PER_USER = 200, 100  # 20K projects for the plan tests


def video(n: int) -> NewProject:
    vid = f"v{n:010d}"
    return NewProject(video_id=vid, external_url=f"https://youtu.be/{vid}", title=f"video {n}")


def add_users(engine: Engine, last: int = 2, first: int = 1) -> None:
    with Session(engine) as s, s.begin():
        s.add_all(User(id=i, name=f"user {i}") for i in range(first, last + 1))


@pytest.fixture
def db(engine: Engine) -> Engine:
    add_users(engine)
    return engine


def project_count(engine: Engine) -> int:
    with Session(engine) as s:
        return s.scalar(select(func.count()).select_from(Project)) or 0


def test_every_url_form_lands_on_one_project(db: Engine) -> None:
    with Session(db) as s, s.begin():
        results = [upsert_project(s, 1, NewProject.from_url(url)) for url in FORMS]
    assert [r.created for r in results] == [True, False, False, False]
    assert len({r.project_id for r in results}) == 1
    assert project_count(db) == 1


def test_the_same_video_is_separate_per_user(db: Engine) -> None:
    with Session(db) as s, s.begin():
        first = upsert_project(s, 1, video(1))
        second = upsert_project(s, 2, video(1))
    assert first.created and second.created and first.project_id != second.project_id


def test_refresh_updates_metadata_and_keeps_the_row(db: Engine) -> None:
    with Session(db) as s, s.begin():
        first = upsert_project(s, 1, NewProject(VID, FORMS[0], title="old", view_count=1))
        plain = upsert_project(s, 1, NewProject(VID, FORMS[1], title="ignored"))
        refreshed = upsert_project(
            s, 1, NewProject(VID, FORMS[1], title="new", view_count=9), refresh=True
        )
    assert refreshed == plain == Upserted(first.project_id, created=False)
    with Session(db) as s:
        project = s.get_one(Project, first.project_id)
    # The URL the user first gave stays; what YouTube says is refreshed.
    assert (project.title, project.view_count, project.external_url) == ("new", 9, FORMS[0])


def test_invalid_url_is_rejected_before_any_write() -> None:
    with pytest.raises(InvalidVideoURL):
        NewProject.from_url("https://vimeo.com/1234")


@pytest.mark.parametrize("refresh", [False, True], ids=["plain", "refresh"])
def test_bulk_upsert_takes_two_statements_per_batch(db: Engine, refresh: bool) -> None:
    known = [video(n) for n in range(0, 900, 3)]
    batch = [video(n) for n in range(900)] + [video(5)]  # one video listed twice
    with Session(db) as s, s.begin():
        before = upsert_projects(s, 1, known)
    with Session(db) as s, s.begin(), recording(db) as sent:
        results = upsert_projects(s, 1, batch, refresh=refresh)
    assert len(results) == 900 and project_count(db) == 900
    assert {v for v, r in results.items() if not r.created} == {v.video_id for v in known}
    assert all(results[v].project_id == r.project_id for v, r in before.items())
    batches = -(-900 // BATCH)
    assert len(sent) == 2 * batches, [sql[:60] for sql, _ in sent]


def test_find_existing_is_batched_and_per_user(db: Engine) -> None:
    with Session(db) as s, s.begin():
        mine = upsert_projects(s, 1, [video(n) for n in range(0, 1200, 2)])
        upsert_projects(s, 2, [video(n) for n in range(1, 1200, 2)])
    asked = [video(n).video_id for n in range(1200)]
    with Session(db) as s, recording(db) as sent:
        found = find_existing(s, 1, asked + asked[:10])
    assert found == {vid: r.project_id for vid, r in mine.items()}
    assert len(sent) == -(-1200 // BATCH)


@pytest.fixture
def report_tables(db: Engine) -> Iterator[tuple[Table, Table]]:
    """The report's "before" and "after" tables, dropped afterwards (they are not in the models)."""
    tables = report_projects_table("before"), report_projects_table("after")
    with db.begin() as conn:
        for table in tables:
            table.create(conn)
    yield tables
    with db.begin() as conn:
        for table in tables:
            table.drop(conn)


def test_report_lookup_misses_another_form_of_the_same_video(
    db: Engine, report_tables: tuple[Table, Table]
) -> None:
    _, table = report_tables
    with db.begin() as conn:
        conn.execute(insert(table), [_report_row(1, FORMS[0]), _report_row(1, FORMS[0])])
    with Session(db) as s:
        assert find_existing_by_url(s, table, 1, [FORMS[0]]).keys() == {FORMS[0]}
        assert find_existing_by_url(s, table, 1, FORMS[1:]) == {}
    # The report's table holds two rows for one URL: its index does not prevent duplicates.
    with db.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(table)) == 2


def test_tag_links_are_written_once(db: Engine) -> None:
    with Session(db) as s, s.begin():
        s.add_all([Tool(id=1, name="a"), Tool(id=2, name="b"), Category(id=1, name="c")])
        s.flush()
        ids = [r.project_id for r in upsert_projects(s, 1, [video(1), video(2)]).values()]
        first = link_tags(s, tools={ids[0]: [1, 2, 1], ids[1]: [2]}, categories={ids[0]: [1]})
        again = link_tags(s, tools={ids[0]: [2], ids[1]: [1, 2]}, categories={ids[0]: [1]})
    assert (first, again) == (4, 1)
    with Session(db) as s:
        tools = set(s.execute(select(ProjectTool.project_id, ProjectTool.tool_id)).tuples())
        categories = s.scalars(select(ProjectCategory.project_id)).all()
    assert tools == {(ids[0], 1), (ids[0], 2), (ids[1], 1), (ids[1], 2)}
    assert categories == [ids[0]]


def _import_once(url: str, barrier: Any, user_id: int = 1) -> Upserted:
    engine = make_engine(url)
    try:
        barrier.wait(timeout=30)
        with Session(engine) as s, s.begin():
            return upsert_project(s, user_id, NewProject.from_url(FORMS[0]))
    finally:
        engine.dispose()


def test_concurrent_imports_from_threads_make_one_project(db: Engine, db_url: str) -> None:
    workers = 16
    barrier = threading.Barrier(workers)
    results: list[Upserted] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(_import_once(db_url, barrier))
        except BaseException as exc:  # surfaced below with the others
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert len(results) == workers
    assert len({r.project_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert project_count(db) == 1


def _process_worker(url: str, barrier: Any, out: Any) -> None:
    try:
        out.put(_import_once(url, barrier))
    except BaseException as exc:
        out.put(repr(exc))


def test_concurrent_imports_from_processes_make_one_project(db: Engine, db_url: str) -> None:
    ctx = multiprocessing.get_context("fork")
    workers = 4
    barrier, out = ctx.Barrier(workers), ctx.Queue()
    procs = [
        ctx.Process(target=_process_worker, args=(db_url, barrier, out)) for _ in range(workers)
    ]
    for p in procs:
        p.start()
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(timeout=30)
    assert all(isinstance(r, Upserted) for r in results), results
    assert len({r.project_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert project_count(db) == 1


def _report_row(user_id: int, url: str) -> dict[str, Any]:
    return {"user_id": user_id, "external_url": url, "title": ""}


def _plan(engine: Engine, lookup: Callable[[Session], object]) -> QueryPlan:
    with Session(engine) as s, recording(engine) as sent:
        lookup(s)
    assert len(sent) == 1
    return explain(engine, *sent[0])


def test_lookup_plans_ours_and_the_reports(db: Engine, report_tables: tuple[Table, Table]) -> None:
    """Ours and the report's "after" search their index; the report's "before" reads every row."""
    before, after = report_tables
    add_users(db, USERS, first=3)
    rows = [
        {"user_id": u, "video_id": f"v{u:05d}{n:05d}", "title": ""}
        for u in range(1, USERS + 1)
        for n in range(PER_USER)
    ]
    for row in rows:
        row["external_url"] = f"https://youtu.be/{row['video_id']}"
    url_rows = [{k: v for k, v in r.items() if k != "video_id"} for r in rows]
    with db.begin() as conn:
        conn.execute(insert(Project), rows)
        conn.execute(insert(before), url_rows)
        conn.execute(insert(after), url_rows)
        for table in ("projects", before.name, after.name):
            conn.execute(text(f"ANALYZE {table}"))
    user = USERS // 2
    mine = [r for r in rows if r["user_id"] == user][:40]
    video_ids = [r["video_id"] for r in mine] + [f"x{n:010d}" for n in range(10)]
    urls = [r["external_url"] for r in mine] + [f"https://youtu.be/x{n:010d}" for n in range(10)]

    ours = _plan(db, lambda s: find_existing(s, user, video_ids))
    assert "uq_projects_user_id_video_id" in ours.searched and not ours.full_scans, ours.text
    indexed = _plan(db, lambda s: find_existing_by_url(s, after, user, urls))
    assert indexed.searched == {"ix_projects_report_after_user_id_external_url"}, indexed.text
    assert not indexed.full_scans, indexed.text
    scanned = _plan(db, lambda s: find_existing_by_url(s, before, user, urls))
    assert scanned.full_scans == {"projects_report_before"} and not scanned.searched, scanned.text
