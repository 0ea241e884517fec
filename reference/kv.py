"""Key-value store connections by URL: ``fakeredis://`` (in-process, with Lua) or ``redis://``.

One fakeredis server is kept per URL so every connection made in a process sees the same data, as
clients of one real Redis would.
"""

from __future__ import annotations

import threading

import fakeredis
import redis

_fake_servers: dict[str, fakeredis.FakeServer] = {}
_lock = threading.Lock()


def connect(url: str) -> redis.Redis:
    """Return a Redis client for ``url``; ``fakeredis://name`` gives a shared in-process server."""
    if url.startswith("fakeredis://"):
        with _lock:
            server = _fake_servers.setdefault(url, fakeredis.FakeServer())
        return fakeredis.FakeRedis(server=server)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
    raise ValueError(f"unsupported key-value store URL {url!r}: use fakeredis:// or redis://")
