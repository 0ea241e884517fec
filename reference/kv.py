"""Key-value store connections by URL: ``fakeredis://`` (in-process, with Lua), ``redis://`` or
``redis+cluster://`` (a Redis Cluster, reached through any of its nodes).

One fakeredis server is kept per URL so every connection made in a process sees the same data, as
clients of one real Redis would.

On a cluster a Lua script may touch only keys of one hash slot, so every key one script or one
multi-key command uses shares a ``{…}`` hash tag (:func:`tagged`).
"""

from __future__ import annotations

import copy
import threading
from typing import TypeAlias

import fakeredis
import redis
from redis.backoff import ExponentialBackoff
from redis.cluster import RedisCluster
from redis.commands.core import Script
from redis.retry import Retry

#: A client of one Redis (or fakeredis) or of a Redis Cluster: the commands the pipeline uses.
Store: TypeAlias = redis.Redis | RedisCluster

_fake_servers: dict[str, fakeredis.FakeServer] = {}
_lock = threading.Lock()
_CLUSTER_SCHEMES = {"redis+cluster://": "redis://", "rediss+cluster://": "rediss://"}
#: A dropped connection or a timeout is retried a few times, within about a second: every command
#: the pipeline sends is safe to repeat (the ledger's scripts are idempotent on the reservation, a
#: second bump of the vocabulary version only makes readers reload once more).
_RETRY = Retry(ExponentialBackoff(cap=0.5, base=0.05), retries=3)
_OPTIONS = {"socket_timeout": 5, "socket_connect_timeout": 2}


def connect(url: str) -> Store:
    """Return a client for ``url``; ``fakeredis://name`` gives a shared in-process server."""
    if url.startswith("fakeredis://"):
        with _lock:
            server = _fake_servers.setdefault(url, fakeredis.FakeServer())
        fake = fakeredis.FakeRedis(server=server)
        fake.set_retry(copy.deepcopy(_RETRY))  # its constructor drops ``retry``
        return fake
    for scheme, plain in _CLUSTER_SCHEMES.items():
        if url.startswith(scheme):
            # redis-py leaves RedisCluster.from_url untyped.
            cluster: RedisCluster = RedisCluster.from_url(  # type: ignore[no-untyped-call]
                plain + url.removeprefix(scheme), retry=copy.deepcopy(_RETRY), **_OPTIONS
            )
            return cluster
    if url.startswith(("redis://", "rediss://", "unix://")):
        return redis.Redis.from_url(url, retry=copy.deepcopy(_RETRY), **_OPTIONS)
    raise ValueError(
        f"unsupported key-value store URL {url!r}: use fakeredis://, redis:// or redis+cluster://"
    )


def script(client: Store, text: str) -> Script:
    """``text`` as a Lua script on ``client``, sent by SHA (loaded once if the server lacks it)."""
    # redis-py types a Script's client as Redis; it calls only evalsha/script_load, which a
    # RedisCluster routes to the slot of the script's keys.
    return Script(client, text)  # type: ignore[arg-type]


def tagged(group: str, name: str) -> str:
    """The key ``name`` of ``group``: every key of one group lands in one cluster hash slot."""
    return f"{{{group}}}:{name}"
