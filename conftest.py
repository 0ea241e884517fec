"""Fixtures shared by tests and benchmarks: the backends of ``tests.backends``, per test.

Every run gets its own PostgreSQL schema and Redis key prefix, so runs sharing one server never
collide.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from reference import kv
from reference.db import make_engine
from reference.models import Base
from tests.backends import (
    DATABASES,
    POSTGRES_ENV,
    RUN_ID,
    STORE_ENVS,
    STORES,
    require_env,
    store_url,
)
from ytscale.instruments.scratch import scratch_schema


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's backend URLs by accident."""
    for name in (
        "DATABASE_URL", "REDIS_URL", "YOUTUBE_URL", "BROKER_URL", "YTSCALE_SYNC_STRATEGY",
        "YOUTUBE_FEED_URL", "WEBSUB_HUB_URL", "YTSCALE_CALLBACK_URL",
    ):  # fmt: skip
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A URL whose connections land in a schema of this run's own, dropped at the end."""
    with scratch_schema(require_env(POSTGRES_ENV), f"ytscale_{RUN_ID}") as url:
        yield url


def database_url(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'ytscale.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture(params=DATABASES)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database URL (no tables), per backend."""
    url = database_url(request.param, request, tmp_path)
    if request.param == "postgresql":
        engine = make_engine(url)
        Base.metadata.drop_all(engine)
        engine.dispose()
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on a database holding the head schema, per backend."""
    eng = make_engine(db_url)
    Base.metadata.drop_all(eng)
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture(params=STORES)
def redis_url(request: pytest.FixtureRequest) -> str:
    """A key-value store URL, per backend (``tests.backends.LEDGER_STORES`` adds a cluster)."""
    return store_url(request.param)


@pytest.fixture
def key_prefix() -> Iterator[str]:
    """A key prefix no other test or run uses; its keys are deleted afterwards on real stores."""
    prefix = f"test:{RUN_ID}:{uuid.uuid4().hex[:8]}:"
    yield prefix
    for url in filter(None, map(os.environ.get, STORE_ENVS.values())):
        client = kv.connect(url)
        # The ledger's keys open with a "{" hash tag; one DEL per key, since a cluster's keys
        # may lie in different slots.
        for key in list(client.scan_iter(f"*{prefix}*")):
            client.delete(key)
