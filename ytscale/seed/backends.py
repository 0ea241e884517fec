"""How each database takes the seed's bulk load, and the SQL its raw baseline is written in."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import date, timedelta
from functools import cache
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, ForeignKeyConstraint, Table, UniqueConstraint
from sqlalchemy.exc import OperationalError
from sqlalchemy.schema import AddConstraint, DropConstraint

from ytscale.seed.population import COLUMNS, SEEDED, Ints, Row


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
        """Insert ``batches`` of rows into ``table`` (columns as in ``COLUMNS``)."""

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
        columns = COLUMNS[table]
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
        copy_sql = f"COPY {table} ({', '.join(COLUMNS[table])}) FROM STDIN"
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


def backend_for(engine: Engine) -> Backend:
    kind = _BACKENDS.get(engine.dialect.name)
    if kind is None:
        raise ValueError(f"no bulk loader for {engine.dialect.name!r}: use sqlite or postgresql")
    return kind()


def _driver(conn: Connection) -> Any:
    """The DB-API connection under ``conn``, for the driver's bulk paths."""
    return conn.connection.driver_connection
