"""The build: schema, bulk load through the backend, checks, and the summary of what was made.

Rows go in by the driver's bulk path (``executemany`` on SQLite, ``COPY`` on PostgreSQL) in one
transaction: a failed build leaves the database as it was.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import Connection, Table, func, inspect, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from reference import migrate
from reference.db import make_engine
from reference.models import Base
from reference.settings import redact_url
from reference.vocabulary import build_vocabulary
from ytscale.fake.catalogue import CATEGORY_WORDS, TOOL_WORDS, Catalogue
from ytscale.seed.backends import Backend, backend_for
from ytscale.seed.baseline import raw_baseline_seconds
from ytscale.seed.population import PROJECTS, SEEDED, TABLES, Row, SeedConfig, SeededRows

#: Users per batch: 100,000 project rows at 50 videos each.
CHUNK_USERS = 2_000


class SeedError(RuntimeError):
    """The database cannot be seeded as asked (not empty, or the result failed its checks)."""


@dataclass(frozen=True)
class SeedSummary:
    """What a build made and how fast; ``raw_seconds`` is the SQL-only baseline, if measured."""

    database: str
    backend: str
    users: int
    videos_per_user: int
    seed: int
    now: str
    rows: dict[str, int]
    #: The load, from entering bulk mode to fresh planner statistics (schema and checks excluded).
    seconds: float
    #: Counting the rows and proving ``(user_id, video_id)`` unique afterwards.
    verify_seconds: float
    raw_seconds: float | None = None

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_s(self) -> float:
        return self.total_rows / self.seconds if self.seconds else 0.0

    @property
    def ratio_to_raw(self) -> float | None:
        return self.seconds / self.raw_seconds if self.raw_seconds else None

    def as_dict(self) -> dict[str, Any]:
        """The fields and the derived figures, for JSON."""
        return {
            **asdict(self),
            "total_rows": self.total_rows,
            "rows_per_s": round(self.rows_per_s),
            "ratio_to_raw": self.ratio_to_raw,
        }

    def format(self) -> str:
        lines = [
            f"seeded {self.database} ({self.backend}): {self.users:,} users × "
            f"{self.videos_per_user} videos, seed {self.seed}, now {self.now}",
            *(f"  {name:<20} {count:>12,}" for name, count in self.rows.items()),
            f"  {'total':<20} {self.total_rows:>12,} rows in {self.seconds:.1f} s "
            f"({self.rows_per_s:,.0f} rows/s); checked in {self.verify_seconds:.1f} s",
        ]
        if self.raw_seconds is not None:
            lines.append(
                f"  raw INSERT … SELECT of the same rows: {self.raw_seconds:.1f} s "
                f"(seed / raw = {self.ratio_to_raw:.2f}×)"
            )
        return "\n".join(lines)


def create_schema(database_url: str) -> None:
    """Bring the database to the head schema: the one place the seed builds tables."""
    migrate.upgrade(database_url)


def seed(
    database_url: str,
    config: SeedConfig = SeedConfig(),  # noqa: B008 (frozen: one shared default is safe)
    *,
    replace: bool = False,
    progress: bool | None = None,
    raw_baseline: bool = False,
) -> SeedSummary:
    """Build the population into ``database_url`` and check it; refuse a non-empty database.

    ``replace`` empties every table first instead. ``progress`` shows a bar on stderr (``None``:
    when stderr is a terminal). ``raw_baseline`` also times :func:`raw_baseline_seconds`.
    """
    create_schema(database_url)
    engine = make_engine(database_url)
    try:
        backend = backend_for(engine)
        with engine.connect() as conn:
            held = {name: n for name, n in _counts(conn, TABLES).items() if n}
            conn.rollback()
            if held and not replace:
                listed = ", ".join(f"{n:,} {name}" for name, n in held.items())
                raise SeedError(
                    f"{redact_url(database_url)} is not empty ({listed}); "
                    "pass --replace (replace=True) to empty it and seed again"
                )
            bar = tqdm(
                total=config.users,
                unit="user",
                desc="seed",
                file=sys.stderr,
                disable=not (sys.stderr.isatty() if progress is None else progress),
            )
            started = time.perf_counter()
            with bar, backend.bulk_mode(conn), conn.begin():
                if held:
                    backend.empty(conn, list(reversed(Base.metadata.sorted_tables)))
                with backend.unconstrained(conn, PROJECTS):
                    _load(conn, backend, SeededRows(config), bar.update)
            backend.analyze(conn)
            seconds = time.perf_counter() - started
            started = time.perf_counter()
            rows = _verify(conn, config)
            verify_seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    return SeedSummary(
        database=redact_url(database_url),
        backend=engine.dialect.name,
        users=config.users,
        videos_per_user=config.videos_per_user,
        seed=config.seed,
        now=config.now.isoformat(),
        rows=rows,
        seconds=seconds,
        verify_seconds=verify_seconds,
        raw_seconds=raw_baseline_seconds(database_url, rows, config.now) if raw_baseline else None,
    )


@dataclass(frozen=True)
class Contents:
    """What a database holds of the seeded tables, and whether it is a population's as built."""

    #: Rows per seeded table; all zero where the schema is missing.
    rows: dict[str, int]
    #: Exactly the population asked for: its users and projects, user 1 on the seed's channel.
    is_population: bool


def contents(database_url: str, config: SeedConfig) -> Contents:
    """The one rule for "already seeded": what ``database_url`` holds, judged against ``config``.

    Judged by the row counts and user 1's channel (which the seed decides); cheap enough to ask
    before every report or ``serve``. Imports added since make it no longer the population.
    """
    engine = make_engine(database_url)
    try:
        if not inspect(engine).has_table("projects"):
            return Contents(dict.fromkeys(SEEDED, 0), is_population=False)
        with engine.connect() as conn:
            counts = _counts(conn, {name: TABLES[name] for name in SEEDED})
            first_channel = conn.scalar(
                select(TABLES["content_sources"].c.channel_id).where(
                    TABLES["content_sources"].c.user_id == 1
                )
            )
    finally:
        engine.dispose()
    expected = Catalogue(seed=config.seed).user_channel_id(0)
    asked = (config.users, config.projects, expected)
    return Contents(counts, (counts["users"], counts["projects"], first_channel) == asked)


def seeded_counts(database_url: str, config: SeedConfig) -> dict[str, int] | None:
    """Rows per table if the database holds exactly ``config``'s population (:func:`contents`),
    else None."""
    held = contents(database_url, config)
    return held.rows if held.is_population else None


def _load(
    conn: Connection, backend: Backend, seeded: SeededRows, advance: Callable[[int], Any]
) -> None:
    """Write every seeded table, parents first, inside the caller's transaction."""
    config, ts = seeded.config, backend.timestamps
    backend.write(conn, "users", [seeded.users(ts)])
    backend.write(conn, "content_sources", [seeded.sources(ts)])
    with Session(bind=conn) as session:
        vocabulary = build_vocabulary(
            session,
            config.n_tools,
            config.n_categories,
            config.seed,
            words=(TOOL_WORDS, CATEGORY_WORDS),
        )

    def batches() -> Iterator[list[Row]]:
        for first in range(0, config.users, CHUNK_USERS):
            stop = min(first + CHUNK_USERS, config.users)
            yield seeded.projects(ts, first, stop)
            advance(stop - first)

    backend.write(conn, "projects", batches())
    backend.write(conn, "project_tools", [seeded.links(sorted(vocabulary.tools), 7)])
    backend.write(conn, "project_categories", [seeded.links(sorted(vocabulary.categories), 3)])
    backend.sync_sequences(conn, ("users", "content_sources", "projects"))


def _verify(conn: Connection, config: SeedConfig) -> dict[str, int]:
    """Rows per seeded table; :class:`SeedError` unless they are as asked and pairs are unique."""
    counts = _counts(conn, {name: TABLES[name] for name in SEEDED})
    n = config.users
    expected = {
        "users": n,
        "content_sources": n,
        "tools": config.n_tools,
        "categories": config.n_categories,
        "projects": config.projects,
        "project_tools": n,
        "project_categories": n,
    }
    wrong = {name: (counts[name], want) for name, want in expected.items() if counts[name] != want}
    if wrong:
        raise SeedError(f"row counts (found, expected) are off: {wrong}")
    pairs = [sorted(u["column_names"]) for u in inspect(conn).get_unique_constraints("projects")]
    if ["user_id", "video_id"] not in pairs:
        raise SeedError(f"projects has no unique (user_id, video_id) constraint: {pairs}")
    key = (PROJECTS.c.user_id, PROJECTS.c.video_id)
    repeated = select(*key).group_by(*key).having(func.count() > 1).subquery()
    duplicates = conn.scalar(select(func.count()).select_from(repeated))
    conn.rollback()
    if duplicates:
        raise SeedError(f"{duplicates} (user_id, video_id) pairs occur more than once")
    return counts


def _counts(conn: Connection, tables: Mapping[str, Table]) -> dict[str, int]:
    return {
        name: conn.scalar(select(func.count()).select_from(table)) or 0
        for name, table in tables.items()
    }
