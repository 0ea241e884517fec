"""The public channel feed reader: a channel's latest uploads, no API key, no quota.

```python
reader = FeedReader("https://www.youtube.com", transport=None)
feed = reader.channel("UC…")          # atom.Feed, newest first, at most 15 entries
```

The feed is a plain HTTP GET of ``/feeds/videos.xml?channel_id=…`` on YouTube's web host, not the
Data API: nothing is reserved in the quota ledger. It is cached upstream, so an upload shows up
minutes late, and it lists only the latest :data:`~reference.youtube.atom.FEED_ENTRIES` uploads;
the sync (:mod:`reference.pipeline`) falls back to the uploads playlist when it may have missed
more than that.

Errors are the client's (:mod:`reference.youtube.errors`): 5xx, timeouts and network failures are
retried a few times with full-jitter backoff, then raise ``YouTubeUnavailable``; 404 (no such
channel) raises ``NotFound``; a body that is not YouTube's Atom raises ``MalformedResponse``.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import httpx

from reference.youtube.atom import AtomError, Feed, parse_feed
from reference.youtube.errors import (
    MalformedResponse,
    NotFound,
    RequestRejected,
    YouTubeUnavailable,
)

FEED_PATH = "/feeds/videos.xml"


class FeedReader:
    """Reads channel feeds from ``base_url``; one per process, shared by threads like httpx's."""

    def __init__(
        self,
        base_url: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | None = None,
        max_attempts: int = 3,
        backoff_base: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self._http = httpx.Client(
            base_url=base_url,
            transport=transport,
            timeout=timeout or httpx.Timeout(10.0, connect=3.0, pool=5.0),
            headers={"accept": "application/atom+xml"},
        )
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._sleep = sleep
        self._jitter = jitter

    def close(self) -> None:
        self._http.close()

    def channel(self, channel_id: str) -> Feed:
        """The channel's feed: its latest uploads, newest first."""
        for attempt in range(1, self._max_attempts + 1):
            try:
                return self._once(channel_id)
            except YouTubeUnavailable as exc:
                if attempt == self._max_attempts:
                    exc.add_note(f"gave up after {attempt} attempts")
                    raise
            self._sleep(self._jitter() * self._backoff_base * 2 ** (attempt - 1))
        raise AssertionError("unreachable: the last attempt returns or raises")

    def _once(self, channel_id: str) -> Feed:
        what = f"feed of {channel_id}"
        try:
            response = self._http.get(FEED_PATH, params={"channel_id": channel_id})
        except httpx.TransportError as exc:
            raise YouTubeUnavailable(f"{what}: {exc!r}", reason=type(exc).__name__) from exc
        status = response.status_code
        if status >= 500:
            raise YouTubeUnavailable(
                f"{what}: HTTP {status}", reason=f"http{status}", status=status
            )
        if status == 404:
            raise NotFound(f"{what}: no such channel", reason="channelNotFound", status=status)
        if not response.is_success:
            raise RequestRejected(f"{what}: HTTP {status}", reason=f"http{status}", status=status)
        try:
            return parse_feed(response.content)
        except AtomError as exc:
            raise MalformedResponse(f"{what}: {exc}", reason="malformedFeed") from exc
