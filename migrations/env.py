"""Alembic environment: run migrations on the URL ``reference.migrate`` hands over.

The URL travels in ``config.attributes`` rather than ``sqlalchemy.url`` because ConfigParser would
read the ``%`` of a URL-encoded option (``options=-csearch_path%3D...``) as interpolation.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from reference.db import make_engine
from reference.models import Base
from reference.settings import Settings

config = context.config


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=True,  # SQLite can only add constraints by rebuilding the table
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    url = config.attributes.get("database_url") or Settings.from_env().database_url
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                # A batch rebuild drops and renames tables; with foreign keys enforced, dropping
                # ``projects`` would cascade-delete every tool and category link.
                connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
                connection.commit()
            _run(connection)
    finally:
        engine.dispose()


if context.is_offline_mode():
    raise SystemExit("ytscale migrations run online only: they backfill data in Python")
run_online()
