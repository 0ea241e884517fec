"""The raw baseline: the seed's rows built by SQL alone, in a scratch database beside its own."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from reference.db import make_engine
from reference.models import Base
from reference.videos import watch_url
from ytscale.instruments.scratch import scratch_schema
from ytscale.seed.backends import Backend, backend_for
from ytscale.seed.population import PROJECTS, SEEDED


def raw_baseline_seconds(database_url: str, rows: Mapping[str, int], now: datetime) -> float:
    """Seconds to build ``rows`` rows per table of the same shape with SQL alone.

    The build runs in a scratch database beside ``database_url`` (a file next to a SQLite one, a
    schema of its own on PostgreSQL), dropped afterwards, through the same bulk mode, constraint
    handling and statistics as :func:`seed`: the ratio between the two is the cost of computing
    the rows in Python and shipping them.
    """
    with _scratch(database_url) as url:
        engine = make_engine(url)
        try:
            Base.metadata.create_all(engine)
            backend = backend_for(engine)
            statements = _raw_inserts(backend, rows, int(now.timestamp()))
            with engine.connect() as conn:
                started = time.perf_counter()
                with backend.bulk_mode(conn), conn.begin():
                    with backend.unconstrained(conn, PROJECTS):
                        for statement in statements:
                            conn.execute(text(statement))
                    backend.sync_sequences(conn, ("users", "content_sources", "projects"))
                backend.analyze(conn)
                return time.perf_counter() - started
        finally:
            engine.dispose()


def _raw_inserts(backend: Backend, rows: Mapping[str, int], now_s: int) -> list[str]:
    """One ``INSERT … SELECT`` per table, rows shaped like the seed's."""
    b = backend
    per_user = max(rows["projects"] // max(rows["users"], 1), 1)
    owner = f"i / {per_user}"
    # An odd multiplier is a bijection modulo 2**44: distinct 11-hex-digit ids.
    video = b.hex11("(i * 2654435761) % 17592186044416")
    now = b.at(now_s, "0")

    columns: dict[str, dict[str, str]] = {
        "users": {"id": "i + 1", "name": "'Channel ' || i", "created_at": now},
        "content_sources": {
            "id": "i + 1",
            "user_id": "i + 1",
            "channel_id": "'UC' || " + b.padded("i", 22),
            "uploads_playlist_id": "'UU' || " + b.padded("i", 22),
            "is_active": "TRUE",
            "next_sync_at": b.at(now_s, "i % 86400"),
            "last_synced_at": b.at(now_s, "i % 86400 - 86400"),
            "last_video_id": video,
            "failure_count": "0",
            "last_error": "NULL",
        },
        "tools": {"id": "i + 1", "name": "'Tool ' || i", "is_active": "TRUE"},
        "tool_aliases": {"alias": "'tool' || i", "tool_id": f"i % {max(rows['tools'], 1)} + 1"},
        "categories": {"id": "i + 1", "name": "'Category ' || i", "is_active": "TRUE"},
        "projects": {
            "id": "i + 1",
            "user_id": f"{owner} + 1",
            "video_id": video,
            "external_url": f"'{watch_url('')}' || {video}",
            "title": f"'Channel ' || ({owner}) || ' #' || (i % {per_user} + 1)",
            "channel_id": "'UC' || " + b.padded(owner, 22),
            "published_at": b.at(now_s, f"-(i % {per_user}) * 86400"),
            "duration_s": "30 + i % 1800",
            "view_count": "i % 1000003",
            "created_at": now,
            "updated_at": now,
        },
        "project_tools": {
            "project_id": f"i * {per_user} + {per_user}",
            "tool_id": f"i % {max(rows['tools'], 1)} + 1",
        },
        "project_categories": {
            "project_id": f"i * {per_user} + {per_user}",
            "category_id": f"i % {max(rows['categories'], 1)} + 1",
        },
    }
    statements = []
    for table in SEEDED:
        if rows[table]:
            prefix, source = b.series(rows[table])
            names, exprs = ", ".join(columns[table]), ", ".join(columns[table].values())
            statements.append(f"INSERT INTO {table} ({names}) {prefix}SELECT {exprs} FROM {source}")
    return statements


@contextmanager
def _scratch(database_url: str) -> Iterator[str]:
    """A URL of an empty database beside ``database_url``'s, removed on exit."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if not url.database or url.database == ":memory:":
            yield "sqlite://"
            return
        path = Path(url.database).with_name(f"{Path(url.database).name}.raw-baseline")
        files = [path, *(Path(f"{path}{suffix}") for suffix in ("-journal", "-wal", "-shm"))]
        for file in files:
            file.unlink(missing_ok=True)
        try:
            yield url.set(database=str(path)).render_as_string(hide_password=False)
        finally:
            for file in files:
                file.unlink(missing_ok=True)
        return
    with scratch_schema(database_url, f"ytscale_raw_{uuid.uuid4().hex[:8]}") as scoped:
        yield scoped
