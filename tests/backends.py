"""The backends every test and benchmark runs on: one table of ``pytest.param``s with their marks.

Real servers are reached through ``YTSCALE_TEST_POSTGRES_URL`` and ``YTSCALE_TEST_REDIS_URL``
(``.ci/run`` exports both); without them the real-server params skip, naming the unset variable.
"""

from __future__ import annotations

import os
import uuid

import pytest

POSTGRES_ENV = "YTSCALE_TEST_POSTGRES_URL"
REDIS_ENV = "YTSCALE_TEST_REDIS_URL"
RUN_ID = uuid.uuid4().hex[:8]

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]
STORES = [
    pytest.param("fakeredis", id="fakeredis"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
]


def require_env(name: str) -> str:
    url = os.environ.get(name)
    if not url:
        pytest.skip(f"{name} is not set: no real server to run against")
    return url
