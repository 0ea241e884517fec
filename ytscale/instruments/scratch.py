"""A PostgreSQL schema of one's own on a shared server: created, handed out as a URL, dropped.

Tests, benchmarks and the seed's raw baseline each measure in an empty database beside a given
one; on PostgreSQL that is a schema, reached through a URL whose connections put it first on
their ``search_path``::

    with scratch_schema("postgresql+psycopg://127.0.0.1/test", "ytscale_raw_1a2b") as url:
        engine = make_engine(url)      # tables it creates land in ytscale_raw_1a2b
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

from reference.db import make_engine


@contextmanager
def scratch_schema(database_url: str, schema: str) -> Iterator[str]:
    """``database_url`` scoped to a new schema ``schema``, dropped with all it holds on exit."""
    _execute(database_url, f"CREATE SCHEMA {schema}")
    try:
        scoped = make_url(database_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        _execute(database_url, f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _execute(database_url: str, statement: str) -> None:
    # An engine per statement: no idle admin connection is held while the scratch is in use.
    engine = make_engine(database_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(statement)
    finally:
        engine.dispose()
