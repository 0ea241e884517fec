"""Fixtures for the quota ledger's tests."""

from __future__ import annotations

from datetime import datetime

import pytest
import redis

from reference import kv
from reference.quota.days import PACIFIC, ManualClock


@pytest.fixture
def client(redis_url: str) -> redis.Redis:
    """A client of the store under test (fakeredis or real Redis)."""
    return kv.connect(redis_url)


@pytest.fixture
def clock() -> ManualClock:
    """Noon PT on an ordinary summer day; tests move it where they need it."""
    return ManualClock(datetime(2025, 6, 15, 12, tzinfo=PACIFIC))
