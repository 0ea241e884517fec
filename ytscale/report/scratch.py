"""Scratch SQLite populations for the report's measurements: the main database is never touched."""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from reference.settings import Settings
from ytscale.seed import SeedConfig, seed


@contextmanager
def scratch_settings(settings: Settings, users: int, seed_value: int = 1) -> Iterator[Settings]:
    """``settings`` on a fresh SQLite file seeded with ``users`` users (one source each).

    Redis and the broker stay the deployment's, under a key prefix of this scratch's own.
    """
    with tempfile.TemporaryDirectory(prefix="ytscale-report-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'scratch.db'}"
        config = SeedConfig(users=users, videos_per_user=2, seed=seed_value, n_tools=20)
        seed(url, config, progress=False)
        yield replace(
            settings,
            database_url=url,
            key_prefix=f"{settings.key_prefix}report:{uuid.uuid4().hex[:8]}:",
        )
