"""A fake YouTube Data API v3: ``videos.list``, ``channels.list``, ``playlistItems.list``.

Bodies are shaped like the real API's (kinds, etags, ``pageInfo``, counts as strings, ISO-8601
durations, RFC 3339 times, YouTube's error envelope) and validate against the schemas of the
official discovery document. Data comes from the on-demand :class:`Catalogue`; faults and latency
from :class:`Faults`. Two ways to run it::

    fake = FakeYouTube(FakeConfig(seed=1, daily_quota=10_000))
    client = httpx.Client(base_url="fake://youtube", transport=fake.transport())   # in-process
    fake.used                  # units charged today: the truth the pipeline's ledger is held to

    python -m ytscale.fake --port 8001 --seed 1 --latency-mean 5 --time-scale 100
    uvicorn --factory ytscale.fake.app:create_app --port 8001   # YTSCALE_FAKE_ARGS="--seed 1"

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

import base64
import functools
import hashlib
import json
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Final
from urllib.parse import parse_qsl

import httpx

from reference.clock import Clock, utc_now
from reference.quota.costs import DEFAULT_DAILY_QUOTA, MAX_IDS_PER_CALL, MAX_RESULTS_PER_PAGE, cost
from reference.settings import Settings
from reference.youtube.atom import FEED_ENTRIES
from reference.youtube.parse import JsonDict
from ytscale.fake.atom import render_feed
from ytscale.fake.catalogue import (
    DEFAULT_CHANNELS,
    EPOCH,
    Catalogue,
    ChannelSpec,
    SimClock,
    VideoSpec,
)
from ytscale.fake.faults import Fault, FaultConfig, Faults
from ytscale.fake.hub import DEFAULT_MAX_LEASE_S, Hub, HubUnavailable, SubscribeError
from ytscale.fake.meter import QuotaMeter
from ytscale.fake.resources import (
    channel_resource,
    list_response,
    playlist_item_resource,
    rfc3339,
    video_resource,
)
from ytscale.fake.transports import FakeTransport

__all__ = ["Answer", "FakeConfig", "FakeYouTube", "Rejected", "transport_from_settings"]

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
        error: JsonDict = {"message": message, "domain": domain, "reason": reason}
        if location:
            error |= {"location": location, "locationType": "parameter"}
        self.body: JsonDict = {
            "error": {
                "code": status,
                "message": message,
                "errors": [error],
                "status": _STATUS_NAMES.get(status, "UNKNOWN"),
            }
        }


def _bad_parameter(name: str, message: str) -> Rejected:
    return Rejected(400, "invalidParameter", "global", message, location=name)


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
        """An in-process transport onto this fake, for ``httpx.Client`` and ``AsyncClient``."""
        return FakeTransport(self, sleep)

    def stats(self) -> JsonDict:
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
            "sim_now": rfc3339(self.clock()),
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
        ``headers`` have lower-case names (the API key may come in one; the hub reads them, and
        the body)."""
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
        # Google takes the key as ?key= or, kept out of URLs and their logs, X-Goog-Api-Key.
        if not (query.get("key") or (headers or {}).get("x-goog-api-key")):
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
        body = _feed_body(self.catalogue.channel(index), tuple(videos))
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
        except HubUnavailable as exc:
            return Answer(503, str(exc).encode(), content_type=_TEXT_TYPE)
        return Answer(202, b"", content_type=_TEXT_TYPE)

    # -- list methods --------------------------------------------------------------------------

    def _list(self, method: str, query: Mapping[str, str]) -> JsonDict:
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

    def _videos(self, ids: list[str], parts: frozenset[str], now: datetime) -> JsonDict:
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
            items.append(video_resource(video, channels[index], parts, now))
        return list_response("youtube#videoListResponse", items, len(items), len(items))

    def _channels(
        self, query: Mapping[str, str], parts: frozenset[str], max_results: int, now: datetime
    ) -> JsonDict:
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
        items = [channel_resource(self.catalogue, i, parts, now) for i in indices]
        # YouTube leaves "items" out altogether when no channel matched.
        return list_response(
            "youtube#channelListResponse", items, len(items), max_results, omit_empty=True
        )

    def _playlist_items(
        self, query: Mapping[str, str], parts: frozenset[str], max_results: int, now: datetime
    ) -> JsonDict:
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
            playlist_item_resource(video, channel, offset + i, parts)
            for i, video in enumerate(videos)
        ]
        extra: JsonDict = {}
        # Offsets, as YouTube's own tokens are: uploads arriving mid-walk shift the pages.
        if max_results and offset + max_results < total:
            extra["nextPageToken"] = _page_token(offset + max_results)
        if offset:
            extra["prevPageToken"] = _page_token(max(0, offset - max_results))
        return list_response(
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


def _json(status: int, body: JsonDict, delay_s: float = 0.0) -> Answer:
    return Answer(status, json.dumps(body, separators=(",", ":")).encode(), delay_s)


def _derived_seed(seed: int, stream: str) -> int:
    """A seed for another RNG stream, so draws of one never shift those of another."""
    digest = hashlib.blake2b(f"{seed}:{stream}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little")


def transport_from_settings(settings: Settings) -> FakeTransport:
    """A new in-process fake for ``fake://youtube``: the ``reference.youtube_transports`` plugin."""
    return FakeYouTube(FakeConfig(daily_quota=settings.daily_quota)).transport()


@functools.lru_cache(maxsize=2048)
def _feed_body(channel: ChannelSpec, videos: tuple[VideoSpec, ...]) -> bytes:
    # A feed changes only when its channel uploads; polled hourly, it is read dozens of times
    # in between, and rendering it cost the feed-polling run a quarter of its time.
    return render_feed(channel, videos)
