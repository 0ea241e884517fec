"""The backends every test and benchmark runs on: one table of ``pytest.param``s with their marks.

Real servers are reached through ``YTSCALE_TEST_POSTGRES_URL``, ``YTSCALE_TEST_REDIS_URL`` and
``YTSCALE_TEST_REDIS_CLUSTER_URL`` (``redis+cluster://host:port``, any node of a Redis Cluster);
``.ci/run`` exports all three. Without them the real-server params skip, naming the unset variable.
"""

from __future__ import annotations

import os
import uuid

import pytest

POSTGRES_ENV = "YTSCALE_TEST_POSTGRES_URL"
REDIS_ENV = "YTSCALE_TEST_REDIS_URL"
CLUSTER_ENV = "YTSCALE_TEST_REDIS_CLUSTER_URL"
RUN_ID = uuid.uuid4().hex[:8]

DATABASES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]
STORES = [
    pytest.param("fakeredis", id="fakeredis"),
    pytest.param("redis", id="redis", marks=pytest.mark.redis),
]
#: The stores the quota ledger runs on: a Redis Cluster too, where every script must keep to one
#: hash slot. (The report's variants and the Celery broker stay on one Redis.)
LEDGER_STORES = [
    *STORES,
    pytest.param("redis-cluster", id="redis-cluster", marks=pytest.mark.redis_cluster),
]
#: Real stores by param, and the variable naming each.
STORE_ENVS = {"redis": REDIS_ENV, "redis-cluster": CLUSTER_ENV}


def store_url(kind: str) -> str:
    """A URL of the store ``kind`` names (a fresh fakeredis server, or the real one's variable)."""
    if kind == "fakeredis":
        return f"fakeredis://{uuid.uuid4().hex}"
    return require_env(STORE_ENVS[kind])


def require_env(name: str) -> str:
    url = os.environ.get(name)
    if not url:
        pytest.skip(f"{name} is not set: no real server to run against")
    return url
