import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
import respx

from reference import kv
from reference.quota.ledger import AtomicLedger, QuotaExhausted, Reservation
from reference.settings import FAKE_YOUTUBE_URL, Settings
from reference.youtube.breaker import CircuitBreaker, State
from reference.youtube.client import API_PATH, ClientConfig, YouTubeClient, client_from_settings
from reference.youtube.errors import (
    CircuitOpenError,
    MalformedResponse,
    NotFound,
    QuotaExceededError,
    RateLimitedError,
    RequestRejected,
    YouTubeError,
    YouTubeUnavailable,
)
from ytscale.fake.catalogue import EPOCH
from ytscale.fake.faults import FaultConfig
from ytscale.fake.youtube import FakeConfig, FakeYouTube

# .invalid never resolves (RFC 6761): a request respx failed to catch could not reach anything.
BASE = "https://youtube.invalid"


TOMORROW = datetime(2030, 1, 2, 8, tzinfo=UTC)


@dataclass
class MemoryLedger:
    """The QuotaLedger protocol in memory, keeping every reservation and refund for inspection."""

    budget: int = 10_000
    reserved: list[Reservation] = field(default_factory=list)
    refunded: list[Reservation] = field(default_factory=list)
    exhausted: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reserve(self, units: int, *, user_id: int | None = None) -> Reservation:
        with self.lock:
            left = self.remaining()
            if units > left:
                raise QuotaExhausted("project", units, left, TOMORROW)
            held = Reservation(units, user_id, day="2030-01-01")
            self.reserved.append(held)
            return held

    def refund(self, reservation: Reservation) -> None:
        self.refunded.append(reservation)

    def used(self, *, user_id: int | None = None) -> int:
        def total(held: list[Reservation]) -> int:
            return sum(h.units for h in held if user_id is None or h.user_id == user_id)

        return total(self.reserved) - total(self.refunded)

    def remaining(self, *, user_id: int | None = None) -> int:
        return 0 if self.exhausted else self.budget - self.used(user_id=user_id)

    def mark_exhausted(self) -> None:
        self.exhausted = True


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def ledger() -> MemoryLedger:
    return MemoryLedger()


@pytest.fixture
def youtube() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE + API_PATH, assert_all_called=False) as router:
        yield router


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def make_client(
    ledger: MemoryLedger, sleeps: list[float], clock: Clock
) -> Iterator[Callable[..., YouTubeClient]]:
    clients: list[YouTubeClient] = []

    def make(**config: Any) -> YouTubeClient:
        cfg = ClientConfig(**{"max_attempts": 3, "failure_threshold": 3, **config})
        breaker = CircuitBreaker(
            failure_threshold=cfg.failure_threshold, cooldown=cfg.cooldown, clock=clock
        )
        client = YouTubeClient(
            BASE,
            "test-key",
            ledger,
            config=cfg,
            breaker=breaker,
            sleep=sleeps.append,
            jitter=lambda: 1.0,
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client: Callable[..., YouTubeClient]) -> YouTubeClient:
    return make_client()


def error(status: int, reason: str, message: str = "Something went wrong.") -> httpx.Response:
    domain = "youtube.quota" if reason == "quotaExceeded" else "global"
    detail = {"message": message, "domain": domain, "reason": reason}
    return httpx.Response(
        status, json={"error": {"code": status, "message": message, "errors": [detail]}}
    )


def video_item(video_id: str) -> dict[str, Any]:
    return {
        "id": video_id,
        "snippet": {
            "title": f"Video {video_id}",
            "channelId": "UC" + "x" * 22,
            "publishedAt": "2024-05-01T12:00:00Z",
            "tags": ["python"],
            "thumbnails": {"high": {"url": f"https://i.ytimg.com/vi/{video_id}/hq.jpg"}},
        },
        "contentDetails": {"duration": "P1DT1S"},
        "statistics": {"viewCount": "42"},
    }


def echo_videos(request: httpx.Request) -> httpx.Response:
    ids = request.url.params["id"].split(",")
    return httpx.Response(200, json={"items": [video_item(i) for i in ids]})


OK = httpx.Response(200, json={"items": [video_item("aaaaaaaaaaa")]})


# --- transport ---------------------------------------------------------------------------------


def test_http2_is_enabled_on_the_network_transport(client: YouTubeClient) -> None:
    # httpx keeps the flag on its connection pool; without the h2 package it would fail to build.
    assert client._http._transport._pool._http2 is True  # type: ignore[attr-defined]


def test_injected_transport_carries_every_request(ledger: MemoryLedger) -> None:
    seen: list[httpx.URL] = []
    keys: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        keys.append(request.headers.get("x-goog-api-key"))
        return httpx.Response(200, json={"items": []})

    settings = Settings(youtube_url="http://127.0.0.1:8001", youtube_api_key="k1")
    with client_from_settings(settings, ledger, httpx.MockTransport(handler)) as client:
        assert client.channel(handle="@nobody") is None
    assert [(u.host, u.port, u.path) for u in seen] == [("127.0.0.1", 8001, "/youtube/v3/channels")]
    assert keys == ["k1"] and "key" not in seen[0].params, "the key never in the URL"
    assert seen[0].params["forHandle"] == "@nobody"


# --- reading -----------------------------------------------------------------------------------


def test_videos_parses_and_sends_key_and_parts(
    client: YouTubeClient, youtube: respx.MockRouter
) -> None:
    route = youtube.get("videos").mock(side_effect=echo_videos)
    [video] = client.videos(["aaaaaaaaaaa"])
    request = route.calls.last.request
    params = request.url.params
    assert request.headers["x-goog-api-key"] == "test-key" and "key" not in params
    assert params["part"] == "snippet,contentDetails,statistics"
    assert (video.id, video.duration_s, video.view_count, video.tags) == (
        "aaaaaaaaaaa",
        86_401,
        42,
        ("python",),
    )
    assert video.thumbnail_url == "https://i.ytimg.com/vi/aaaaaaaaaaa/hq.jpg"


def test_videos_parts_are_sent_as_asked(client: YouTubeClient, youtube: respx.MockRouter) -> None:
    route = youtube.get("videos").respond(200, json={"items": []})
    client.videos(["aaaaaaaaaaa"], parts=["snippet"])
    assert route.calls.last.request.url.params["part"] == "snippet"
    with pytest.raises(ValueError):
        client.videos(["aaaaaaaaaaa"], parts=["statistics"])
    assert route.call_count == 1


def test_videos_asks_50_ids_per_request(
    client: YouTubeClient, youtube: respx.MockRouter, ledger: MemoryLedger
) -> None:
    route = youtube.get("videos").mock(side_effect=echo_videos)
    ids = [f"v{n:010d}" for n in range(120)]
    videos = client.videos(ids, user_id=7)
    sizes = [len(call.request.url.params["id"].split(",")) for call in route.calls]
    assert sizes == [50, 50, 20]
    assert [v.id for v in videos] == ids
    assert [(r.units, r.user_id) for r in ledger.reserved] == [(1, 7)] * 3


def test_videos_asks_each_id_once(client: YouTubeClient, youtube: respx.MockRouter) -> None:
    route = youtube.get("videos").mock(side_effect=echo_videos)
    client.videos(["b" * 11, "a" * 11, "b" * 11])
    assert route.calls.last.request.url.params["id"] == f"{'b' * 11},{'a' * 11}"


def test_videos_of_nothing_asks_nothing(client: YouTubeClient, youtube: respx.MockRouter) -> None:
    route = youtube.get("videos").mock(side_effect=echo_videos)
    assert client.videos([]) == []
    assert route.call_count == 0


def test_unknown_videos_are_absent(client: YouTubeClient, youtube: respx.MockRouter) -> None:
    youtube.get("videos").respond(200, json={"items": [video_item("aaaaaaaaaaa")]})
    assert [v.id for v in client.videos(["aaaaaaaaaaa", "zzzzzzzzzzz"])] == ["aaaaaaaaaaa"]


def test_channel_by_id_and_by_handle(client: YouTubeClient, youtube: respx.MockRouter) -> None:
    item = {
        "id": "UC" + "c" * 22,
        "snippet": {"title": "Chan", "customUrl": "@chan"},
        "contentDetails": {"relatedPlaylists": {"uploads": "UU" + "c" * 22}},
        "statistics": {"videoCount": "3"},
    }
    route = youtube.get("channels").respond(200, json={"items": [item]})
    by_id = client.channel("UC" + "c" * 22)
    by_handle = client.channel(handle="@chan")
    assert by_id == by_handle and by_id is not None
    assert by_id.uploads_playlist_id == "UU" + "c" * 22
    first, second = (call.request.url.params for call in route.calls)
    assert first["id"] == "UC" + "c" * 22 and "forHandle" not in first
    assert second["forHandle"] == "@chan" and "id" not in second


def test_unknown_channel_is_none(client: YouTubeClient, youtube: respx.MockRouter) -> None:
    youtube.get("channels").respond(200, json={"kind": "youtube#channelListResponse"})
    assert client.channel(handle="@nobody") is None


@pytest.mark.parametrize("kwargs", [{}, {"channel_id": "UC1", "handle": "@one"}])
def test_channel_wants_exactly_one_name(client: YouTubeClient, kwargs: dict[str, str]) -> None:
    with pytest.raises(ValueError):
        client.channel(**kwargs)


def playlist(request: httpx.Request) -> httpx.Response:
    """Three pages of two items each."""
    token = request.url.params.get("pageToken", "p0")
    n = int(token[1:])
    items = [
        {
            "contentDetails": {"videoId": f"v{k:010d}", "videoPublishedAt": "2024-05-01T00:00:00Z"},
        }
        for k in (2 * n, 2 * n + 1)
    ]
    body: dict[str, Any] = {"items": items, "pageInfo": {"totalResults": 6}}
    if n < 2:
        body["nextPageToken"] = f"p{n + 1}"
    return httpx.Response(200, json=body)


def test_playlist_pages_follows_tokens(
    client: YouTubeClient, youtube: respx.MockRouter, ledger: MemoryLedger
) -> None:
    route = youtube.get("playlistItems").mock(side_effect=playlist)
    pages = list(client.playlist_pages("UU" + "c" * 22, max_results=2, user_id=3))
    assert [[i.video_id for i in p.items] for p in pages] == [
        [f"v{k:010d}" for k in (2 * n, 2 * n + 1)] for n in range(3)
    ]
    assert route.calls.last.request.url.params["part"] == "contentDetails"
    assert pages[-1].next_page_token is None
    tokens = [call.request.url.params.get("pageToken") for call in route.calls]
    assert tokens == [None, "p1", "p2"]
    assert route.calls.last.request.url.params["maxResults"] == "2"
    assert [(r.units, r.user_id) for r in ledger.reserved] == [(1, 3)] * 3


def test_playlist_pages_fetches_only_what_is_read(
    client: YouTubeClient, youtube: respx.MockRouter
) -> None:
    route = youtube.get("playlistItems").mock(side_effect=playlist)
    first = next(client.playlist_pages("UU" + "c" * 22))
    assert first.next_page_token == "p1" and route.call_count == 1


def test_unknown_playlist_is_not_found(client: YouTubeClient, youtube: respx.MockRouter) -> None:
    youtube.get("playlistItems").mock(return_value=error(404, "playlistNotFound"))
    with pytest.raises(NotFound) as err:
        client.playlist_page("PLnope")
    assert err.value.reason == "playlistNotFound" and err.value.status == 404


@pytest.mark.parametrize("n", [0, 51])
def test_page_size_is_bounded(client: YouTubeClient, n: int) -> None:
    with pytest.raises(ValueError):
        client.playlist_page("PL1", max_results=n)


# --- retries -----------------------------------------------------------------------------------


def test_retries_5xx_with_a_reservation_per_request(
    client: YouTubeClient, youtube: respx.MockRouter, ledger: MemoryLedger, sleeps: list[float]
) -> None:
    route = youtube.get("videos").mock(side_effect=[error(503, "backendError")] * 2 + [OK])
    assert [v.id for v in client.videos(["aaaaaaaaaaa"])] == ["aaaaaaaaaaa"]
    assert route.call_count == 3
    assert len(ledger.reserved) == 3 and ledger.refunded == []
    assert sleeps == [0.5, 1.0]


def test_backoff_is_full_jitter_under_a_capped_exponential(
    ledger: MemoryLedger, youtube: respx.MockRouter, sleeps: list[float]
) -> None:
    youtube.get("videos").respond(500)
    jitters = iter([0.5, 0.25, 1.0, 0.0, 1.0])
    cfg = ClientConfig(max_attempts=6, backoff_base=1.0, backoff_cap=5.0, failure_threshold=10)
    client = YouTubeClient(
        BASE, "k", ledger, config=cfg, sleep=sleeps.append, jitter=lambda: next(jitters)
    )
    with client, pytest.raises(YouTubeUnavailable):
        client.videos(["aaaaaaaaaaa"])
    # ceilings 1, 2, 4, 5 (capped), 5: each sleep is the jitter's share of its ceiling
    assert sleeps == [0.5, 0.5, 4.0, 0.0, 5.0]


def test_gives_up_after_max_attempts(
    client: YouTubeClient, youtube: respx.MockRouter, ledger: MemoryLedger
) -> None:
    route = youtube.get("videos").mock(return_value=error(503, "backendError", "Back end down."))
    with pytest.raises(YouTubeUnavailable) as err:
        client.videos(["aaaaaaaaaaa"])
    assert route.call_count == 3 and len(ledger.reserved) == 3
    assert err.value.reason == "backendError" and err.value.status == 503
    assert "Back end down." in str(err.value)
    assert err.value.__notes__ == ["gave up after 3 attempts"]


def test_5xx_without_a_youtube_body(client: YouTubeClient, youtube: respx.MockRouter) -> None:
    youtube.get("videos").respond(502, text="<html>Bad Gateway</html>")
    with pytest.raises(YouTubeUnavailable) as err:
        client.videos(["aaaaaaaaaaa"])
    assert err.value.reason == "http502"


def test_quota_exceeded_is_never_retried(
    client: YouTubeClient, youtube: respx.MockRouter, ledger: MemoryLedger, sleeps: list[float]
) -> None:
    route = youtube.get("videos").mock(return_value=error(403, "quotaExceeded"))
    with pytest.raises(QuotaExceededError) as err:
        client.videos(["aaaaaaaaaaa"])
    assert route.call_count == 1 and sleeps == []
    assert ledger.exhausted and err.value.reason == "quotaExceeded" and err.value.status == 403
    assert ledger.refunded == ledger.reserved  # YouTube bills nothing past its cap


@pytest.mark.parametrize(
    "limited",
    [error(403, "rateLimitExceeded"), error(403, "userRateLimitExceeded"), httpx.Response(429)],
    ids=["rateLimitExceeded", "userRateLimitExceeded", "429"],
)
def test_rate_limits_are_retried(
    client: YouTubeClient,
    youtube: respx.MockRouter,
    ledger: MemoryLedger,
    limited: httpx.Response,
) -> None:
    route = youtube.get("videos").mock(side_effect=[limited, OK])
    assert len(client.videos(["aaaaaaaaaaa"])) == 1
    assert route.call_count == 2 and len(ledger.reserved) == 2 and not ledger.exhausted


def test_persistent_rate_limit_raises(client: YouTubeClient, youtube: respx.MockRouter) -> None:
    youtube.get("videos").mock(return_value=error(403, "rateLimitExceeded"))
    with pytest.raises(RateLimitedError) as err:
        client.videos(["aaaaaaaaaaa"])
    assert err.value.reason == "rateLimitExceeded"


@pytest.mark.parametrize(
    ("status", "reason"), [(400, "invalidParameter"), (403, "forbidden"), (400, "keyInvalid")]
)
def test_other_4xx_fail_at_once_with_youtubes_message(
    client: YouTubeClient, youtube: respx.MockRouter, status: int, reason: str
) -> None:
    route = youtube.get("videos").mock(return_value=error(status, reason, "Say it right."))
    with pytest.raises(RequestRejected) as err:
        client.videos(["aaaaaaaaaaa"])
    assert route.call_count == 1
    assert (err.value.status, err.value.reason) == (status, reason)
    assert "Say it right." in str(err.value)


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", b'{"items": [{"id": "x"}]}'])
def test_malformed_success_is_not_retried(
    client: YouTubeClient, youtube: respx.MockRouter, body: bytes
) -> None:
    route = youtube.get("videos").respond(200, content=body)
    with pytest.raises(MalformedResponse) as err:
        client.videos(["aaaaaaaaaaa"])
    assert route.call_count == 1 and err.value.reason == "malformedResponse"


# --- quota -------------------------------------------------------------------------------------


def test_ledger_refusal_sends_nothing(youtube: respx.MockRouter, sleeps: list[float]) -> None:
    route = youtube.get("videos").mock(side_effect=echo_videos)
    client = YouTubeClient(BASE, "k", MemoryLedger(budget=0), sleep=sleeps.append)
    with client, pytest.raises(QuotaExceededError) as err:
        client.videos(["aaaaaaaaaaa"], user_id=5)
    assert route.call_count == 0 and sleeps == []
    assert (err.value.reason, err.value.scope) == ("quotaExhausted", "project")
    assert err.value.resets_at == TOMORROW


def test_ledger_refusal_mid_call_stops_the_batches(
    youtube: respx.MockRouter, sleeps: list[float]
) -> None:
    route = youtube.get("videos").mock(side_effect=echo_videos)
    client = YouTubeClient(BASE, "k", MemoryLedger(budget=2), sleep=sleeps.append)
    with client, pytest.raises(QuotaExceededError):
        client.videos([f"v{n:010d}" for n in range(150)])
    assert route.call_count == 2


@pytest.mark.parametrize(
    ("fault", "refunded"),
    [
        (httpx.ConnectError("connection refused"), True),
        (httpx.ConnectTimeout("connect timed out"), True),
        (httpx.PoolTimeout("no free connection"), True),
        (httpx.ReadTimeout("read timed out"), False),
        (httpx.RemoteProtocolError("server disconnected"), False),
        (httpx.ReadError("connection reset"), False),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_refund_only_what_never_left(
    client: YouTubeClient,
    youtube: respx.MockRouter,
    ledger: MemoryLedger,
    fault: Exception,
    refunded: bool,
) -> None:
    route = youtube.get("videos").mock(side_effect=[fault, OK])
    client.videos(["aaaaaaaaaaa"])
    assert route.call_count == 2 and len(ledger.reserved) == 2
    assert ledger.refunded == ([ledger.reserved[0]] if refunded else [])
    assert ledger.used() == (1 if refunded else 2)


def test_network_failures_through_every_attempt(
    client: YouTubeClient, youtube: respx.MockRouter, ledger: MemoryLedger
) -> None:
    youtube.get("videos").mock(side_effect=httpx.ConnectError("connection refused"))
    with pytest.raises(YouTubeUnavailable) as err:
        client.videos(["aaaaaaaaaaa"])
    assert err.value.reason == "ConnectError" and err.value.status is None
    assert len(ledger.reserved) == 3 and ledger.used() == 0


def test_configuration_errors_are_not_retried(ledger: MemoryLedger, sleeps: list[float]) -> None:
    client = YouTubeClient("ftp://youtube.invalid", "k", ledger, sleep=sleeps.append)
    with client, pytest.raises(YouTubeError) as err:
        client.videos(["aaaaaaaaaaa"])
    assert type(err.value) is YouTubeError and err.value.reason == "UnsupportedProtocol"
    assert sleeps == [] and ledger.used() == 0


# --- breaker -----------------------------------------------------------------------------------


def test_breaker_opens_and_then_sends_nothing(
    make_client: Callable[..., YouTubeClient], youtube: respx.MockRouter, ledger: MemoryLedger
) -> None:
    client = make_client(max_attempts=1)
    route = youtube.get("videos").mock(return_value=error(503, "backendError"))
    for _ in range(3):
        with pytest.raises(YouTubeUnavailable):
            client.videos(["aaaaaaaaaaa"])
    assert client.breaker.state is State.OPEN
    with pytest.raises(CircuitOpenError) as err:
        client.videos(["aaaaaaaaaaa"])
    assert err.value.reason == "circuitOpen"
    assert route.call_count == 3 and len(ledger.reserved) == 3


def test_breaker_opening_mid_retries_stops_them(
    make_client: Callable[..., YouTubeClient], youtube: respx.MockRouter, ledger: MemoryLedger
) -> None:
    client = make_client(max_attempts=10, failure_threshold=2)
    route = youtube.get("videos").mock(side_effect=httpx.ReadTimeout("slow"))
    with pytest.raises(CircuitOpenError):
        client.videos(["aaaaaaaaaaa"])
    assert route.call_count == 2 and ledger.used() == 2


def test_breaker_half_open_probe_closes_or_reopens(
    make_client: Callable[..., YouTubeClient],
    youtube: respx.MockRouter,
    ledger: MemoryLedger,
    clock: Clock,
) -> None:
    client = make_client(max_attempts=1, failure_threshold=1, cooldown=30.0)
    route = youtube.get("videos").mock(
        side_effect=[error(500, "backendError"), error(500, "backendError"), OK, OK]
    )
    with pytest.raises(YouTubeUnavailable):
        client.videos(["aaaaaaaaaaa"])  # closed → open
    clock.now += 30
    with pytest.raises(YouTubeUnavailable):
        client.videos(["aaaaaaaaaaa"])  # half-open probe fails → open again
    assert client.breaker.state is State.OPEN
    clock.now += 29
    with pytest.raises(CircuitOpenError):
        client.videos(["aaaaaaaaaaa"])
    clock.now += 1
    client.videos(["aaaaaaaaaaa"])  # probe succeeds → closed
    assert client.breaker.state is State.CLOSED
    client.videos(["aaaaaaaaaaa"])
    assert route.call_count == 4 and len(ledger.reserved) == 4


def test_4xx_do_not_open_the_breaker(
    make_client: Callable[..., YouTubeClient], youtube: respx.MockRouter
) -> None:
    client = make_client(failure_threshold=2)
    youtube.get("videos").mock(
        side_effect=[error(500, "backendError"), error(400, "badRequest")] * 3
        + [error(403, "rateLimitExceeded")] * 3
    )
    for _ in range(4):
        with pytest.raises((RequestRejected, RateLimitedError)):
            client.videos(["aaaaaaaaaaa"])
    assert client.breaker.state is State.CLOSED


def test_quota_refusal_hands_the_probe_on(
    make_client: Callable[..., YouTubeClient],
    youtube: respx.MockRouter,
    ledger: MemoryLedger,
    clock: Clock,
) -> None:
    client = make_client(max_attempts=1, failure_threshold=1)
    youtube.get("videos").mock(side_effect=[error(503, "backendError"), OK])
    with pytest.raises(YouTubeUnavailable):
        client.videos(["aaaaaaaaaaa"])
    clock.now += 30
    ledger.exhausted = True
    with pytest.raises(QuotaExceededError):
        client.videos(["aaaaaaaaaaa"])
    ledger.exhausted = False
    client.videos(["aaaaaaaaaaa"])  # the probe was not lost with the refused reservation
    assert client.breaker.state is State.CLOSED


# --- concurrency -------------------------------------------------------------------------------


def test_threads_share_one_client(
    make_client: Callable[..., YouTubeClient], youtube: respx.MockRouter, ledger: MemoryLedger
) -> None:
    client = make_client(max_attempts=5, failure_threshold=1_000)
    # Each thread's own requests alternate 503 and 200, so every call fails once and then succeeds
    # whatever the interleaving (a shared alternation let one thread draw five 503s in a row).
    local = threading.local()

    def flaky(request: httpx.Request) -> httpx.Response:
        local.n = getattr(local, "n", 0) + 1
        return error(503, "backendError") if local.n % 2 else OK

    route = youtube.get("videos").mock(side_effect=flaky)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: client.videos(["aaaaaaaaaaa"]), range(100)))
    assert all(len(r) == 1 for r in results)
    assert route.call_count == 200 and ledger.used() == 200


# --- on the real ledger (fakeredis and Redis) --------------------------------------------------


@pytest.fixture
def atomic(redis_url: str, key_prefix: str) -> AtomicLedger:
    return AtomicLedger(kv.connect(redis_url), daily_quota=3, prefix=key_prefix)


@pytest.fixture
def on_atomic(atomic: AtomicLedger) -> Iterator[YouTubeClient]:
    config = ClientConfig(max_attempts=4)
    with YouTubeClient(BASE, "k", atomic, config=config, sleep=lambda _: None) as client:
        yield client


def test_atomic_ledger_keeps_what_reached_youtube(
    on_atomic: YouTubeClient, atomic: AtomicLedger, youtube: respx.MockRouter
) -> None:
    faults = [error(503, "backendError"), httpx.ConnectError("refused"), httpx.ReadTimeout("slow")]
    route = youtube.get("videos").mock(side_effect=[*faults, OK])
    on_atomic.videos(["aaaaaaaaaaa"], user_id=9)
    assert route.call_count == 4
    assert atomic.used() == atomic.used(user_id=9) == 3  # all but the refused connection


def test_atomic_ledger_budget_stops_requests(
    on_atomic: YouTubeClient, atomic: AtomicLedger, youtube: respx.MockRouter
) -> None:
    route = youtube.get("videos").mock(side_effect=echo_videos)
    with pytest.raises(QuotaExceededError) as err:
        on_atomic.videos([f"v{n:010d}" for n in range(200)])
    assert route.call_count == 3 and atomic.used() == 3
    assert err.value.reason == "quotaExhausted" and err.value.resets_at is not None


def test_atomic_ledger_marked_exhausted_by_youtube(
    on_atomic: YouTubeClient, atomic: AtomicLedger, youtube: respx.MockRouter
) -> None:
    route = youtube.get("videos").mock(side_effect=[error(403, "quotaExceeded"), OK])
    with pytest.raises(QuotaExceededError):
        on_atomic.videos(["aaaaaaaaaaa"])
    assert atomic.remaining() == 0
    with pytest.raises(QuotaExceededError) as err:
        on_atomic.videos(["aaaaaaaaaaa"])
    assert err.value.reason == "quotaExhausted" and route.call_count == 1


# --- against the fake YouTube ------------------------------------------------------------------


def test_settings_default_to_the_in_process_fake(ledger: MemoryLedger) -> None:
    settings = Settings(youtube_url=FAKE_YOUTUBE_URL)
    with client_from_settings(settings, ledger) as client:
        channel = client.channel(handle="@chan42")
        assert channel is not None and channel.handle == "@chan42"
        assert channel.uploads_playlist_id is not None
        page = next(client.playlist_pages(channel.uploads_playlist_id, max_results=5))
        videos = client.videos(item.video_id for item in page.items)
    assert [v.id for v in videos] == [item.video_id for item in page.items]
    assert all(v.channel_id == channel.id and v.duration_s is not None for v in videos)
    assert ledger.used() == 3


def test_ledger_matches_the_fake_but_for_drops(redis_url: str, key_prefix: str) -> None:
    """The fake bills drops nothing and quotaExceeded nothing; the client keeps and refunds."""
    faults = FaultConfig(seed=3, drop=0.2, server_error=0.1, rate_limit=0.1)
    fake = FakeYouTube(FakeConfig(seed=1, faults=faults), clock=lambda: EPOCH)
    ledger = AtomicLedger(kv.connect(redis_url), prefix=key_prefix)
    index = fake.catalogue.find_channel(min_videos=5)
    ids = [fake.catalogue.video_id(index, n) for n in range(5)]
    config = ClientConfig(max_attempts=10, failure_threshold=1_000)
    transport = fake.transport(sleep=lambda _: None)
    with YouTubeClient(
        FAKE_YOUTUBE_URL, "k", ledger, transport=transport, config=config, sleep=lambda _: None
    ) as client:
        for _ in range(40):
            assert len(client.videos(ids)) == 5
        drops = fake.stats()["outcomes"]["dropped"]
        assert drops > 0 and ledger.used() == fake.used + drops

        fake.faults.start_storm(requests=1)
        with pytest.raises(QuotaExceededError) as err:
            client.videos(ids)
        assert err.value.reason == "quotaExceeded"
        assert ledger.used() == fake.used + drops and ledger.remaining() == 0
        requests = fake.stats()["requests"]
        with pytest.raises(QuotaExceededError):
            client.videos(ids)  # refused by the ledger: YouTube sees nothing more
        assert fake.stats()["requests"] == requests
