"""The YouTube Data API client: httpx (HTTP/2, bounded pool), quota first, retries, a breaker.

```python
client = client_from_settings(settings, ledger)       # the transport follows the URL's scheme
videos = client.videos(["dQw4w9WgXcQ", ...], user_id=7)   # 50 ids per request
channel = client.channel(handle="@veritasium")           # None when there is no such channel
for page in client.playlist_pages(channel.uploads_playlist_id):
    ...                                                   # lazy: stop early, spend no more quota
```

One client per process and host: Celery's threads pool shares it (``httpx.Client`` "can be shared
between threads", per its docstring; the breaker takes a lock; the ledger is atomic by contract).

**Every request** (each attempt, each page, each 50-id batch) first passes the circuit breaker, then
reserves its cost (``reference.quota.costs``) in the ledger, then goes to YouTube:

- breaker open → ``CircuitOpenError`` at once: nothing reserved, nothing sent;
- ledger refuses → ``QuotaExceededError(reason="quotaExhausted")``: nothing sent;
- 5xx, 429, 403 ``rateLimitExceeded``/``userRateLimitExceeded``, timeouts and network errors are
  retried up to ``max_attempts`` with exponential backoff and full jitter (AWS Architecture Blog,
  "Exponential Backoff And Jitter": sleep ``uniform(0, min(cap, base * 2**n))``);
- 403 ``quotaExceeded`` is never retried: it marks the ledger exhausted, refunds, raises at once;
- any other 4xx raises ``RequestRejected`` (``NotFound`` for 404) with YouTube's message.

**Refunds.** YouTube charges every request that reaches it, invalid ones included, so a reservation
is refunded only when the request provably never left this process (connect errors, connect
timeouts, pool timeouts) or YouTube answered ``quotaExceeded`` (nothing left to bill: its counter
is at the cap). A read timeout, a dropped connection or a 5xx may have been charged and is kept:
the ledger may overcount a failing request but never undercounts, and undercounting is what ends
in YouTube's ``quotaExceeded``. The fake (``ytscale.fake.youtube``) bills by the same table, so
ledger and fake agree exactly, except on a dropped connection: the fake bills it nothing, and a
client cannot tell that drop from one after processing.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from reference.quota.costs import MAX_IDS_PER_CALL, MAX_RESULTS_PER_PAGE, cost
from reference.quota.ledger import QuotaExhausted, QuotaLedger, Reservation
from reference.settings import Settings
from reference.youtube.breaker import CircuitBreaker
from reference.youtube.errors import (
    MalformedResponse,
    NotFound,
    QuotaExceededError,
    RateLimitedError,
    RequestRejected,
    YouTubeError,
    YouTubeUnavailable,
)
from reference.youtube.parse import Channel, Json, Page, Video
from reference.youtube.transports import transport_for

__all__ = ["ClientConfig", "YouTubeClient", "client_from_settings"]

T = TypeVar("T")

#: Where the Data API lives under the host (https://www.googleapis.com/youtube/v3/videos).
API_PATH = "/youtube/v3/"
VIDEO_PARTS = ("snippet", "contentDetails", "statistics")
#: 403 reasons that mean "slow down", not "no quota": worth a retry after a backoff.
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})

# Raised before the request left this process: YouTube cannot have charged it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)
# May clear up on another attempt. Anything else (a bad URL scheme, a proxy misconfiguration) won't.
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


@dataclass(frozen=True)
class ClientConfig:
    """Transport, retry and breaker knobs; the defaults suit a Celery worker of ~16-32 threads.

    With HTTP/2 one connection multiplexes every thread's requests (Google allows 100 concurrent
    streams), so the pool bound matters for HTTP/1.1 fallbacks; the pool timeout turns a starved
    pool into a retryable error instead of an unbounded wait. ``limits`` and ``http2`` apply to the
    network transport only: an injected transport brings its own.
    """

    timeout: httpx.Timeout = field(
        default_factory=lambda: httpx.Timeout(10.0, connect=3.0, pool=5.0)
    )
    limits: httpx.Limits = field(
        default_factory=lambda: httpx.Limits(max_connections=32, max_keepalive_connections=16)
    )
    http2: bool = True
    #: Requests per call, the first included.
    max_attempts: int = 4
    backoff_base: float = 0.5
    backoff_cap: float = 8.0
    failure_threshold: int = 5
    cooldown: float = 30.0


class YouTubeClient:
    """Reads videos, channels and playlist pages, charging ``ledger`` for every request."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        ledger: QuotaLedger,
        *,
        transport: httpx.BaseTransport | None = None,
        config: ClientConfig | None = None,
        breaker: CircuitBreaker | None = None,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.config = config or ClientConfig()
        if self.config.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        self._ledger = ledger
        self._sleep = sleep
        self._jitter = jitter
        self._http = httpx.Client(
            base_url=base_url,
            # A header, not ?key=: URLs end up in logs, exception messages and proxies' records.
            headers={"accept": "application/json", "x-goog-api-key": api_key},
            http2=self.config.http2,
            limits=self.config.limits,
            timeout=self.config.timeout,
            transport=transport,
        )
        self.breaker = breaker or CircuitBreaker(
            failure_threshold=self.config.failure_threshold,
            cooldown=self.config.cooldown,
            name=self._http.base_url.host,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> YouTubeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def videos(
        self,
        ids: Iterable[str],
        parts: Iterable[str] = VIDEO_PARTS,
        user_id: int | None = None,
    ) -> list[Video]:
        """The videos among ``ids`` that exist, one request per 50 distinct ids, in answer order.

        ``parts`` must include ``snippet``; without ``contentDetails`` or ``statistics`` the
        duration or view count is ``None``.
        """
        part = ",".join(parts)
        if "snippet" not in part.split(","):
            raise ValueError(f"videos() needs the snippet part, not only {part!r}")
        unique = list(dict.fromkeys(ids))
        found: list[Video] = []
        for start in range(0, len(unique), MAX_IDS_PER_CALL):
            batch = ",".join(unique[start : start + MAX_IDS_PER_CALL])
            body = self._call("videos.list", {"part": part, "id": batch}, user_id)
            found.extend(self._parse("videos.list", Video.from_api, i) for i in _items(body))
        return found

    def channel(
        self,
        channel_id: str | None = None,
        handle: str | None = None,
        user_id: int | None = None,
    ) -> Channel | None:
        """The channel with this id or ``@handle``; ``None`` when YouTube knows no such channel."""
        if (channel_id is None) == (handle is None):
            raise ValueError("name exactly one of channel_id or handle")
        params = {"part": "snippet,contentDetails,statistics"}
        if channel_id is not None:
            params["id"] = channel_id
        elif handle is not None:
            params["forHandle"] = handle
        items = _items(self._call("channels.list", params, user_id))
        return self._parse("channels.list", Channel.from_api, items[0]) if items else None

    def playlist_page(
        self,
        playlist_id: str,
        page_token: str | None = None,
        max_results: int = MAX_RESULTS_PER_PAGE,
        user_id: int | None = None,
    ) -> Page:
        """One page of a playlist; raises ``NotFound`` for an unknown playlist."""
        if not 1 <= max_results <= MAX_RESULTS_PER_PAGE:
            raise ValueError(f"max_results must be 1..{MAX_RESULTS_PER_PAGE}, not {max_results}")
        # The walk needs only ids: contentDetails carries them, and without the snippet (titles,
        # descriptions, thumbnails) a page is a fraction of the bytes, at the same one unit.
        params = {
            "part": "contentDetails",
            "playlistId": playlist_id,
            "maxResults": str(max_results),
        }
        if page_token:
            params["pageToken"] = page_token
        body = self._call("playlistItems.list", params, user_id)
        return self._parse("playlistItems.list", Page.from_api, body)

    def playlist_pages(
        self,
        playlist_id: str,
        max_results: int = MAX_RESULTS_PER_PAGE,
        user_id: int | None = None,
    ) -> Iterator[Page]:
        """Every page of a playlist, fetched only as the caller asks for it."""
        token: str | None = None
        while True:
            page = self.playlist_page(playlist_id, token, max_results, user_id)
            yield page
            if page.next_page_token is None:
                return
            token = page.next_page_token

    def _call(self, method: str, params: Mapping[str, str], user_id: int | None) -> Json:
        """One API call: as many requests as it takes, up to ``max_attempts``."""
        attempt = 1
        while True:
            try:
                return self._attempt(method, params, user_id)
            except (RateLimitedError, YouTubeUnavailable) as exc:
                if attempt >= self.config.max_attempts:
                    exc.add_note(f"gave up after {attempt} attempts")
                    raise
            self._sleep(self._backoff(attempt))
            attempt += 1

    def _backoff(self, attempt: int) -> float:
        """Full jitter: anywhere between 0 and the exponential ceiling, so retries spread out."""
        ceiling = min(self.config.backoff_cap, self.config.backoff_base * 2.0 ** (attempt - 1))
        return self._jitter() * ceiling

    def _attempt(self, method: str, params: Mapping[str, str], user_id: int | None) -> Json:
        """One request: breaker, reservation, HTTP; tells the breaker how YouTube looked."""
        permit = self.breaker.acquire()
        healthy: bool | None = None  # no verdict unless YouTube answered or the network failed
        try:
            reservation = self._reserve(method, user_id)
            try:
                response = self._http.get(API_PATH + method.split(".")[0], params=params)
            except httpx.TransportError as exc:
                if isinstance(exc, _NOT_SENT):
                    self._ledger.refund(reservation)
                transient = isinstance(exc, _TRANSIENT)
                healthy = False if transient and not isinstance(exc, httpx.PoolTimeout) else None
                error = YouTubeUnavailable if transient else YouTubeError
                raise error(f"{method}: {exc!r}", reason=type(exc).__name__) from exc
            healthy = response.status_code < 500
            return self._read(method, response, reservation)
        finally:
            self.breaker.record(permit, healthy)

    def _reserve(self, method: str, user_id: int | None) -> Reservation:
        try:
            return self._ledger.reserve(cost(method), user_id=user_id)
        except QuotaExhausted as exc:
            raise QuotaExceededError(
                f"{method}: not sent, the quota budget is exhausted ({exc})",
                reason="quotaExhausted",
                scope=exc.scope,
                resets_at=exc.resets_at,
            ) from exc

    def _read(self, method: str, response: httpx.Response, reservation: Reservation) -> Json:
        """The JSON body of a 2xx answer; otherwise the error it stands for, raised."""
        if response.is_success:
            return self._parse(method, _json_object, response)
        status = response.status_code
        reason, message = _error_detail(response)
        text = f"{method}: HTTP {status} {reason}: {message}"
        if status == 403 and reason == "quotaExceeded":
            # Exhausted before refunded: no other worker can take the refunded units in between.
            self._ledger.mark_exhausted()
            self._ledger.refund(reservation)
            raise QuotaExceededError(text, reason=reason, status=status)
        if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS):
            raise RateLimitedError(text, reason=reason, status=status)
        if status >= 500:
            raise YouTubeUnavailable(text, reason=reason, status=status)
        if status == 404:
            raise NotFound(text, reason=reason, status=status)
        raise RequestRejected(text, reason=reason, status=status)

    @staticmethod
    def _parse(method: str, parser: Callable[[Any], T], data: Any) -> T:
        try:
            return parser(data)
        except (KeyError, TypeError, ValueError) as exc:
            raise MalformedResponse(
                f"{method}: unexpected response shape: {exc!r}", reason="malformedResponse"
            ) from exc


def client_from_settings(
    settings: Settings,
    ledger: QuotaLedger,
    transport: httpx.BaseTransport | None = None,
    *,
    config: ClientConfig | None = None,
) -> YouTubeClient:
    """A client for ``settings.youtube_url``, by its scheme (``reference.youtube.transports``)."""
    return YouTubeClient(
        settings.youtube_url,
        settings.youtube_api_key,
        ledger,
        transport=transport or transport_for(settings),
        config=config,
    )


def _items(body: Json) -> list[Json]:
    items: list[Json] = body.get("items") or []
    return items


def _json_object(response: httpx.Response) -> Json:
    body = response.json()
    if not isinstance(body, dict):
        raise TypeError(f"expected a JSON object, got {type(body).__name__}")
    return body


def _error_detail(response: httpx.Response) -> tuple[str, str]:
    """YouTube's ``errors[0].reason`` and message, or ``http<status>`` for a body without them."""
    fallback = (f"http{response.status_code}", response.reason_phrase)
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return fallback
    if not isinstance(error, dict):
        return fallback
    errors = error.get("errors") or [{}]
    reason = errors[0].get("reason") if isinstance(errors[0], dict) else None
    return str(reason or fallback[0]), str(error.get("message") or fallback[1])
