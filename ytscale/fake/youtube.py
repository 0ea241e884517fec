"""A fake YouTube Data API v3: ``videos.list``, ``channels.list``, ``playlistItems.list``.

Bodies are shaped like the real API's (kinds, etags, ``pageInfo``, counts as strings, ISO-8601
durations, RFC 3339 times, YouTube's error envelope) and validate against the schemas of the
official discovery document. Data comes from the on-demand :class:`Catalogue`; faults and latency
from :class:`Faults`. Two ways to run it::

    fake = FakeYouTube(FakeConfig(seed=1, daily_quota=10_000))
    client = httpx.Client(base_url="fake://youtube", transport=fake.transport())   # in-process
    fake.used                  # units charged today: the truth the pipeline's ledger is held to

    python -m ytscale.fake.youtube --port 8001 --seed 1 --latency-mean 5 --time-scale 100
    uvicorn --factory ytscale.fake.youtube:create_app --port 8001   # YTSCALE_FAKE_ARGS="--seed 1"

Admin endpoints (never charged, never faulted): ``GET /_fake/stats``, ``POST /_fake/reset``,
``POST /_fake/storm?requests=N`` (or ``seconds=S``), ``POST /_fake/advance?seconds=S``,
``POST /_fake/hub/pump`` (one pump of the hub; its report).

Beside the Data API, two things YouTube serves for free (``stats()["feed"]``, ``stats()["hub"]``):

- ``GET /feeds/videos.xml?channel_id=UC…`` (or ``playlist_id=UU…``): the public Atom feed of the
  channel's latest 15 uploads (``reference.youtube.atom``), as of ``feed_delay_s`` simulated
  seconds ago since the real one is cached. No key, never charged, no quota storm or rate limit;
  drops, 5xx and latency apply (the feed host fails too), drawn apart from the API's. Unknown
  channel: 404; ``user=`` (legacy usernames) is not served.
- ``POST /subscribe``: Google's WebSub hub for topics ``…/xml/feeds/videos.xml?channel_id=UC…``
  (``ytscale.fake.hub``), never charged or faulted; it calls back through ``callbacks`` (an
  injected ``httpx.Client``) or, without one, loopback callbacks only. Under uvicorn a task pumps
  it every ``--hub-interval`` real seconds (1 by default, 0 for never); in-process, and from
  ``create_app(config)``, call ``fake.hub.pump()`` or ``POST /_fake/hub/pump``.

**What is charged** (``reference.quota.costs``: 1 unit per list call, per page):

| answer | units |
|---|---|
| 200, or 400/404 for invalid parameters (YouTube charges invalid requests) | the method's cost |
| 403 ``rateLimitExceeded`` (the request reached YouTube and was counted) | the method's cost |
| 403 ``quotaExceeded``, budget spent or a storm (nothing left to charge) | 0 |
| 403 missing ``key`` (no project to bill) | 0 |
| 5xx ``backendError`` (it reached YouTube, which bills every request that does) | cost, if left |
| dropped connection (dropped before processing) | 0 |

A 5xx still answers once the budget is spent, uncharged. So a client that keeps every reservation
it cannot prove unsent matches this fake exactly through 5xx, rate limits and read timeouts (a
slow answer was processed, so charged) and overcounts only on drops. The budget is per
Pacific-Time day of the real clock, as YouTube's is; the catalogue's simulated clock only decides
what has been uploaded.

Not modelled: OAuth (``mine``, ``myRating``), ``chart``, ``forUsername``, parts other than
``id``/``snippet``/``contentDetails``/``statistics``/``status`` (accepted, left out), and
unknown query parameters (ignored).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import json
import logging
import os
import re
import shlex
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import parse_qsl

import httpx
from starlette.types import Receive, Scope, Send

from reference.clock import Clock, utc_now
from reference.quota.costs import DEFAULT_DAILY_QUOTA, MAX_IDS_PER_CALL, MAX_RESULTS_PER_PAGE, cost
from reference.quota.days import QuotaDay
from reference.settings import Settings
from reference.youtube.atom import FEED_ENTRIES
from reference.youtube.parse import JsonDict as Json
from reference.youtube.parse import format_duration, parse_datetime
from ytscale.fake.atom import render_feed
from ytscale.fake.catalogue import (
    DEFAULT_CHANNELS,
    EPOCH,
    Catalogue,
    ChannelSpec,
    SimClock,
    VideoSpec,
)
from ytscale.fake.faults import Fault, FaultConfig, Faults, Latency
from ytscale.fake.hub import DEFAULT_MAX_LEASE_S, Hub, SubscribeError

__all__ = [
    "Answer",
    "DroppedConnection",
    "FakeApp",
    "FakeConfig",
    "FakeYouTube",
    "QuotaMeter",
    "Rejected",
    "create_app",
    "fake_async_transport",
    "fake_transport",
    "main",
]

API_PREFIX: Final = "/youtube/v3/"
ADMIN_PREFIX: Final = "/_fake/"
FEED_PATH: Final = "/feeds/videos.xml"
SUBSCRIBE_PATH: Final = "/subscribe"
_ADMIN_ACTIONS: Final = ("stats", "reset", "storm", "advance", "hub/pump")
#: Path under ``API_PREFIX`` → the method it serves, as named in the quota table.
METHODS: Final = {
    "videos": "videos.list",
    "channels": "channels.list",
    "playlistItems": "playlistItems.list",
}
#: Every part YouTube knows per method (an unknown one is a 400); rendered: the first five.
RENDERED_PARTS: Final = frozenset({"id", "snippet", "contentDetails", "statistics", "status"})
_KNOWN_PARTS: Final = {
    "videos.list": RENDERED_PARTS
    | {
        "fileDetails", "liveStreamingDetails", "localizations", "paidProductPlacementDetails",
        "player", "processingDetails", "recordingDetails", "suggestions", "topicDetails",
    },
    "channels.list": RENDERED_PARTS
    | {
        "auditDetails", "brandingSettings", "contentOwnerDetails", "localizations",
        "topicDetails",
    },
    "playlistItems.list": frozenset({"id", "snippet", "contentDetails", "status"}),
}  # fmt: skip
#: Filters per method (exactly one must be given) and the ones the fake serves.
_FILTERS: Final = {
    "videos.list": (("id", "chart", "myRating"), {"id"}),
    "channels.list": (
        ("id", "forHandle", "forUsername", "categoryId", "mine", "managedByMe", "mySubscribers"),
        {"id", "forHandle"},
    ),
    "playlistItems.list": (("id", "playlistId"), {"playlistId"}),
}
#: ``maxResults`` bounds per method, from the discovery document (``videos.list``: 1..50).
_MAX_RESULTS_MIN: Final = {"videos.list": 1, "channels.list": 0, "playlistItems.list": 0}
_DEFAULT_MAX_RESULTS: Final = 5
_STATUS_NAMES: Final = {
    400: "INVALID_ARGUMENT",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "INVALID_ARGUMENT",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}
QUOTA_MESSAGE: Final = (
    "The request cannot be completed because you have exceeded your "
    '<a href="/youtube/v3/getting-started#quota">quota</a>.'
)
JSON_TYPE: Final = "application/json; charset=UTF-8"
ATOM_TYPE: Final = "application/atom+xml; charset=UTF-8"
_HTML_TYPE: Final = "text/html; charset=UTF-8"
_TEXT_TYPE: Final = "text/plain; charset=UTF-8"
_FORM_TYPE: Final = "application/x-www-form-urlencoded"
_PAGE_TOKEN = re.compile(r"PT:(0|[1-9][0-9]{0,7})")

Params = Sequence[tuple[str, str]]


# -- errors -------------------------------------------------------------------------------------


class Rejected(Exception):
    """An answer in YouTube's error envelope."""

    def __init__(
        self,
        status: int,
        reason: str,
        domain: str,
        message: str,
        location: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        error: Json = {"message": message, "domain": domain, "reason": reason}
        if location:
            error |= {"location": location, "locationType": "parameter"}
        self.body: Json = {
            "error": {
                "code": status,
                "message": message,
                "errors": [error],
                "status": _STATUS_NAMES.get(status, "UNKNOWN"),
            }
        }


def _bad_parameter(name: str, message: str) -> Rejected:
    return Rejected(400, "invalidParameter", "global", message, location=name)


# -- quota --------------------------------------------------------------------------------------


class QuotaMeter:
    """Units charged per Pacific-Time day against a daily budget; safe to share between threads."""

    def __init__(self, budget: int = DEFAULT_DAILY_QUOTA, clock: Clock = utc_now) -> None:
        self.budget = budget
        self._clock = clock
        self._lock = threading.Lock()
        self._by_day: Counter[str] = Counter()

    def today(self) -> str:
        return QuotaDay.at(self._clock()).key

    def charge(self, units: int) -> bool:
        """Charge ``units`` to today if the budget allows; ``False`` (nothing charged) if not."""
        day = self.today()
        with self._lock:
            if self._by_day[day] + units > self.budget:
                return False
            self._by_day[day] += units
            return True

    def used(self, day: str | None = None) -> int:
        with self._lock:
            return self._by_day[day or self.today()]

    def by_day(self) -> dict[str, int]:
        with self._lock:
            return {day: units for day, units in self._by_day.items() if units}

    def reset(self) -> None:
        with self._lock:
            self._by_day.clear()


# -- the fake -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FakeConfig:
    seed: int = 0
    channels: int = DEFAULT_CHANNELS
    daily_quota: int = DEFAULT_DAILY_QUOTA
    #: The simulated instant the fake starts at.
    start: datetime = EPOCH
    #: Simulated seconds per real second, for uploads and latencies alike.
    time_scale: float = 1.0
    faults: FaultConfig = field(default_factory=FaultConfig)
    #: Simulated seconds the public feed lags uploads by (YouTube caches it).
    feed_delay_s: float = 300.0
    #: Simulated seconds from an upload to the hub's notification of it.
    push_delay_s: float = 30.0
    #: Chance that the hub never sends a notification.
    push_loss: float = 0.0
    #: The longest lease the hub grants, and the one it grants when none is asked for.
    max_lease_s: int = DEFAULT_MAX_LEASE_S

    def __post_init__(self) -> None:
        if self.feed_delay_s < 0 or self.push_delay_s < 0:
            raise ValueError("feed_delay_s and push_delay_s cannot be negative")
        if not 0.0 <= self.push_loss <= 1.0:
            raise ValueError(f"push_loss must be a probability in [0, 1], not {self.push_loss}")
        if self.max_lease_s < 1:
            raise ValueError(f"max_lease_s must be at least 1, not {self.max_lease_s}")


@dataclass(frozen=True, slots=True)
class Answer:
    """What the fake answers one request with; the transports turn it into HTTP."""

    status: int
    body: bytes
    #: Real seconds to wait first.
    delay_s: float = 0.0
    #: Close the connection instead of answering.
    dropped: bool = False
    content_type: str = JSON_TYPE


class FakeYouTube:
    """The fake's logic, independent of any transport; safe to share between threads."""

    def __init__(
        self,
        config: FakeConfig | None = None,
        *,
        clock: Clock | None = None,
        quota_clock: Clock = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
        callbacks: httpx.Client | None = None,
    ) -> None:
        config = self.config = config or FakeConfig()
        #: The simulated clock: what has been uploaded "by now".
        self.clock = clock or SimClock(config.start, config.time_scale, monotonic)
        self.catalogue = Catalogue(config.seed, config.channels, self.clock)
        self.faults = Faults(config.faults, config.time_scale, monotonic)
        # The feed host fails on its own draws, so feed reads leave the API's fault run as it is.
        feed_faults = replace(
            config.faults, seed=_derived_seed(config.faults.seed, "feed"), rate_limit=0.0, storm=0.0
        )
        self.feed_faults = Faults(feed_faults, config.time_scale, monotonic)
        self.quota = QuotaMeter(config.daily_quota, quota_clock)
        #: The WebSub hub; ``callbacks`` is the client it calls subscribers with.
        self.hub = Hub(
            self.catalogue,
            self.clock,
            callbacks=callbacks,
            push_delay_s=config.push_delay_s,
            push_loss=config.push_loss,
            max_lease_s=config.max_lease_s,
            seed=_derived_seed(config.seed, "hub"),
        )
        self._lock = threading.Lock()
        self._outcomes: Counter[str] = Counter()
        self._charged: Counter[str] = Counter()
        self._feed_outcomes: Counter[str] = Counter()

    @property
    def used(self) -> int:
        """Units charged today (Pacific Time)."""
        return self.quota.used()

    def transport(self, sleep: Callable[[float], None] = time.sleep) -> FakeTransport:
        return FakeTransport(self, sleep)

    def async_transport(self) -> AsyncFakeTransport:
        return AsyncFakeTransport(self)

    def stats(self) -> Json:
        with self._lock:
            outcomes, charged = dict(self._outcomes), dict(self._charged)
            feed = dict(self._feed_outcomes)
        used = self.quota.used()
        return {
            "day": self.quota.today(),
            "used": used,
            "budget": self.quota.budget,
            "remaining": max(0, self.quota.budget - used),
            "by_day": self.quota.by_day(),
            "charged_calls": charged,
            "outcomes": outcomes,
            "requests": sum(outcomes.values()),
            "storming": self.faults.storming,
            "sim_now": _rfc3339(self.clock()),
            "feed": {"requests": sum(feed.values()), "outcomes": feed},
            "hub": self.hub.stats(),
        }

    def reset(self) -> None:
        """Forget charges, counters and the hub's subscriptions and restart the fault RNGs (the
        simulated clock runs on)."""
        self.quota.reset()
        self.faults.reset()
        self.feed_faults.reset()
        self.hub.reset()
        with self._lock:
            self._outcomes.clear()
            self._charged.clear()
            self._feed_outcomes.clear()

    def answer(
        self,
        http_method: str,
        path: str,
        params: Params,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> Answer:
        """Answer one request: ``params`` are the decoded query pairs, repeats allowed;
        ``headers`` have lower-case names (only the hub reads them, and the body)."""
        if path.startswith(ADMIN_PREFIX):
            return self._admin(http_method, path[len(ADMIN_PREFIX) :], _merged(params))
        if path == FEED_PATH:
            return self._feed(http_method, _merged(params))
        if path == SUBSCRIBE_PATH:
            return self._subscribe(http_method, params, body, headers or {})
        method = METHODS.get(path[len(API_PREFIX) :]) if path.startswith(API_PREFIX) else None
        if method is None or http_method != "GET":
            self._count("notFound")
            return _json(404, Rejected(404, "notFound", "global", "Method not found.").body)
        query = _merged(params)
        decision = self.faults.decide()
        delay = decision.delay_s
        if decision.fault is Fault.DROP:
            self._count("dropped")
            return Answer(0, b"", delay, dropped=True)
        if not query.get("key"):
            self._count("forbidden")
            message = "The request is missing a valid API key."
            return _json(403, Rejected(403, "forbidden", "global", message).body, delay)
        if decision.fault is Fault.SERVER_ERROR:
            # The request reached YouTube, and YouTube bills every request that does.
            charged = method if self.quota.charge(cost(method)) else None
            self._count("serverError", charged=charged)
            message = "Backend Error" if decision.status == 500 else "Service unavailable."
            error = Rejected(decision.status, "backendError", "global", message)
            return _json(decision.status, error.body, delay)
        if decision.fault is Fault.QUOTA_STORM or not self.quota.charge(cost(method)):
            self._count("quotaStorm" if decision.fault is Fault.QUOTA_STORM else "quotaExceeded")
            exceeded = Rejected(403, "quotaExceeded", "youtube.quota", QUOTA_MESSAGE)
            return _json(403, exceeded.body, delay)
        if decision.fault is Fault.RATE_LIMIT:
            self._count("rateLimitExceeded", charged=method)
            limited = Rejected(403, "rateLimitExceeded", "usageLimits", "Rate Limit Exceeded")
            return _json(403, limited.body, delay)
        try:
            listed = self._list(method, query)
        except Rejected as exc:
            self._count("invalid", charged=method)
            return _json(exc.status, exc.body, delay)
        self._count("ok", charged=method)
        return _json(200, listed, delay)

    def _count(self, outcome: str, charged: str | None = None) -> None:
        with self._lock:
            self._outcomes[outcome] += 1
            if charged:
                self._charged[charged] += 1

    # -- the public feed and the hub -----------------------------------------------------------

    def _feed(self, http_method: str, query: Mapping[str, str]) -> Answer:
        """The channel's Atom feed: free, and faulted only as a failing host would be."""
        if http_method != "GET":
            return self._feed_answer("methodNotAllowed", 405, "Method Not Allowed")
        decision = self.feed_faults.decide()
        delay = decision.delay_s
        if decision.fault is Fault.DROP:
            with self._lock:
                self._feed_outcomes["dropped"] += 1
            return Answer(0, b"", delay, dropped=True)
        if decision.fault is Fault.SERVER_ERROR:
            return self._feed_answer("serverError", decision.status, "Server Error", delay)
        channel_id, playlist_id = query.get("channel_id"), query.get("playlist_id")
        if (channel_id is None) == (playlist_id is None):
            return self._feed_answer("invalid", 400, "Give channel_id or playlist_id.", delay)
        wanted, prefix = (channel_id, "UC") if channel_id is not None else (playlist_id, "UU")
        index = self.catalogue.locate_channel(wanted or "")
        if index is None or not (wanted or "").startswith(prefix):
            return self._feed_answer("notFound", 404, "Not Found", delay)
        at = self.clock() - timedelta(seconds=self.config.feed_delay_s)
        _, videos = self.catalogue.uploads(index, 0, FEED_ENTRIES, at)
        body = render_feed(self.catalogue.channel(index), videos)
        with self._lock:
            self._feed_outcomes["ok"] += 1
        return Answer(200, body, delay, content_type=ATOM_TYPE)

    def _feed_answer(self, outcome: str, status: int, text: str, delay_s: float = 0.0) -> Answer:
        with self._lock:
            self._feed_outcomes[outcome] += 1
        # YouTube's feed errors are small HTML pages.
        page = f"<html><body><h1>{status} {text}</h1></body></html>".encode()
        return Answer(status, page, delay_s, content_type=_HTML_TYPE)

    def _subscribe(
        self, http_method: str, params: Params, body: bytes, headers: Mapping[str, str]
    ) -> Answer:
        if http_method != "POST":
            return Answer(405, b"Use POST /subscribe.", content_type=_TEXT_TYPE)
        # Google's hub reads hub.* from the query string and a form body alike.
        fields = dict(params)
        if headers.get("content-type", _FORM_TYPE).split(";")[0].strip().lower() == _FORM_TYPE:
            fields |= parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        try:
            self.hub.submit(fields)
        except SubscribeError as exc:
            return Answer(400, str(exc).encode(), content_type=_TEXT_TYPE)
        return Answer(202, b"", content_type=_TEXT_TYPE)

    # -- list methods --------------------------------------------------------------------------

    def _list(self, method: str, query: Mapping[str, str]) -> Json:
        parts = _parts(method, query)
        filters, served = _FILTERS[method]
        given = [name for name in filters if name in query]
        if not given:
            raise Rejected(
                400,
                "missingRequiredParameter",
                "youtube.parameter",
                f"No filter selected. Expected one of: {', '.join(sorted(filters))}",
            )
        if len(given) > 1:
            raise Rejected(
                400,
                "incompatibleParameters",
                "youtube.parameter",
                f"Incompatible parameters specified in the request: {', '.join(given)}",
            )
        if given[0] not in served:
            raise Rejected(
                400,
                "unsupportedFilter",
                "youtube.parameter",
                f"The fake YouTube serves {method} by {' or '.join(sorted(served))} only.",
                location=given[0],
            )
        max_results = _max_results(method, query)
        now = self.clock()
        if method == "videos.list":
            return self._videos(_ids(query["id"]), parts, now)
        if method == "channels.list":
            return self._channels(query, parts, max_results, now)
        return self._playlist_items(query, parts, max_results, now)

    def _videos(self, ids: list[str], parts: frozenset[str], now: datetime) -> Json:
        channels: dict[int, ChannelSpec] = {}
        items = []
        for video_id in ids:
            found = self.catalogue.locate_video(video_id, now)
            if found is None:
                continue
            index, number = found
            if index not in channels:
                channels[index] = self.catalogue.channel(index)
            video = self.catalogue.video(channels[index], number)
            items.append(_video_resource(video, channels[index], parts, now))
        return _list_response("youtube#videoListResponse", items, len(items), len(items))

    def _channels(
        self, query: Mapping[str, str], parts: frozenset[str], max_results: int, now: datetime
    ) -> Json:
        if "forHandle" in query:
            found = self.catalogue.locate_handle(query["forHandle"])
            indices = [] if found is None else [found]
        else:
            # "UU…" decodes too, but names a playlist, not a channel.
            indices = [
                index
                for channel_id in _ids(query["id"])
                if channel_id.startswith("UC")
                and (index := self.catalogue.locate_channel(channel_id)) is not None
            ]
        items = [_channel_resource(self.catalogue, i, parts, now) for i in indices]
        # YouTube leaves "items" out altogether when no channel matched.
        return _list_response(
            "youtube#channelListResponse", items, len(items), max_results, omit_empty=True
        )

    def _playlist_items(
        self, query: Mapping[str, str], parts: frozenset[str], max_results: int, now: datetime
    ) -> Json:
        playlist_id = query["playlistId"]
        index = self.catalogue.locate_channel(playlist_id)
        if index is None or not playlist_id.startswith("UU"):
            raise Rejected(
                404,
                "playlistNotFound",
                "youtube.playlistItem",
                "The playlist identified with the request's <code>playlistId</code> parameter "
                "cannot be found.",
                location="playlistId",
            )
        offset = _page_offset(query.get("pageToken"))
        total, videos = self.catalogue.uploads(index, offset, max_results, now)
        channel = self.catalogue.channel(index)
        items = [
            _playlist_item_resource(video, channel, offset + i, parts)
            for i, video in enumerate(videos)
        ]
        extra: Json = {}
        # Offsets, as YouTube's own tokens are: uploads arriving mid-walk shift the pages.
        if max_results and offset + max_results < total:
            extra["nextPageToken"] = _page_token(offset + max_results)
        if offset:
            extra["prevPageToken"] = _page_token(max(0, offset - max_results))
        return _list_response(
            "youtube#playlistItemListResponse", items, total, max_results, extra=extra
        )

    # -- admin ---------------------------------------------------------------------------------

    def _admin(self, http_method: str, action: str, query: Mapping[str, str]) -> Answer:
        expected = "GET" if action == "stats" else "POST"
        if action not in _ADMIN_ACTIONS:
            return _json(404, Rejected(404, "notFound", "global", "No such admin action.").body)
        if http_method != expected:
            error = Rejected(405, "methodNotAllowed", "global", f"Use {expected} /_fake/{action}.")
            return _json(405, error.body)
        try:
            if action == "reset":
                self.reset()
            elif action == "storm":
                requests = _admin_number(query, "requests")
                self.faults.start_storm(
                    requests=None if requests is None else int(requests),
                    seconds=_admin_number(query, "seconds"),
                )
            elif action == "advance":
                if not isinstance(self.clock, SimClock):
                    raise ValueError("this fake's clock was injected: advance it directly")
                self.clock.advance(timedelta(seconds=_admin_number(query, "seconds") or 0.0))
            elif action == "hub/pump":
                return _json(200, self.hub.pump().as_json())
        except ValueError as exc:
            return _json(400, _bad_parameter(action, str(exc)).body)
        return _json(200, self.stats())


# -- parameters ---------------------------------------------------------------------------------


def _merged(params: Params) -> dict[str, str]:
    """Repeated parameters join with commas, as YouTube reads ``id=a&id=b`` like ``id=a,b``."""
    merged: dict[str, str] = {}
    for name, value in params:
        merged[name] = f"{merged[name]},{value}" if name in merged else value
    return merged


def _parts(method: str, query: Mapping[str, str]) -> frozenset[str]:
    names = [p.strip() for p in query.get("part", "").split(",") if p.strip()]
    if not names:
        raise Rejected(400, "required", "global", "Required parameter: part", location="part")
    for name in names:
        if name not in _KNOWN_PARTS[method]:
            raise Rejected(400, "unknownPart", "youtube.part", f"'{name}'", location="part")
    return frozenset(names)


def _max_results(method: str, query: Mapping[str, str]) -> int:
    raw = query.get("maxResults")
    if raw is None:
        return _DEFAULT_MAX_RESULTS
    low = _MAX_RESULTS_MIN[method]
    try:
        value = int(raw)
    except ValueError:
        raise _bad_parameter("maxResults", f"Invalid value '{raw}'. Expected an integer.") from None
    if not low <= value <= MAX_RESULTS_PER_PAGE:
        message = f"Invalid value '{raw}'. Values must be within the range: [{low}, 50]"
        raise _bad_parameter("maxResults", message)
    return value


def _ids(raw: str) -> list[str]:
    """The distinct ids of an ``id`` filter, at most 50 before removing repeats."""
    ids = [i.strip() for i in raw.split(",") if i.strip()]
    if len(ids) > MAX_IDS_PER_CALL:
        # The 400 is YouTube's; its wording for this case is not documented, so this is a guess.
        raise Rejected(
            400,
            "invalidFilters",
            "youtube.parameter",
            "The request specifies an invalid filter parameter.",
            location="id",
        )
    return list(dict.fromkeys(ids))


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"PT:{offset}".encode()).rstrip(b"=").decode()


def _page_offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except ValueError:
        text = ""
    match = _PAGE_TOKEN.fullmatch(text)
    if match is None:
        raise Rejected(
            400,
            "invalidPageToken",
            "youtube.parameter",
            "The request specifies an invalid page token.",
            location="pageToken",
        )
    return int(match.group(1))


def _admin_number(query: Mapping[str, str], name: str) -> float | None:
    raw = query.get(name)
    return None if raw is None else float(raw)


# -- resources ----------------------------------------------------------------------------------


def _video_resource(
    video: VideoSpec, channel: ChannelSpec, parts: frozenset[str], now: datetime
) -> Json:
    live = video.is_live(now)
    item: Json = {
        "kind": "youtube#video",
        "etag": _etag("video", video.id, str(live)),
        "id": video.id,
    }
    if "snippet" in parts:
        snippet: Json = {
            "publishedAt": _rfc3339(video.published_at),
            "channelId": channel.id,
            "title": video.title,
            "description": video.description,
            "thumbnails": _video_thumbnails(video),
            "channelTitle": channel.title,
        }
        if video.tags:  # YouTube leaves "tags" out rather than sending an empty list
            snippet["tags"] = list(video.tags)
        item["snippet"] = snippet | {
            "categoryId": video.category_id,
            "liveBroadcastContent": "live" if live else "none",
            "defaultAudioLanguage": "en",
            "localized": {"title": video.title, "description": video.description},
        }
    if "contentDetails" in parts:
        item["contentDetails"] = {
            "duration": format_duration(0 if live else video.duration_s),
            "dimension": "2d",
            "definition": "hd" if video.hd else "sd",
            "caption": "false",
            "licensedContent": False,
            "contentRating": {},
            "projection": "rectangular",
        }
    if "statistics" in parts:
        item["statistics"] = {
            "viewCount": str(video.views),
            "likeCount": str(video.likes),
            "favoriteCount": "0",
            "commentCount": str(video.comments),
        }
    if "status" in parts:
        item["status"] = {
            "uploadStatus": "processed",
            "privacyStatus": "public",
            "license": "youtube",
            "embeddable": True,
            "publicStatsViewable": True,
            "madeForKids": False,
        }
    return item


def _channel_resource(
    catalogue: Catalogue, index: int, parts: frozenset[str], now: datetime
) -> Json:
    channel = catalogue.channel(index)
    videos = catalogue.video_count(index, now)
    item: Json = {
        "kind": "youtube#channel",
        "etag": _etag("channel", channel.id, str(videos)),
        "id": channel.id,
    }
    if "snippet" in parts:
        item["snippet"] = {
            "title": channel.title,
            "description": channel.description,
            "customUrl": channel.handle,
            "publishedAt": _rfc3339(channel.created_at),
            "thumbnails": _channel_thumbnails(channel),
            "localized": {"title": channel.title, "description": channel.description},
            "country": channel.country,
        }
    if "contentDetails" in parts:
        item["contentDetails"] = {
            "relatedPlaylists": {"likes": "", "uploads": channel.uploads_playlist_id}
        }
    if "statistics" in parts:
        item["statistics"] = {
            "viewCount": str(videos * channel.subscribers * 3),
            "subscriberCount": str(_three_significant(channel.subscribers)),
            "hiddenSubscriberCount": False,
            "videoCount": str(videos),
        }
    if "status" in parts:
        item["status"] = {
            "privacyStatus": "public",
            "isLinked": True,
            "longUploadsStatus": "longUploadsUnspecified",
            "madeForKids": False,
        }
    return item


def _playlist_item_resource(
    video: VideoSpec, channel: ChannelSpec, position: int, parts: frozenset[str]
) -> Json:
    playlist_id = channel.uploads_playlist_id
    item_id = base64.b64encode(f"{playlist_id}.{video.id}".encode()).decode()
    item: Json = {
        "kind": "youtube#playlistItem",
        "etag": _etag("playlistItem", item_id, str(position)),
        "id": item_id,
    }
    published = _rfc3339(video.published_at)
    if "snippet" in parts:
        item["snippet"] = {
            "publishedAt": published,
            "channelId": channel.id,
            "title": video.title,
            "description": video.description,
            "thumbnails": _video_thumbnails(video),
            "channelTitle": channel.title,
            "playlistId": playlist_id,
            "position": position,
            "resourceId": {"kind": "youtube#video", "videoId": video.id},
            "videoOwnerChannelTitle": channel.title,
            "videoOwnerChannelId": channel.id,
        }
    if "contentDetails" in parts:
        item["contentDetails"] = {"videoId": video.id, "videoPublishedAt": published}
    if "status" in parts:
        item["status"] = {"privacyStatus": "public"}
    return item


def _list_response(
    kind: str,
    items: list[Json],
    total: int,
    per_page: int,
    *,
    extra: Json | None = None,
    omit_empty: bool = False,
) -> Json:
    body: Json = {"kind": kind, "etag": _etag(kind, *(i["etag"] for i in items), str(total))}
    body |= extra or {}
    if items or not omit_empty:
        body["items"] = items
    body["pageInfo"] = {"totalResults": total, "resultsPerPage": per_page}
    return body


_VIDEO_THUMBNAILS = (
    ("default", "default", 120, 90),
    ("medium", "mqdefault", 320, 180),
    ("high", "hqdefault", 480, 360),
    ("standard", "sddefault", 640, 480),
    ("maxres", "maxresdefault", 1280, 720),
)


def _video_thumbnails(video: VideoSpec) -> Json:
    sizes = _VIDEO_THUMBNAILS if video.hd else _VIDEO_THUMBNAILS[:4]
    return {
        name: {"url": f"https://i.ytimg.com/vi/{video.id}/{file}.jpg", "width": w, "height": h}
        for name, file, w, h in sizes
    }


def _channel_thumbnails(channel: ChannelSpec) -> Json:
    token = channel.id[2:]
    return {
        name: {
            "url": f"https://yt3.ggpht.com/ytc/{token}=s{size}-c-k-c0x00ffffff-no-rj",
            "width": size,
            "height": size,
        }
        for name, size in (("default", 88), ("medium", 240), ("high", 800))
    }


def _three_significant(n: int) -> int:
    """YouTube rounds public subscriber counts down to three significant figures."""
    drop = max(0, len(str(n)) - 3)
    scale = int(10**drop)
    return n // scale * scale


def _etag(*parts: str) -> str:
    """27 characters of URL-safe base64, the shape of YouTube's etags."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=20).digest()
    return base64.urlsafe_b64encode(digest).decode()[:27]


def _rfc3339(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")


def _json(status: int, body: Json, delay_s: float = 0.0) -> Answer:
    return Answer(status, json.dumps(body, separators=(",", ":")).encode(), delay_s)


def _derived_seed(seed: int, stream: str) -> int:
    """A seed for another RNG stream, so draws of one never shift those of another."""
    digest = hashlib.blake2b(f"{seed}:{stream}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


# -- transports ---------------------------------------------------------------------------------


class DroppedConnection(httpx.RemoteProtocolError):
    """The fake closed the connection without answering."""


def _read_timeout(answer: Answer, request: httpx.Request) -> float | None:
    """The client's read timeout, when the answer would arrive after it."""
    timeout: Mapping[str, float | None] = request.extensions.get("timeout", {})
    read = timeout.get("read")
    return read if read is not None and answer.delay_s > read else None


def _response(answer: Answer, request: httpx.Request, timed_out: bool) -> httpx.Response:
    if timed_out:
        raise httpx.ReadTimeout("The read operation timed out", request=request)
    if answer.dropped:
        raise DroppedConnection("Server disconnected without sending a response.", request=request)
    headers = {"content-type": answer.content_type}
    return httpx.Response(answer.status, headers=headers, content=answer.body, request=request)


class FakeTransport(httpx.BaseTransport):
    """In-process and synchronous: no event loop, no socket, safe under a threads pool.

    Latency is slept in the calling thread; a delay past the request's read timeout raises
    ``httpx.ReadTimeout`` after that timeout, as a real socket would.
    """

    def __init__(self, fake: FakeYouTube, sleep: Callable[[float], None] = time.sleep) -> None:
        self.fake = fake
        self._sleep = sleep

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.fake.answer(
            request.method,
            request.url.path,
            request.url.params.multi_items(),
            request.read(),
            request.headers,
        )
        timeout = _read_timeout(answer, request)
        wait = answer.delay_s if timeout is None else timeout
        if wait > 0:
            self._sleep(wait)
        return _response(answer, request, timeout is not None)


class AsyncFakeTransport(httpx.AsyncBaseTransport):
    """In-process for ``httpx.AsyncClient``; latency is awaited, not slept."""

    def __init__(self, fake: FakeYouTube) -> None:
        self.fake = fake

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = self.fake.answer(
            request.method,
            request.url.path,
            request.url.params.multi_items(),
            await request.aread(),
            request.headers,
        )
        timeout = _read_timeout(answer, request)
        wait = answer.delay_s if timeout is None else timeout
        if wait > 0:
            await asyncio.sleep(wait)
        return _response(answer, request, timeout is not None)


def fake_transport(app: FakeApp | FakeYouTube) -> FakeTransport:
    """A synchronous in-process transport onto ``app``'s fake (for ``httpx.Client``)."""
    return (app.fake if isinstance(app, FakeApp) else app).transport()


def fake_async_transport(app: FakeApp | FakeYouTube) -> AsyncFakeTransport:
    """An asynchronous in-process transport onto ``app``'s fake (for ``httpx.AsyncClient``)."""
    return (app.fake if isinstance(app, FakeApp) else app).async_transport()


# -- ASGI and the command line ------------------------------------------------------------------


class FakeApp:
    """The fake as a bare ASGI app (one route table would only add per-request work).

    A dropped connection sends the status line and headers, then raises ``DroppedConnection``:
    uvicorn closes the socket mid-response (the client sees ``RemoteProtocolError``) and
    ``httpx.ASGITransport`` re-raises it to the client.

    With ``hub_interval_s`` > 0 the app's lifespan pumps the hub that often (real seconds), in a
    worker thread: a callback that calls back into this app must not find its loop blocked.
    """

    def __init__(self, fake: FakeYouTube, hub_interval_s: float = 0.0) -> None:
        self.fake = fake
        self.hub_interval_s = hub_interval_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        params = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        body = await _body(receive)
        answer = self.fake.answer(scope["method"], scope["path"], params, body, headers)
        if answer.delay_s > 0:
            await asyncio.sleep(answer.delay_s)
        status = answer.status or 200
        # A drop promises a body it never sends, so the client sees the connection cut.
        length = str(len(answer.body) or int(answer.dropped)).encode()
        response_headers = [
            (b"content-type", answer.content_type.encode()),
            (b"content-length", length),
        ]
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        if answer.dropped:
            raise DroppedConnection("dropped by fault injection")
        await send({"type": "http.response.body", "body": answer.body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        pumping: asyncio.Task[None] | None = None
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                if self.hub_interval_s > 0:
                    pumping = asyncio.create_task(self._pump_hub(self.hub_interval_s))
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                if pumping is not None:
                    pumping.cancel()
                    with suppress(asyncio.CancelledError):
                        await pumping
                self.fake.hub.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _pump_hub(self, interval_s: float) -> None:
        while True:
            await asyncio.sleep(interval_s)
            try:
                await asyncio.to_thread(self.fake.hub.pump)
            except Exception:
                # One failed pump must not stop the hub for the rest of the run.
                logging.getLogger(__name__).exception("hub pump failed")


async def _body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b""
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


class _QuietDrops(logging.Filter):
    """Injected drops are the point, not an incident: keep their tracebacks out of the log."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], DroppedConnection))


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m ytscale.fake.youtube",
        description="Serve the fake YouTube Data API v3 on 127.0.0.1 (loopback only).",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--port", type=int, default=8001)
    p.add_argument("--seed", type=int, default=0, help="catalogue seed")
    p.add_argument("--channels", type=int, default=DEFAULT_CHANNELS)
    p.add_argument("--daily-quota", type=int, default=DEFAULT_DAILY_QUOTA)
    p.add_argument("--start", type=parse_datetime, default=EPOCH, help="simulated start, RFC 3339")
    p.add_argument(
        "--time-scale", type=float, default=1.0, help="simulated seconds per real second"
    )
    p.add_argument("--latency-mean", type=float, default=0.0, help="simulated seconds")
    p.add_argument("--latency-sigma", type=float, default=0.5)
    p.add_argument("--slow", type=float, default=0.0, help="rate of slow answers")
    p.add_argument("--slow-seconds", type=float, default=30.0, help="extra simulated seconds")
    p.add_argument("--rate-limit", type=float, default=0.0, help="rate of rateLimitExceeded")
    p.add_argument("--server-error", type=float, default=0.0, help="rate of 500/503")
    p.add_argument("--drop", type=float, default=0.0, help="rate of dropped connections")
    p.add_argument("--storm", type=float, default=0.0, help="rate at which quota storms start")
    p.add_argument("--storm-requests", type=int, default=100, help="requests a storm lasts")
    p.add_argument("--fault-seed", type=int, default=None, help="default: --seed")
    p.add_argument(
        "--feed-delay", type=float, default=300.0, help="simulated seconds the Atom feed lags"
    )
    p.add_argument(
        "--push-delay",
        type=float,
        default=30.0,
        help="simulated seconds from an upload to the hub's notification",
    )
    p.add_argument(
        "--push-loss", type=float, default=0.0, help="rate of notifications the hub never sends"
    )
    p.add_argument(
        "--max-lease",
        type=int,
        default=DEFAULT_MAX_LEASE_S,
        help="longest WebSub lease the hub grants, seconds",
    )
    p.add_argument(
        "--hub-interval",
        type=float,
        default=1.0,
        help="real seconds between pumps of the WebSub hub; 0 disables",
    )
    p.add_argument("--log-level", default="warning")
    return p


def config_from_args(args: argparse.Namespace) -> FakeConfig:
    faults = FaultConfig(
        seed=args.seed if args.fault_seed is None else args.fault_seed,
        rate_limit=args.rate_limit,
        server_error=args.server_error,
        drop=args.drop,
        slow=args.slow,
        slow_s=args.slow_seconds,
        storm=args.storm,
        storm_requests=args.storm_requests,
        latency=Latency(args.latency_mean, args.latency_sigma),
    )
    return FakeConfig(
        seed=args.seed,
        channels=args.channels,
        daily_quota=args.daily_quota,
        start=args.start,
        time_scale=args.time_scale,
        faults=faults,
        feed_delay_s=args.feed_delay,
        push_delay_s=args.push_delay,
        push_loss=args.push_loss,
        max_lease_s=args.max_lease,
    )


def create_app(config: FakeConfig | None = None, *, hub_interval_s: float | None = None) -> FakeApp:
    """The ASGI app; without ``config``, options come from ``$YTSCALE_FAKE_ARGS`` (CLI syntax).

    ``hub_interval_s`` defaults to ``--hub-interval`` when options come from the environment
    and to 0 (pump by hand) when ``config`` is given.
    """
    if config is None:
        args = parser().parse_args(shlex.split(os.environ.get("YTSCALE_FAKE_ARGS", "")))
        config = config_from_args(args)
        if hub_interval_s is None:
            hub_interval_s = args.hub_interval
    log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in log.filters):
        log.addFilter(_QuietDrops())
    return FakeApp(FakeYouTube(config), hub_interval_s=hub_interval_s or 0.0)


def main(argv: Iterable[str] | None = None) -> None:
    import uvicorn

    args = parser().parse_args(None if argv is None else list(argv))
    app = create_app(config_from_args(args), hub_interval_s=args.hub_interval)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level=args.log_level, lifespan="on")


if __name__ == "__main__":
    main()


def transport_from_settings(settings: Settings) -> FakeTransport:
    """A new in-process fake for ``fake://youtube``: the ``reference.youtube_transports`` plugin."""
    return FakeYouTube(FakeConfig(daily_quota=settings.daily_quota)).transport()
