"""Per-user bearer tokens derived from one shared secret: no login round trip, no token table.

A token is ``"<user_id>.<first 32 hex digits of HMAC-SHA256(secret, str(user_id))>"``, so whoever
holds the secret (the API, a load generator acting as any of 100,000 seeded users) can derive any
user's token, and nobody else can forge one::

    token = token_for(settings.secret, 42)        # "42.9f0c…"
    user_from_token(settings.secret, token)       # 42
    user_from_token(settings.secret, "42.0000")   # None: wrong signature
"""

from __future__ import annotations

import hashlib
import hmac
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Final

#: Hex digits of the HMAC kept in a token: 128 bits, as hard to guess as a random UUID.
SIGNATURE_HEX: Final = 32
#: Largest id a token may name: a signed 64-bit integer, the widest column any backend keeps.
MAX_USER_ID: Final = 2**63 - 1
#: Canonical decimal only (no sign, no leading zero), so one user has exactly one token.
_TOKEN = re.compile(rf"([1-9][0-9]{{0,18}})\.([0-9a-f]{{{SIGNATURE_HEX}}})")


def signature(secret: str, user_id: int) -> str:
    digest = hmac.new(secret.encode(), str(user_id).encode(), hashlib.sha256).hexdigest()
    return digest[:SIGNATURE_HEX]


def token_for(secret: str, user_id: int) -> str:
    """The bearer token of ``user_id`` under ``secret``."""
    if not 1 <= user_id <= MAX_USER_ID:
        raise ValueError(f"user id must be 1..{MAX_USER_ID}, not {user_id}")
    return f"{user_id}.{signature(secret, user_id)}"


def user_from_token(secret: str, token: str) -> int | None:
    """The user a token names if its signature is right under ``secret``; ``None`` otherwise.

    The signature is compared in constant time, so response timing reveals nothing of it.
    """
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    user_id = int(match.group(1))
    if user_id > MAX_USER_ID:
        return None
    return user_id if hmac.compare_digest(match.group(2), signature(secret, user_id)) else None


class KnownUsers:
    """Which user ids exist, asked of ``lookup`` once per ``ttl_s`` and remembered meanwhile.

    A signed token for a user who does not exist is still refused; remembering the users seen
    spares every authenticated request a database round trip. Only existing users are remembered
    (an unknown id is asked again next time), and at most ``capacity`` of them, least recent first
    to go.
    """

    def __init__(
        self,
        lookup: Callable[[int], bool],
        *,
        ttl_s: float = 300.0,
        capacity: int = 200_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self._ttl_s = ttl_s
        self._capacity = capacity
        self._clock = clock
        self._seen: OrderedDict[int, float] = OrderedDict()
        self._lock = threading.Lock()

    def seen(self, user_id: int) -> bool:
        """Whether ``user_id`` is remembered as existing (no lookup): the fast path."""
        now = self._clock()
        with self._lock:
            expires = self._seen.get(user_id)
            if expires is None or expires <= now:
                return False
            self._seen.move_to_end(user_id)
            return True

    def __contains__(self, user_id: int) -> bool:
        """Whether ``user_id`` exists, looking it up unless it is remembered."""
        if self.seen(user_id):
            return True
        if not self._lookup(user_id):
            return False
        with self._lock:
            self._seen[user_id] = self._clock() + self._ttl_s
            self._seen.move_to_end(user_id)
            while len(self._seen) > self._capacity:
                self._seen.popitem(last=False)
        return True
