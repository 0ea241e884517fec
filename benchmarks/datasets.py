"""Benchmark databases, built once per backend and parameters.

SQLite files are cached under ``var/bench/``, named by the dataset's parameters and a hash of its
schema and builder, so a rerun reuses them and a change to either builds afresh. PostgreSQL datasets
live in schemas of this run's own, dropped when the run ends: a shared server keeps no leftovers.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import shutil
import uuid
from collections.abc import Callable, Iterable, Mapping
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, text
from sqlalchemy.dialects.postgresql.base import PGDialect
from sqlalchemy.dialects.sqlite.base import SQLiteDialect
from sqlalchemy.schema import CreateIndex, CreateTable

from reference.db import make_engine
from reference.settings import VAR_DIR
from ytscale.instruments.scratch import scratch_schema

CACHE_DIR = VAR_DIR / "bench"
#: Fills the created tables: ``builder(conn, **params)``.
Builder = Callable[..., None]


def fingerprint(tables: Iterable[Table], builder: Builder) -> str:
    """A short hash of the tables' DDL on both dialects and the builder's source."""
    digest = hashlib.sha256(inspect.getsource(builder).encode())
    for table in tables:
        for dialect in (SQLiteDialect(), PGDialect()):  # type: ignore[no-untyped-call]
            digest.update(str(CreateTable(table).compile(dialect=dialect)).encode())
            for index in sorted(table.indexes, key=lambda ix: str(ix.name)):
                digest.update(str(CreateIndex(index).compile(dialect=dialect)).encode())
    return digest.hexdigest()[:12]


class Datasets:
    """Engines on built datasets, by backend; ``close()`` disposes them and drops PG schemas."""

    def __init__(self, postgres_base: str | None) -> None:
        self._postgres_base = postgres_base
        self._run = uuid.uuid4().hex[:8]
        self._engines: dict[tuple[str, str], Engine] = {}
        self._schemas = ExitStack()
        self._scratch = CACHE_DIR / "scratch" / self._run

    def engine(
        self,
        backend: str,
        name: str,
        tables: list[Table],
        builder: Builder,
        params: Mapping[str, Any],
        *,
        cache: bool = True,
    ) -> Engine:
        """An engine on dataset ``name``: ``tables`` filled by ``builder(conn, **params)``.

        ``cache=False`` is for datasets a benchmark writes to: they are built afresh in every run.
        """
        label = "-".join([name, *(f"{k}{v}" for k, v in sorted(params.items()))])
        key = (backend, label)
        if key not in self._engines:
            build = _Build(tables, builder, params)
            if backend == "sqlite":
                self._engines[key] = self._sqlite(label, build, cache)
            elif backend == "postgresql":
                self._engines[key] = self._postgresql(label, build)
            else:
                raise ValueError(f"unknown database backend {backend!r}")
        return self._engines[key]

    def close(self) -> None:
        for engine in self._engines.values():
            engine.dispose()
        self._schemas.close()
        shutil.rmtree(self._scratch, ignore_errors=True)

    def _sqlite(self, label: str, build: _Build, cache: bool) -> Engine:
        folder = CACHE_DIR if cache else self._scratch
        path = folder / f"{label}-{fingerprint(build.tables, build.builder)}.db"
        if not path.exists():
            # Builds of an older schema or builder are never used again, and 5M rows weigh 2 GB.
            for stale in folder.glob(f"{label}-*.db"):
                stale.unlink()
            # Build under a temporary name: an interrupted build never passes for a cached one.
            partial = path.with_suffix(f".{os.getpid()}.partial")
            _remove(partial)
            engine = make_engine(f"sqlite:///{partial}")
            build.into(engine)
            engine.dispose()
            for suffix in ("-wal", "-shm"):
                _remove(Path(f"{partial}{suffix}"))
            partial.replace(path)
        return make_engine(f"sqlite:///{path}")

    def _postgresql(self, label: str, build: _Build) -> Engine:
        if not self._postgres_base:
            raise RuntimeError("no PostgreSQL URL: the postgresql param should have skipped")
        schema = f"ytscale_bench_{self._run}_{label.replace('-', '_')}"
        url = self._schemas.enter_context(scratch_schema(self._postgres_base, schema))
        engine = make_engine(url)
        build.into(engine)
        return engine


@dataclass(frozen=True)
class _Build:
    tables: list[Table]
    builder: Builder
    params: Mapping[str, Any]

    def into(self, engine: Engine) -> None:
        with engine.begin() as conn:
            for table in self.tables:
                table.create(conn)
            self.builder(conn, **self.params)
        # Planner statistics, as a production database has them.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("ANALYZE"))


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
