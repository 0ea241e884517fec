"""Fixtures shared by the tests: services on every database × key-value store, a fake YouTube, and
the quota ledger's store and clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest
import redis
from sqlalchemy import Engine, text

from reference import kv
from reference.db import make_engine
from reference.models import Base, User
from reference.quota.days import PACIFIC, ManualClock
from reference.services import Services
from reference.settings import Settings
from ytscale.fake.youtube import FakeYouTube

USERS = 3


@pytest.fixture
def fake() -> FakeYouTube:
    return FakeYouTube()


@pytest.fixture
def settings(engine: Engine, redis_url: str, key_prefix: str) -> Settings:
    return Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        redis_url=redis_url,
        key_prefix=key_prefix,
    )


@pytest.fixture
def services(settings: Settings, fake: FakeYouTube) -> Iterator[Services]:
    """Services on the test's backends with users 1..USERS, talking to the in-process fake."""
    svc = Services.from_settings(settings, youtube_transport=fake.transport())
    with svc.sessions.begin() as session:
        session.add_all(User(id=i, name=f"user{i}") for i in range(1, USERS + 1))
    yield svc
    svc.close()


@pytest.fixture
def url(db_url: str) -> Iterator[str]:
    """An empty database for migrations and the seed; what they leave, ``alembic_version``
    included, is dropped afterwards."""
    yield db_url
    engine = make_engine(db_url)
    Base.metadata.drop_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS alembic_version"))
    engine.dispose()


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    """A client of the store under test (fakeredis or real Redis)."""
    return kv.connect(redis_url)


@pytest.fixture
def clock() -> ManualClock:
    """Noon PT on an ordinary summer day; tests move it where they need it."""
    return ManualClock(datetime(2025, 6, 15, 12, tzinfo=PACIFIC))
