"""Claim 1, duplicate lookup: "O(1) indexed lookup instead of O(5M) scan", "100x faster".

One user's duplicate check for one video among ``n`` projects, 50 per user (the report's 100K users
× 50 videos is 5M):

- ``before``: the report's URL-keyed table with no index, so every check reads the whole table;
- ``after``: the same table with the report's ``(user_id, external_url)`` index;
- ``ours``: :func:`reference.projects.find_existing` on the unique ``(user_id, video_id)`` index;
- ``raw``: ours's statement typed out and sent through the driver's own cursor on the same
  connection (``sqlite3``, ``psycopg``): the floor the ORM's overhead is measured against.

The gate fits ``time ∝ n**k`` per variant over the sizes measured: a scan grows with ``k ≈ 1``, an
index lookup stays flat (``k ≈ 0``). 5M runs in the full set only. ``extra_info``: the plan, and
the statements one check sends (``queries_per_lookup``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, DateTime, MetaData, bindparam, text
from sqlalchemy.orm import Session

from benchmarks.slow import VARIANTS, effective_variant
from reference.clock import utc_now
from reference.models import NAMING, Base
from reference.projects import (
    ReportShape,
    find_existing,
    find_existing_by_url,
    report_projects_table,
)
from ytscale.instruments.plans import explain, recording

VIDEOS_PER_USER = 50
URL = "https://www.youtube.com/watch?v="
SIZES = [
    pytest.param(50_000, marks=pytest.mark.quick),
    pytest.param(500_000, marks=pytest.mark.quick),
    pytest.param(5_000_000, marks=pytest.mark.slow),
]

_REPORT_METADATA = MetaData(naming_convention=NAMING)
_SHAPES: tuple[ReportShape, ...] = ("before", "after")
REPORT = {shape: report_projects_table(shape, _REPORT_METADATA) for shape in _SHAPES}
TABLES = [Base.metadata.tables["users"], Base.metadata.tables["projects"], *REPORT.values()]


def raw_lookup(session: Session, user_id: int, video_id: str) -> dict[str, int]:
    """Ours's one-value lookup with no SQLAlchemy in the path: the driver's cursor, SQL by hand."""
    connection = session.connection()
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    cursor.execute(
        f"SELECT video_id, id FROM projects WHERE user_id = {mark} AND video_id = {mark}",
        (user_id, video_id),
    )
    rows = cursor.fetchall()
    cursor.close()  # as SQLAlchemy closes ours's: the same work on both sides
    return dict(rows)


Lookup = Callable[[Session, int, str], dict[str, int]]
LOOKUPS: dict[str, Lookup] = {
    "before": lambda s, user, video: find_existing_by_url(s, REPORT["before"], user, [URL + video]),
    "after": lambda s, user, video: find_existing_by_url(s, REPORT["after"], user, [URL + video]),
    "ours": lambda s, user, video: find_existing(s, user, [video]),
    "raw": raw_lookup,
}


def video_id(i: int) -> str:
    """The ``i``-th video's id as :func:`build` writes it: 11 characters, like YouTube's."""
    return f"v{i:010d}"


def build(conn: Connection, n: int) -> None:
    """``n`` projects, 50 per user, in our table and copied into both report tables.

    One ``INSERT … SELECT`` per table from a generated series: 5M rows take seconds, not the
    minutes an ORM would. Rows go in key order, so every index is filled by appending.
    """
    series = (
        "WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i + 1 < :n)"
        if conn.dialect.name == "sqlite"
        else "WITH seq(i) AS (SELECT generate_series(0, :n - 1))"
    )
    now = bindparam("now", utc_now(), type_=DateTime(timezone=True))
    video = "'v' || SUBSTR(CAST(10000000000 + i AS TEXT), 2)"
    users = f"INSERT INTO users (id, name, created_at) {series} SELECT i + 1, 'user', :now FROM seq"
    conn.execute(text(users).bindparams(now, n=-(-n // VIDEOS_PER_USER)))
    projects = (
        "INSERT INTO projects (id, user_id, video_id, external_url, title, created_at, updated_at)"
        f" {series} SELECT i + 1, i / {VIDEOS_PER_USER} + 1, {video}, '{URL}' || {video},"
        " '', :now, :now FROM seq"
    )
    conn.execute(text(projects).bindparams(now, n=n))
    for table in REPORT.values():
        columns = ", ".join(table.columns.keys())
        conn.execute(text(f"INSERT INTO {table.name} ({columns}) SELECT {columns} FROM projects"))


@pytest.mark.parametrize("variant", [*VARIANTS, "raw"])
@pytest.mark.parametrize("n", SIZES)
def test_duplicate_lookup(
    benchmark: Any, case: Any, datasets: Any, database: str, n: int, variant: str
) -> None:
    engine = datasets.engine(database, "lookup", TABLES, build, {"n": n})
    case("lookup", variant, backend=database, n=n)
    user_id = n // VIDEOS_PER_USER // 2 + 1  # a user in the middle of the table
    wanted = video_id((user_id - 1) * VIDEOS_PER_USER + VIDEOS_PER_USER // 2)
    lookup = LOOKUPS[effective_variant("lookup", variant)]
    with Session(engine) as session:
        with recording(engine) as sent:
            assert len(lookup(session, user_id, wanted)) == 1
        if variant != "raw":  # the driver's cursor passes no SQLAlchemy event: nothing to record
            plan = explain(session.connection(), *sent[-1])
            benchmark.extra_info.update(
                full_scan=bool(plan.full_scans),
                indexes=sorted(plan.searched),
                plan=plan.text,
                queries_per_lookup=len(sent),
            )
        found = benchmark(lookup, session, user_id, wanted)
    assert len(found) == 1
