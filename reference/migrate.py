"""Run the Alembic migrations in ``migrations/`` from Python, whatever the working directory::

    upgrade("sqlite:///var/ytscale.db")          # to head
    upgrade(url, "0001")                        # the P0 report's schema, for audits and tests
    stamp(url)                                  # a database built by ``create_all`` is at head

No ``alembic.ini`` is read: the script location is fixed relative to the package (the repository's
``migrations/`` folder, which an editable install keeps in place) and the URL is handed to
``migrations/env.py`` through ``Config.attributes``.
"""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from reference.db import make_engine
from reference.settings import PROJECT_ROOT

MIGRATIONS_DIR = PROJECT_ROOT / "migrations"


def alembic_config(database_url: str) -> Config:
    """An Alembic config for ``database_url``; usable with any ``alembic.command``."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["database_url"] = database_url
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Migrate the database at ``database_url`` up to ``revision``."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Migrate the database at ``database_url`` down to ``revision``."""
    command.downgrade(alembic_config(database_url), revision)


def stamp(database_url: str, revision: str = "head") -> None:
    """Record ``revision`` as applied without running anything (for ``create_all`` databases)."""
    command.stamp(alembic_config(database_url), revision)


def current(database_url: str) -> str | None:
    """The revision the database is at, or None if it was never migrated or stamped."""
    engine = make_engine(database_url)
    try:
        with engine.connect() as conn:
            return MigrationContext.configure(conn).get_current_revision()
    finally:
        engine.dispose()


def head() -> str:
    """The newest revision in ``migrations/``."""
    revision = ScriptDirectory.from_config(alembic_config("")).get_current_head()
    if revision is None:
        raise RuntimeError(f"no revisions in {MIGRATIONS_DIR}")
    return revision
