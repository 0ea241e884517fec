"""What the database plans to do with a statement: which indexes it searches, which tables it reads
whole, whether it sorts. The evidence behind "this lookup is indexed"::

    with recording(engine) as sent:
        find_existing(session, user_id, video_ids)
    plan = explain(engine, *sent[-1])
    assert "uq_projects_user_id_video_id" in plan.searched and not plan.full_scans

SQLite answers ``EXPLAIN QUERY PLAN`` from the schema alone. PostgreSQL answers
``EXPLAIN (FORMAT JSON)`` from statistics, so it picks an index only when the table is big enough
and ANALYZEd, as in production; forcing it (``enable_seqscan=off``) would prove nothing.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Engine, event, inspect

_SQLITE_SEARCH = re.compile(
    r"^SEARCH (\S+) USING (?:(?:COVERING )?INDEX (\S+)|INTEGER PRIMARY KEY)"
)
_SQLITE_SCAN = re.compile(r"^SCAN (\S+)")
_PG_INDEX_NODES = {"Index Scan", "Index Only Scan", "Bitmap Index Scan"}


@dataclass(frozen=True)
class QueryPlan:
    #: Indexes looked up by key (an index condition), not walked end to end.
    searched: frozenset[str]
    #: Tables read from end to end (SQLite's ``SCAN``, PostgreSQL's ``Seq Scan``).
    full_scans: frozenset[str]
    #: Whether rows are sorted after reading, i.e. their order does not come from an index.
    sorts: bool
    #: The plan as the database printed it, for failure messages and reports.
    text: str


@contextmanager
def recording(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Collect ``(sql, parameters)`` of every statement ``engine`` sends while the block runs."""
    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        sent.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        event.remove(engine, "before_cursor_execute", record)


def explain(bind: Engine | Connection, statement: str, parameters: Any = None) -> QueryPlan:
    """Plan ``statement`` (driver SQL, as :func:`recording` saw it) without running it."""
    if isinstance(bind, Engine):
        with bind.connect() as conn:
            return explain(conn, statement, parameters)
    if bind.dialect.name == "sqlite":
        rows = bind.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters or ()).all()
        return _sqlite_plan(bind, [row[-1] for row in rows])
    if bind.dialect.name == "postgresql":
        raw = bind.exec_driver_sql(f"EXPLAIN (FORMAT JSON) {statement}", parameters).scalar_one()
        return _postgres_plan(raw if isinstance(raw, list) else json.loads(raw))
    raise NotImplementedError(f"no plan reader for dialect {bind.dialect.name!r}")


def _sqlite_plan(conn: Connection, details: list[str]) -> QueryPlan:
    searched = {
        _sqlite_index_name(conn, *m.groups()) for d in details if (m := _SQLITE_SEARCH.match(d))
    }
    scans = {m.group(1) for d in details if (m := _SQLITE_SCAN.match(d))}
    sorts = any(d.startswith("USE TEMP B-TREE FOR ORDER BY") for d in details)
    return QueryPlan(frozenset(searched), frozenset(scans), sorts, "\n".join(details))


def _sqlite_index_name(conn: Connection, table: str, index: str | None) -> str:
    """Name SQLite's implicit indexes as the schema and PostgreSQL do: the rowid by the primary
    key constraint, ``sqlite_autoindex_<table>_<n>`` by its UNIQUE constraint."""
    if index is None:
        return inspect(conn).get_pk_constraint(table)["name"] or f"{table}.rowid"
    if not index.startswith("sqlite_autoindex_"):
        return index
    columns = [row[2] for row in conn.exec_driver_sql(f"PRAGMA index_info('{index}')")]
    for constraint in inspect(conn).get_unique_constraints(table):
        if constraint["column_names"] == columns and constraint["name"]:
            return constraint["name"]
    return index


def _postgres_plan(document: list[dict[str, Any]]) -> QueryPlan:
    searched: set[str] = set()
    scans: set[str] = set()
    sorts = False
    stack = [document[0]["Plan"]]
    while stack:
        node = stack.pop()
        kind = node["Node Type"]
        if kind in _PG_INDEX_NODES and "Index Cond" in node:
            searched.add(node["Index Name"])
        elif kind == "Seq Scan":
            scans.add(node["Relation Name"])
        sorts = sorts or kind in ("Sort", "Incremental Sort")
        stack.extend(node.get("Plans", []))
    return QueryPlan(frozenset(searched), frozenset(scans), sorts, json.dumps(document, indent=1))
