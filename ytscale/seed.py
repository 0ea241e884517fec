"""The population builder: N users × M projects, a content source per user, a tag vocabulary.

```python
summary = seed("sqlite:///var/ytscale.db", SeedConfig(users=100_000, videos_per_user=50))
print(summary.format())          # rows per table, seconds, rows/s (and the raw SQL ratio if asked)
```

The population is the fake YouTube catalogue's (:mod:`ytscale.fake.catalogue`) as it stands at
``config.now``: user ``u`` (ids start at 1) owns channel ``u - 1``, its content source points at
that channel with ``last_video_id`` its newest public video, and its projects are that channel's
newest ``M`` videos; a channel with fewer fills the rest with videos of bigger channels, as users
also import other people's videos. A later sync of a source therefore pages until a known video
and finds exactly what the channel uploaded after ``now``. Sources fall due evenly over
``sync_interval``: at ``now`` (and in every ``window`` after) ``window / sync_interval`` of them
are due, as in a steady state.

Every row is a pure function of ``config``: the same config gives the same rows. Video and
channel ids are the catalogue's exactly; ``published_at`` is the start of the video's upload slot
(the catalogue adds a hashed fraction of a slot) and duration, views and titles are cheap stand-ins,
because a per-video hash would double the build time. Rows go in by the driver's bulk path
(``executemany`` on SQLite, ``COPY`` on PostgreSQL) in one transaction: a failed build leaves the
database as it was.
"""

from __future__ import annotations

import random
import sys
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import asdict, dataclass
from datetime import date, datetime, timedelta
from functools import cache
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import (
    Connection,
    Engine,
    ForeignKeyConstraint,
    Table,
    UniqueConstraint,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.schema import AddConstraint, DropConstraint
from tqdm import tqdm

from reference import migrate, pipeline
from reference.db import make_engine
from reference.models import Base
from reference.videos import watch_url
from reference.vocabulary import build_vocabulary
from ytscale.fake.catalogue import (
    CATEGORY_WORDS,
    DEFAULT_CHANNELS,
    EPOCH,
    TOOL_WORDS,
    Catalogue,
)

Ints = npt.NDArray[np.int64]
Row = tuple[Any, ...]

#: Users per batch: 100,000 project rows at 50 videos each.
CHUNK_USERS = 2_000
_TABLES = Base.metadata.tables
_PROJECTS = _TABLES["projects"]
#: Tables the seed fills, parents first.
SEEDED = (
    "users",
    "content_sources",
    "tools",
    "tool_aliases",
    "categories",
    "projects",
    "project_tools",
    "project_categories",
)
_COLUMNS = {
    "users": ("id", "name", "created_at"),
    "content_sources": (
        "id", "user_id", "channel_id", "uploads_playlist_id", "is_active", "next_sync_at",
        "last_synced_at", "last_video_id", "failure_count", "last_error",
    ),
    "projects": (
        "id", "user_id", "video_id", "external_url", "title", "channel_id", "published_at",
        "duration_s", "view_count", "created_at", "updated_at",
    ),
    "project_tools": ("project_id", "tool_id"),
    "project_categories": ("project_id", "category_id"),
}  # fmt: skip


class SeedError(RuntimeError):
    """The database cannot be seeded as asked (not empty, or the result failed its checks)."""


@dataclass(frozen=True)
class SeedConfig:
    """What to build. ``now`` is the instant the population is taken at (whole seconds, UTC).

    It defaults to the catalogue's epoch, where a fresh ``SimClock`` starts: the fake YouTube and
    the scheduler should run on a clock started at ``now``.
    """

    users: int = 100_000
    videos_per_user: int = 50
    seed: int = 1
    now: datetime = EPOCH
    #: How often a source is synced: 24 h spreads them so 1/96 fall due per 15-minute window.
    sync_interval: timedelta = pipeline.SYNC_INTERVAL
    #: The scheduler's window: the sources due at ``now`` are those that fell due in the last one.
    window: timedelta = timedelta(seconds=pipeline.WINDOW_S)
    n_tools: int = 1_000
    n_categories: int = 40

    def __post_init__(self) -> None:
        if not 1 <= self.users <= DEFAULT_CHANNELS:
            raise ValueError(
                f"users must be 1..{DEFAULT_CHANNELS} (one channel each), not {self.users}"
            )
        if self.videos_per_user < 1:
            raise ValueError(f"videos_per_user must be >= 1, not {self.videos_per_user}")
        if self.now.tzinfo is None or self.now.microsecond:
            raise ValueError(f"now must be aware and in whole seconds, not {self.now!r}")
        if not timedelta(0) < self.window <= self.sync_interval:
            raise ValueError("need 0 < window <= sync_interval")
        if self.n_tools < 1 or self.n_categories < 1:
            raise ValueError("the vocabulary needs at least one tool and one category")

    @property
    def projects(self) -> int:
        return self.users * self.videos_per_user


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
    config: SeedConfig = SeedConfig(),
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
        backend = _backend(engine)
        with engine.connect() as conn:
            held = {name: n for name, n in _counts(conn, _TABLES).items() if n}
            conn.rollback()
            if held and not replace:
                listed = ", ".join(f"{n:,} {name}" for name, n in held.items())
                raise SeedError(
                    f"{_redacted(database_url)} is not empty ({listed}); "
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
                with backend.unconstrained(conn, _PROJECTS):
                    _load(conn, backend, Population(config), bar.update)
            backend.analyze(conn)
            seconds = time.perf_counter() - started
            started = time.perf_counter()
            rows = _verify(conn, config)
            verify_seconds = time.perf_counter() - started
    finally:
        engine.dispose()
    return SeedSummary(
        database=_redacted(database_url),
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


def seeded_counts(database_url: str, config: SeedConfig) -> dict[str, int] | None:
    """Rows per table if the database holds exactly ``config``'s population, else None.

    Judged by the row counts and user 1's channel (which the seed decides); cheap enough to ask
    before every report.
    """
    engine = make_engine(database_url)
    try:
        if not inspect(engine).has_table("projects"):
            return None
        with engine.connect() as conn:
            counts = _counts(conn, {name: _TABLES[name] for name in SEEDED})
            first_channel = conn.scalar(
                select(_TABLES["content_sources"].c.channel_id).where(
                    _TABLES["content_sources"].c.user_id == 1
                )
            )
    finally:
        engine.dispose()
    expected = Catalogue(seed=config.seed).user_channel_id(0)
    if (counts["users"], counts["projects"], first_channel) != (
        config.users,
        config.projects,
        expected,
    ):
        return None
    return counts


# -- the population ------------------------------------------------------------------------


class Population:
    """The rows of ``config``'s population, computed from the catalogue in vectorised chunks."""

    def __init__(self, config: SeedConfig) -> None:
        self.config = config
        self.catalogue = Catalogue(seed=config.seed)
        self.now_s = int(config.now.timestamp())
        m = config.videos_per_user
        ids: list[str] = []
        playlists: list[str] = []
        titles: list[str] = []
        counts: list[int] = []
        created: list[int] = []
        spacing: list[float] = []
        # Channels 0..users-1 belong to users; ones past them only join if too few channels have
        # m videos to lend the small ones.
        index = lenders = 0
        while index < config.users or lenders < m:
            spec = self.catalogue.channel(index)
            ids.append(spec.id)
            playlists.append(spec.uploads_playlist_id)
            titles.append(spec.title)
            counts.append(self.catalogue.video_count(index, config.now))
            created.append(int(spec.created_at.timestamp()))
            spacing.append(spec.spacing_s or 0.0)
            lenders += counts[-1] >= m
            index += 1
        self.channel_ids = np.array(ids)
        self.playlists = playlists
        self.titles = np.array(titles)
        self.counts: Ints = np.array(counts, dtype=np.int64)
        self.created_s: Ints = np.array(created, dtype=np.int64)
        self.spacing_s = np.array(spacing, dtype=np.float64)
        #: Channels with at least m videos: the ones small channels' users borrow from.
        self.lenders: Ints = np.flatnonzero(self.counts >= m).astype(np.int64)

    def users(self, ts: Formatter) -> list[Row]:
        now = ts(np.array([self.now_s]))[0]
        n = self.config.users
        return list(zip(range(1, n + 1), self.titles[:n].tolist(), repeat(now), strict=False))

    def sources(self, ts: Formatter) -> list[Row]:
        config, n = self.config, self.config.users
        interval = int(config.sync_interval.total_seconds())
        rng = random.Random(config.seed)
        slots = list(range(n))
        rng.shuffle(slots)
        # Stratified: one source per 1/n of the interval, so every window gets its exact share.
        offsets = np.array([(slot + rng.random()) * interval / n for slot in slots])
        # Rounded up, so none is due before the window that ends at now.
        due: Ints = (
            self.now_s - int(config.window.total_seconds()) + np.ceil(offsets).astype(np.int64)
        )
        counts = self.counts[:n]
        has_videos = counts > 0
        newest = self.catalogue.video_ids(np.arange(n), np.maximum(counts - 1, 0))
        last_video = [v if ok else None for v, ok in zip(newest, has_videos.tolist(), strict=True)]
        return list(
            zip(
                range(1, n + 1),
                range(1, n + 1),
                self.channel_ids[:n].tolist(),
                self.playlists[:n],
                repeat(True),
                ts(due),
                ts(due - interval),
                last_video,
                repeat(0),
                repeat(None),
                strict=False,
            )
        )

    def projects(self, ts: Formatter, first: int, stop: int) -> list[Row]:
        """The projects of users ``first + 1 .. stop``: M consecutive ids per user."""
        m = self.config.videos_per_user
        user: Ints = np.arange(first, stop, dtype=np.int64)[:, None]
        slot: Ints = np.arange(m, dtype=np.int64)[None, :]
        count = self.counts[user]
        own = np.minimum(count, m)
        # The channel's newest videos, oldest first; then borrowed ones, each from another lender
        # (a user with m videos of its own borrows none, so it never lends to itself).
        borrowed = slot - own
        lender = self.lenders[(user * 7919 + borrowed) % len(self.lenders)]
        is_own = slot < own
        channel = np.where(is_own, user, lender).ravel()
        number = np.where(
            is_own, count - own + slot, (user * 31 + borrowed * 7) % self.counts[lender]
        ).ravel()
        published = self.created_s[channel] + (number * self.spacing_s[channel]).astype(np.int64)
        video_ids = self.catalogue.video_ids(channel, number)
        titles = self.titles[channel].tolist()
        url = watch_url("")  # the URL is its prefix and the id: one concatenation per row
        now = ts(np.array([self.now_s]))[0]
        ids: Ints = np.arange(first * m + 1, stop * m + 1, dtype=np.int64)
        return list(
            zip(
                ids.tolist(),
                np.repeat(user.ravel() + 1, m).tolist(),
                video_ids,
                [url + v for v in video_ids],
                [f"{t} #{n + 1}" for t, n in zip(titles, number.tolist(), strict=True)],
                self.channel_ids[channel].tolist(),
                ts(published),
                # Stand-ins that vary like real ones and cost nothing.
                (30 + (ids * 2654435761) % 1800).tolist(),
                ((ids * 40503) % 1_000_003).tolist(),
                repeat(now),
                repeat(now),
                strict=False,
            )
        )

    def links(self, tag_ids: Sequence[int], stride: int) -> list[Row]:
        """One tag link per user, on its last project: enough for the tag tables to matter."""
        m = self.config.videos_per_user
        return [
            (u * m, tag_ids[u * stride % len(tag_ids)]) for u in range(1, self.config.users + 1)
        ]


#: Seconds since the Unix epoch → one text per value, as the backend stores timestamps.
Formatter = Callable[[Ints], list[str]]


@cache
def _clock_texts(suffix: str) -> list[str]:
    """``HH:MM:SS`` + ``suffix`` for every second of a day."""
    return [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}{suffix}" for s in range(86_400)]


def _timestamps(seconds: Ints, suffix: str) -> list[str]:
    """``YYYY-MM-DD HH:MM:SS`` + ``suffix`` per value: a lookup per day and per second of day."""
    days, clock = np.divmod(seconds, 86_400)
    unique, which = np.unique(days, return_inverse=True)
    day_texts = [(_UNIX_DAY + timedelta(days=int(d))).isoformat() + " " for d in unique]
    texts = _clock_texts(suffix)
    return [
        day_texts[d] + texts[s] for d, s in zip(which.ravel().tolist(), clock.tolist(), strict=True)
    ]


_UNIX_DAY = date(1970, 1, 1)


def _load(
    conn: Connection, backend: Backend, population: Population, advance: Callable[[int], Any]
) -> None:
    """Write every seeded table, parents first, inside the caller's transaction."""
    config, ts = population.config, backend.timestamps
    backend.write(conn, "users", [population.users(ts)])
    backend.write(conn, "content_sources", [population.sources(ts)])
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
            yield population.projects(ts, first, stop)
            advance(stop - first)

    backend.write(conn, "projects", batches())
    backend.write(conn, "project_tools", [population.links(sorted(vocabulary.tools), 7)])
    backend.write(conn, "project_categories", [population.links(sorted(vocabulary.categories), 3)])
    backend.sync_sequences(conn, ("users", "content_sources", "projects"))


def _verify(conn: Connection, config: SeedConfig) -> dict[str, int]:
    """Rows per seeded table; :class:`SeedError` unless they are as asked and pairs are unique."""
    counts = _counts(conn, {name: _TABLES[name] for name in SEEDED})
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
    key = (_PROJECTS.c.user_id, _PROJECTS.c.video_id)
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


def _redacted(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


# -- backends ------------------------------------------------------------------------------


class Backend(ABC):
    """How one database takes a bulk load, and the SQL its raw baseline is written in."""

    #: Appended to ``YYYY-MM-DD HH:MM:SS``: what the column's readers expect.
    timestamp_suffix = ""

    def timestamps(self, seconds: Ints) -> list[str]:
        return _timestamps(seconds, self.timestamp_suffix)

    def bulk_mode(self, conn: Connection) -> AbstractContextManager[None]:
        """Settings that speed a load up, around (outside) its transaction."""
        return nullcontext()

    def unconstrained(self, conn: Connection, table: Table) -> AbstractContextManager[None]:
        """The load with ``table``'s secondary constraints dropped, rebuilt (and checked) after."""
        return nullcontext()

    def empty(self, conn: Connection, tables: Sequence[Table]) -> None:
        for table in tables:
            conn.execute(table.delete())

    @abstractmethod
    def write(self, conn: Connection, table: str, batches: Iterable[list[Row]]) -> None:
        """Insert ``batches`` of rows into ``table`` (columns as in ``_COLUMNS``)."""

    @abstractmethod
    def sync_sequences(self, conn: Connection, tables: Sequence[str]) -> None:
        """Move id generators past ids the load wrote itself."""

    def analyze(self, conn: Connection) -> None:
        """Fresh planner statistics for the seeded tables (not the whole shared server)."""
        conn.exec_driver_sql(f"ANALYZE {', '.join(SEEDED)}")
        conn.commit()

    # The raw baseline's SQL.
    @abstractmethod
    def series(self, n: int) -> tuple[str, str]:
        """``(prefix, source)`` of ``{prefix}SELECT … FROM {source}`` over ``i`` in 0..n-1."""

    @abstractmethod
    def hex11(self, expr: str) -> str:
        """``expr`` as 11 lower-case hex digits."""

    @abstractmethod
    def padded(self, expr: str, width: int) -> str:
        """``expr`` as ``width`` decimal digits."""

    @abstractmethod
    def at(self, base_s: int, offset_s: str) -> str:
        """The timestamp ``offset_s`` seconds after ``base_s``."""


class SQLiteBackend(Backend):
    """Executemany on the sqlite3 connection; a rollback journal rather than WAL during the load.

    With an empty file the rollback journal holds almost nothing, where WAL writes every page
    twice. Leaving WAL needs the file to itself: if another connection has it open, the load goes
    through WAL. The file is back in WAL afterwards. The inline unique index cannot be dropped, but
    rows arrive in ``user_id`` order, so it grows at its right edge.
    """

    timestamp_suffix = ".000000"  # SQLAlchemy's storage format: microseconds always written

    @contextmanager
    def bulk_mode(self, conn: Connection) -> Iterator[None]:
        conn.exec_driver_sql("PRAGMA busy_timeout=0")  # ask once, do not queue for the file
        try:
            conn.exec_driver_sql("PRAGMA journal_mode=DELETE")
        except OperationalError:
            conn.rollback()
        for pragma in ("busy_timeout=30000", "foreign_keys=OFF", "cache_size=-262144"):
            conn.exec_driver_sql(f"PRAGMA {pragma}")
        conn.commit()
        try:
            yield
        finally:
            conn.rollback()
            for pragma in ("journal_mode=WAL", "foreign_keys=ON", "cache_size=-2000"):
                conn.exec_driver_sql(f"PRAGMA {pragma}")
            conn.commit()

    def write(self, conn: Connection, table: str, batches: Iterable[list[Row]]) -> None:
        columns = _COLUMNS[table]
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
        cursor = _driver(conn).cursor()
        for batch in batches:
            cursor.executemany(sql, batch)

    def sync_sequences(self, conn: Connection, tables: Sequence[str]) -> None:
        """Nothing to move: a rowid table's next id is always past its largest."""

    def analyze(self, conn: Connection) -> None:
        # Sampled statistics: a full ANALYZE would read all 5M rows again.
        conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql("ANALYZE")
        conn.commit()

    def series(self, n: int) -> tuple[str, str]:
        return (
            f"WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < {n - 1}) ",
            "s",
        )

    def hex11(self, expr: str) -> str:
        return f"printf('%011x', {expr})"

    def padded(self, expr: str, width: int) -> str:
        return f"printf('%0{width}d', {expr})"

    def at(self, base_s: int, offset_s: str) -> str:
        return f"strftime('%Y-%m-%d %H:%M:%S', {base_s} + ({offset_s}), 'unixepoch') || '.000000'"


class PostgresBackend(Backend):
    """COPY on the psycopg connection, with the big table's unique and foreign keys rebuilt after.

    Building the unique index once from sorted data beats maintaining it row by row, and a single
    validating join beats a foreign-key trigger per row; re-adding both checks every row.
    """

    timestamp_suffix = "+00"

    @contextmanager
    def unconstrained(self, conn: Connection, table: Table) -> Iterator[None]:
        dropped = [
            c for c in table.constraints if isinstance(c, UniqueConstraint | ForeignKeyConstraint)
        ]
        # Not isolated: by default these constructs mark the shared metadata's constraints as
        # "added separately", and every later create_all in the process would leave them out.
        for constraint in dropped:
            conn.execute(DropConstraint(constraint, isolate_from_table=False))
        yield
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        for constraint in dropped:
            conn.execute(AddConstraint(constraint, isolate_from_table=False))

    def empty(self, conn: Connection, tables: Sequence[Table]) -> None:
        names = ", ".join(table.name for table in tables)
        conn.exec_driver_sql(f"TRUNCATE {names} RESTART IDENTITY")

    def write(self, conn: Connection, table: str, batches: Iterable[list[Row]]) -> None:
        copy_sql = f"COPY {table} ({', '.join(_COLUMNS[table])}) FROM STDIN"
        with _driver(conn).cursor() as cursor, cursor.copy(copy_sql) as copy:
            for batch in batches:
                for row in batch:
                    copy.write_row(row)

    def sync_sequences(self, conn: Connection, tables: Sequence[str]) -> None:
        for table in tables:
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT coalesce(max(id), 0) + 1 FROM {table}), false)"
            )

    def series(self, n: int) -> tuple[str, str]:
        return "", f"generate_series(0, {n - 1}) AS s(i)"

    def hex11(self, expr: str) -> str:
        return f"lpad(to_hex({expr}), 11, '0')"

    def padded(self, expr: str, width: int) -> str:
        return f"lpad(({expr})::text, {width}, '0')"

    def at(self, base_s: int, offset_s: str) -> str:
        return f"to_timestamp({base_s} + ({offset_s}))"


_BACKENDS: dict[str, type[Backend]] = {"sqlite": SQLiteBackend, "postgresql": PostgresBackend}


def _backend(engine: Engine) -> Backend:
    kind = _BACKENDS.get(engine.dialect.name)
    if kind is None:
        raise ValueError(f"no bulk loader for {engine.dialect.name!r}: use sqlite or postgresql")
    return kind()


def _driver(conn: Connection) -> Any:
    """The DB-API connection under ``conn``, for the driver's bulk paths."""
    return conn.connection.driver_connection


# -- the raw baseline ------------------------------------------------------------------------


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
            backend = _backend(engine)
            statements = _raw_inserts(backend, rows, int(now.timestamp()))
            with engine.connect() as conn:
                started = time.perf_counter()
                with backend.bulk_mode(conn), conn.begin():
                    with backend.unconstrained(conn, _PROJECTS):
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
    schema = f"ytscale_raw_{uuid.uuid4().hex[:8]}"
    admin = make_engine(database_url)
    try:
        with admin.begin() as conn:
            conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
        try:
            scoped = url.update_query_dict({"options": f"-csearch_path={schema}"})
            yield scoped.render_as_string(hide_password=False)
        finally:
            with admin.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    finally:
        admin.dispose()
