import asyncio
import hashlib
import hmac
import re
import socket
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from reference.youtube.atom import parse_feed, topic_url
from tests.ytscale.fake.helpers import Ticker
from ytscale.fake.app import FakeApp
from ytscale.fake.catalogue import SimClock, VideoSpec
from ytscale.fake.hub import HUB_URL, MAX_ATTEMPTS, DeferredCallbacks
from ytscale.fake.youtube import FakeConfig, FakeYouTube

CALLBACK = "https://subscriber.example/websub"
SECRET = "s3cret-" + "x" * 20


class Subscriber:
    """The subscriber's callback, in-process: echoes challenges, records what the hub sends."""

    def __init__(self) -> None:
        self.echo = True
        self.status = 204
        self.verifications: list[httpx.Request] = []
        self.deliveries: list[httpx.Request] = []
        self.on_delivery: Callable[[], None] = lambda: None

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "GET":
            self.verifications.append(request)
            challenge = request.url.params["hub.challenge"]
            return httpx.Response(200, text=challenge if self.echo else f"not {challenge}")
        self.deliveries.append(request)
        self.on_delivery()
        return httpx.Response(self.status)

    def video_ids(self) -> list[str]:
        return [entry.video_id for r in self.deliveries for entry in parse_feed(r.content).entries]


@pytest.fixture
def subscriber() -> Subscriber:
    return Subscriber()


@pytest.fixture
def fake(subscriber: Subscriber) -> Iterator[FakeYouTube]:
    with httpx.Client(transport=httpx.MockTransport(subscriber)) as callbacks:
        yield make_fake(FakeConfig(seed=1, channels=2_000), callbacks)


def make_fake(config: FakeConfig, callbacks: httpx.Client | None = None) -> FakeYouTube:
    return FakeYouTube(config, monotonic=Ticker(), callbacks=callbacks)


def clock_of(fake: FakeYouTube) -> SimClock:
    assert isinstance(fake.clock, SimClock)
    return fake.clock


def busy_channel(fake: FakeYouTube) -> int:
    """The channel that uploads most often: a few hours between uploads."""
    catalogue = fake.catalogue
    return min(range(2_000), key=lambda i: catalogue.channel(i).spacing_s or float("inf"))


def next_uploads(fake: FakeYouTube, index: int, n: int) -> list[VideoSpec]:
    """The next ``n`` uploads of channel ``index`` after the fake's now, oldest first."""
    count = fake.catalogue.video_count(index)
    return [fake.catalogue.video(index, count + k) for k in range(n)]


def move_to(fake: FakeYouTube, instant: datetime) -> None:
    clock_of(fake).advance(instant - fake.clock())


def subscribe(fake: FakeYouTube, index: int, **fields: str) -> httpx.Response:
    form = {
        "hub.callback": CALLBACK,
        "hub.mode": "subscribe",
        "hub.topic": topic_url(fake.catalogue.channel_id(index)),
    } | {f"hub.{name}": value for name, value in fields.items()}
    with httpx.Client(base_url="http://fake", transport=fake.transport()) as client:
        return client.post("/subscribe", data=form)


def push_delay(fake: FakeYouTube) -> timedelta:
    return timedelta(seconds=fake.config.push_delay_s)


# -- verification and delivery ------------------------------------------------------------------


def test_a_verified_subscription_gets_each_upload_signed(
    fake: FakeYouTube, subscriber: Subscriber
) -> None:
    index = busy_channel(fake)
    response = subscribe(fake, index, secret=SECRET, lease_seconds="86400")
    assert response.status_code == 202 and response.content == b""
    # Verification of intent is asynchronous: nothing is called until the hub's next pump.
    assert subscriber.verifications == []
    assert fake.stats()["hub"]["subscriptions"] == {"active": 0, "pending": 1}

    report = fake.hub.pump()
    (check,) = subscriber.verifications
    params = dict(check.url.params)
    assert check.url.copy_with(query=None) == httpx.URL(CALLBACK)
    assert params.pop("hub.challenge")
    assert params == {
        "hub.mode": "subscribe",
        "hub.topic": topic_url(fake.catalogue.channel_id(index)),
        "hub.lease_seconds": "86400",
    }
    assert (report.verified, report.refused, report.sent) == (1, 0, 0)
    assert fake.stats()["hub"]["subscriptions"] == {"active": 1, "pending": 0}

    first, second = next_uploads(fake, index, 2)
    move_to(fake, first.published_at + push_delay(fake) - timedelta(seconds=1))
    assert fake.hub.pump().sent == 0  # published, but the hub has not heard of it yet
    move_to(fake, first.published_at + push_delay(fake))
    assert fake.hub.pump().sent == 1
    (delivery,) = subscriber.deliveries
    assert subscriber.video_ids() == [first.id]
    assert delivery.method == "POST" and delivery.url == httpx.URL(CALLBACK)
    assert delivery.headers["content-type"] == "application/atom+xml"
    topic = topic_url(fake.catalogue.channel_id(index))
    assert delivery.headers["link"] == f"<{HUB_URL}>; rel=hub, <{topic}>; rel=self"
    signature = delivery.headers["x-hub-signature"]
    assert re.fullmatch(r"sha1=[0-9a-f]{40}", signature)
    expected = hmac.new(SECRET.encode(), delivery.content, hashlib.sha1).hexdigest()
    assert signature == f"sha1={expected}"
    feed = parse_feed(delivery.content)
    assert (feed.self_url, feed.hub_url) == (topic, HUB_URL)

    move_to(fake, second.published_at + timedelta(hours=1))
    fake.hub.pump()
    assert subscriber.video_ids() == [first.id, second.id]  # each once, oldest first
    assert fake.used == 0 and fake.stats()["hub"]["notifications"]["sent"] == 2


def test_without_a_secret_nothing_is_signed(fake: FakeYouTube, subscriber: Subscriber) -> None:
    index = busy_channel(fake)
    subscribe(fake, index)
    fake.hub.pump()
    (upload,) = next_uploads(fake, index, 1)
    move_to(fake, upload.published_at + timedelta(minutes=5))
    fake.hub.pump()
    (delivery,) = subscriber.deliveries
    assert "x-hub-signature" not in delivery.headers


def test_a_callback_that_does_not_echo_the_challenge_gets_no_subscription(
    fake: FakeYouTube, subscriber: Subscriber
) -> None:
    subscriber.echo = False
    index = busy_channel(fake)
    subscribe(fake, index)
    report = fake.hub.pump()
    assert (report.verified, report.refused) == (0, 1)
    move_to(fake, next_uploads(fake, index, 3)[-1].published_at + timedelta(hours=1))
    fake.hub.pump()
    assert subscriber.deliveries == []
    hub = fake.stats()["hub"]
    assert hub["subscriptions"]["active"] == 0 and hub["verifications"] == {"ok": 0, "failed": 1}


def test_a_lease_lapse_stops_notifications_even_once_renewed(
    fake: FakeYouTube, subscriber: Subscriber
) -> None:
    index = busy_channel(fake)
    first, second, third = next_uploads(fake, index, 3)
    # The lease ends after the hub heard of the first upload and before it heard of the second.
    lease = (first.published_at + push_delay(fake) - fake.clock()).total_seconds() + 1
    subscribe(fake, index, lease_seconds=str(int(lease)))
    fake.hub.pump()
    move_to(fake, second.published_at + timedelta(minutes=5))
    subscribe(fake, index)  # too late: the second upload fell in the lapse
    report = fake.hub.pump()
    assert (report.verified, report.sent, report.expired) == (1, 1, 1)
    assert subscriber.video_ids() == [first.id]
    assert fake.stats()["hub"]["leases_expired"] == 1

    move_to(fake, third.published_at + timedelta(minutes=5))
    fake.hub.pump()
    assert subscriber.video_ids() == [first.id, third.id]


def test_a_renewal_before_the_lease_ends_keeps_notifications_coming(
    fake: FakeYouTube, subscriber: Subscriber
) -> None:
    index = busy_channel(fake)
    first, second = next_uploads(fake, index, 2)
    lease = int((first.published_at - fake.clock()).total_seconds())
    subscribe(fake, index, lease_seconds=str(lease))
    fake.hub.pump()
    move_to(fake, first.published_at - timedelta(minutes=10))
    subscribe(fake, index, lease_seconds=str(10 * 86_400))
    assert fake.hub.pump().verified == 1
    granted = subscriber.verifications[-1].url.params["hub.lease_seconds"]
    assert granted == "432000"  # asked for 10 days, granted the hub's 5
    move_to(fake, second.published_at + timedelta(minutes=5))
    report = fake.hub.pump()
    assert report.expired == 0 and subscriber.video_ids() == [first.id, second.id]


def test_a_refused_renewal_leaves_the_subscription_to_its_lease(
    fake: FakeYouTube, subscriber: Subscriber
) -> None:
    index = busy_channel(fake)
    first, second = next_uploads(fake, index, 2)
    lease = (second.published_at - fake.clock()).total_seconds()
    subscribe(fake, index, lease_seconds=str(int(lease)))
    fake.hub.pump()
    subscriber.echo = False
    subscribe(fake, index, lease_seconds=str(10 * 86_400))
    assert fake.hub.pump().refused == 1
    move_to(fake, second.published_at + timedelta(minutes=5))
    report = fake.hub.pump()
    assert report.expired == 1 and subscriber.video_ids() == [first.id]


def test_a_refusing_hub_answers_503_and_keeps_running_leases(
    fake: FakeYouTube, subscriber: Subscriber
) -> None:
    index = busy_channel(fake)
    subscribe(fake, index)
    fake.hub.pump()
    fake.hub.refuse()
    answer = subscribe(fake, index)
    assert (answer.status_code, answer.text) == (503, "Transient error")
    assert fake.hub.pump().verified == 0
    move_to(fake, next_uploads(fake, index, 1)[0].published_at + timedelta(minutes=5))
    fake.hub.pump()
    assert len(subscriber.deliveries) == 1, "the lease it granted before still delivers"
    fake.hub.refuse(False)
    assert subscribe(fake, index).status_code == 202
    assert fake.stats()["hub"]["requests"] == {"accepted": 2, "refused": 0, "unavailable": 1}


def test_unsubscribing_stops_notifications(fake: FakeYouTube, subscriber: Subscriber) -> None:
    index = busy_channel(fake)
    subscribe(fake, index)
    fake.hub.pump()
    assert subscribe(fake, index, mode="unsubscribe").status_code == 202
    assert fake.hub.pump().verified == 1
    check = subscriber.verifications[-1]
    assert check.url.params["hub.mode"] == "unsubscribe"
    assert "hub.lease_seconds" not in check.url.params
    move_to(fake, next_uploads(fake, index, 2)[-1].published_at + timedelta(hours=1))
    fake.hub.pump()
    assert subscriber.deliveries == [] and fake.stats()["hub"]["subscriptions"]["active"] == 0


def test_lost_notifications_are_counted_and_never_sent(subscriber: Subscriber) -> None:
    with httpx.Client(transport=httpx.MockTransport(subscriber)) as callbacks:
        fake = make_fake(FakeConfig(seed=1, channels=2_000, push_loss=1.0), callbacks)
        index = busy_channel(fake)
        subscribe(fake, index)
        fake.hub.pump()
        move_to(fake, next_uploads(fake, index, 3)[-1].published_at + timedelta(hours=1))
        report = fake.hub.pump()
    assert (report.sent, report.missed) == (0, 3)
    assert subscriber.deliveries == [] and len(subscriber.verifications) == 1
    assert fake.stats()["hub"]["notifications"]["missed"] == 3


def test_loss_is_drawn_from_the_seed(subscriber: Subscriber) -> None:
    def run(seed: int) -> tuple[list[int], int]:
        """Misses per hourly pump over two days, and how many uploads there were."""
        with httpx.Client(transport=httpx.MockTransport(subscriber)) as callbacks:
            fake = make_fake(FakeConfig(seed=seed, channels=2_000, push_loss=0.5), callbacks)
            index = busy_channel(fake)
            subscribe(fake, index)
            fake.hub.pump()
            start = fake.clock()
            missed = [fake.hub.pump(start + timedelta(hours=h)).missed for h in range(1, 49)]
            uploads = fake.catalogue.video_count(
                index, start + timedelta(hours=48) - push_delay(fake)
            )
            return missed, uploads - fake.catalogue.video_count(index, start - push_delay(fake))

    missed, uploads = run(1)
    assert run(1) == (missed, uploads)
    assert 0 < sum(missed) < uploads
    assert len(subscriber.deliveries) == 2 * (uploads - sum(missed))


def test_failed_deliveries_are_retried_three_times_then_dropped(
    fake: FakeYouTube, subscriber: Subscriber
) -> None:
    index = busy_channel(fake)
    subscribe(fake, index)
    fake.hub.pump()
    (upload,) = next_uploads(fake, index, 1)
    move_to(fake, upload.published_at + timedelta(minutes=1))
    subscriber.status = 500
    reports = [fake.hub.pump() for _ in range(MAX_ATTEMPTS + 1)]
    assert len(subscriber.deliveries) == MAX_ATTEMPTS == 3
    assert len({r.content for r in subscriber.deliveries}) == 1  # the same notification again
    assert [(r.sent, r.retried, r.retrying, r.failed) for r in reports] == [
        (0, 0, 1, 0),
        (0, 1, 1, 0),
        (0, 1, 0, 1),
        (0, 0, 0, 0),
    ]
    notifications = fake.stats()["hub"]["notifications"]
    assert (notifications["failed"], notifications["retried"], notifications["queued"]) == (1, 2, 0)


def test_a_retry_that_gets_through_counts_as_sent(
    fake: FakeYouTube, subscriber: Subscriber
) -> None:
    index = busy_channel(fake)
    subscribe(fake, index)
    fake.hub.pump()
    (upload,) = next_uploads(fake, index, 1)
    move_to(fake, upload.published_at + timedelta(minutes=1))

    def cut_once() -> None:
        subscriber.on_delivery = lambda: None
        raise httpx.ConnectError("connection refused")

    subscriber.on_delivery = cut_once
    assert fake.hub.pump().retrying == 1
    report = fake.hub.pump()
    assert (report.sent, report.retried) == (1, 1) and subscriber.video_ids() == [upload.id] * 2


# -- invalid requests ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"hub.callback": None}, "hub.callback"),
        ({"hub.callback": "/websub"}, "hub.callback"),
        ({"hub.callback": "ftp://subscriber.example/cb"}, "hub.callback"),
        ({"hub.callback": "http://[::1/cb"}, "hub.callback"),
        ({"hub.mode": None}, "hub.mode"),
        ({"hub.mode": "subscribed"}, "hub.mode"),
        ({"hub.topic": None}, "hub.topic"),
        ({"hub.topic": "https://example.com/feed.xml"}, "hub.topic"),
        ({"hub.topic": topic_url("UC" + "A" * 22)}, "hub.topic"),
        ({"hub.topic": topic_url("UU" + "A" * 22)}, "hub.topic"),
        ({"hub.lease_seconds": "-5"}, "hub.lease_seconds"),
        ({"hub.lease_seconds": "0"}, "hub.lease_seconds"),
        ({"hub.lease_seconds": "a week"}, "hub.lease_seconds"),
        ({"hub.secret": "s" * 200}, "hub.secret"),
        ({"hub.secret": "é" * 100}, "hub.secret"),  # 200 bytes in UTF-8
    ],
)
def test_invalid_requests_are_400_naming_the_field(
    fake: FakeYouTube, fields: dict[str, str | None], named: str
) -> None:
    form = {
        "hub.callback": CALLBACK,
        "hub.mode": "subscribe",
        "hub.topic": topic_url(fake.catalogue.channel_id(3)),
    } | fields
    data = {name: value for name, value in form.items() if value is not None}
    with httpx.Client(base_url="http://fake", transport=fake.transport()) as client:
        response = client.post("/subscribe", data=data)
    assert response.status_code == 400 and response.headers["content-type"].startswith("text/")
    assert named in response.text
    hub = fake.stats()["hub"]
    assert hub["requests"] == {"accepted": 0, "refused": 1, "unavailable": 0}
    assert hub["subscriptions"]["pending"] == 0


def test_the_limits_themselves_are_accepted(fake: FakeYouTube) -> None:
    assert subscribe(fake, 3, secret="s" * 199, lease_seconds="1").status_code == 202
    # The topic URL as the feed's own, and fields in the query string, as Google's hub reads.
    topic = f"https://www.youtube.com/feeds/videos.xml?channel_id={fake.catalogue.channel_id(3)}"
    params = {"hub.callback": CALLBACK, "hub.mode": "subscribe", "hub.topic": topic}
    with httpx.Client(base_url="http://fake", transport=fake.transport()) as client:
        assert client.post("/subscribe", params=params).status_code == 202
        assert client.get("/subscribe", params=params).status_code == 405
    assert fake.stats()["hub"]["subscriptions"]["pending"] == 2


def test_without_an_injected_client_only_loopback_is_called_back() -> None:
    fake = make_fake(FakeConfig(seed=1, channels=100))
    topic = topic_url(fake.catalogue.channel_id(0))

    def status(callback: str) -> int:
        return fake.answer(
            "POST",
            "/subscribe",
            [],
            f"hub.mode=subscribe&hub.topic={topic}&hub.callback={callback}".encode(),
        ).status

    assert status("http://example.com/cb") == 400
    assert status("http://10.0.0.7:8000/cb") == 400
    assert status("http://127.0.0.2.nip.io/cb") == 400
    assert status("http://localhost:9/cb") == 202
    assert status("http://[::1]:9/cb") == 202
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert status(f"http://127.0.0.1:{port}/cb") == 202
    report = fake.hub.pump()
    fake.hub.close()
    # The hub's own client tried them all; nobody answered, so none is subscribed.
    assert (report.verified, report.refused) == (0, 3)


def test_an_injected_client_may_reach_any_host(fake: FakeYouTube) -> None:
    assert subscribe(fake, 3, callback="http://example.com/cb").status_code == 202


# -- events, threads, scale ---------------------------------------------------------------------


def test_renotify_and_delete_reach_the_channels_subscribers(
    fake: FakeYouTube, subscriber: Subscriber
) -> None:
    index = busy_channel(fake)
    subscribe(fake, index, secret=SECRET)
    subscribe(fake, busy_channel(fake) + 1)  # another channel's subscriber hears nothing
    fake.hub.pump()
    video = fake.catalogue.uploads(index, 0, 1)[1][0]
    assert fake.hub.renotify(video.id) == 1
    fake.hub.pump()
    (entry,) = parse_feed(subscriber.deliveries[-1].content).entries
    assert entry.video_id == video.id and entry.updated_at == fake.clock()
    assert fake.hub.delete(video.id) == 1
    fake.hub.pump()
    tombstone = subscriber.deliveries[-1]
    assert parse_feed(tombstone.content).deleted[0].video_id == video.id
    expected = hmac.new(SECRET.encode(), tombstone.content, hashlib.sha1).hexdigest()
    assert tombstone.headers["x-hub-signature"] == f"sha1={expected}"
    with pytest.raises(LookupError):
        fake.hub.renotify("dQw4w9WgXcQ")


def test_concurrent_pumps_deliver_each_upload_once(
    fake: FakeYouTube, subscriber: Subscriber
) -> None:
    index = busy_channel(fake)
    for n in range(20):
        subscribe(fake, index, callback=f"{CALLBACK}/{n}")
    fake.hub.pump()
    uploads = next_uploads(fake, index, 5)
    move_to(fake, uploads[-1].published_at + timedelta(minutes=5))
    barrier = threading.Barrier(4)

    def pump(_: int) -> int:
        barrier.wait()
        return fake.hub.pump().sent

    with ThreadPoolExecutor(4) as pool:
        assert sum(pool.map(pump, range(4))) == 20 * 5
    pairs = [(str(r.url), parse_feed(r.content).entries[0].video_id) for r in subscriber.deliveries]
    assert len(pairs) == len(set(pairs)) == 20 * 5


@pytest.mark.timeout(10)
def test_callbacks_may_call_back_into_the_fake(fake: FakeYouTube, subscriber: Subscriber) -> None:
    """No lock is held during callbacks: a subscriber reading the feed does not deadlock."""
    index = busy_channel(fake)
    channel_id = fake.catalogue.channel_id(index)
    seen: list[int] = []

    def read_feed() -> None:
        with httpx.Client(base_url="http://fake", transport=fake.transport()) as client:
            seen.append(
                client.get("/feeds/videos.xml", params={"channel_id": channel_id}).status_code
            )
        subscribe(fake, index)  # and the hub's own endpoint, mid-pump
        fake.stats()

    subscriber.on_delivery = read_feed
    subscribe(fake, index)
    fake.hub.pump()
    move_to(fake, next_uploads(fake, index, 1)[0].published_at + timedelta(minutes=5))
    assert fake.hub.pump().sent == 1 and seen == [200]


def test_a_pump_reads_counts_not_videos(
    fake: FakeYouTube, subscriber: Subscriber, monkeypatch: pytest.MonkeyPatch
) -> None:
    for index in range(300):
        subscribe(fake, index, callback=f"{CALLBACK}/{index}")
    assert fake.hub.pump().verified == 300
    built: list[int] = []
    video = fake.catalogue.video

    def counting(channel: Any, number: int) -> VideoSpec:
        built.append(number)
        return video(channel, number)

    monkeypatch.setattr(fake.catalogue, "video", counting)
    clock_of(fake).advance(timedelta(days=7))
    report = fake.hub.pump()
    # Only the uploads that are notified are ever built: the rest is a count per subscription.
    assert 0 < len(built) == report.sent == len(subscriber.deliveries) < 300


# -- admin, app, command line -------------------------------------------------------------------


def test_the_admin_pump_and_stats(fake: FakeYouTube) -> None:
    subscribe(fake, 3)
    with httpx.Client(base_url="http://fake", transport=fake.transport()) as client:
        report = client.post("/_fake/hub/pump").json()
        assert client.get("/_fake/hub/pump").status_code == 405
        stats = client.get("/_fake/stats").json()
    assert report["verified"] == 1 and datetime.fromisoformat(report["at"]) == fake.clock()
    assert set(report) == {
        "at", "verified", "refused", "expired", "sent", "missed", "failed", "retried", "retrying",
    }  # fmt: skip
    assert stats["hub"] == {
        "requests": {"accepted": 1, "refused": 0, "unavailable": 0},
        "subscriptions": {"active": 1, "pending": 0},
        "verifications": {"ok": 1, "failed": 0},
        "notifications": {"sent": 0, "missed": 0, "failed": 0, "retried": 0, "queued": 0},
        "leases_expired": 0,
        "pumps": 1,
    }
    fake.reset()
    assert fake.stats()["hub"]["subscriptions"]["active"] == 0


def test_the_asgi_app_serves_the_feed_and_the_hub(
    fake: FakeYouTube, subscriber: Subscriber
) -> None:
    app = FakeApp(fake)
    index = busy_channel(fake)
    channel_id = fake.catalogue.channel_id(index)

    async def run() -> tuple[httpx.Response, httpx.Response, dict[str, Any]]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(base_url="http://fake", transport=transport) as client:
            feed = await client.get("/feeds/videos.xml", params={"channel_id": channel_id})
            form = {"hub.callback": CALLBACK, "hub.mode": "subscribe"}
            accepted = await client.post(
                "/subscribe", data=form | {"hub.topic": topic_url(channel_id)}
            )
            report = (await client.post("/_fake/hub/pump")).json()
        return feed, accepted, report

    feed, accepted, report = asyncio.run(run())
    assert feed.status_code == 200
    assert feed.headers["content-type"] == "application/atom+xml; charset=UTF-8"
    assert parse_feed(feed.content).channel_id == channel_id
    assert accepted.status_code == 202 and accepted.content == b""
    assert report["verified"] == 1 and len(subscriber.verifications) == 1


def test_the_app_pumps_the_hub_in_the_background(fake: FakeYouTube) -> None:
    subscribe(fake, 3)
    app = FakeApp(fake, hub_interval_s=0.01)

    async def run() -> None:
        inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        outbox: list[dict[str, Any]] = []
        await inbox.put({"type": "lifespan.startup"})

        async def send(message: Any) -> None:
            outbox.append(message)

        lifespan = asyncio.create_task(app({"type": "lifespan"}, inbox.get, send))
        for _ in range(500):
            if fake.stats()["hub"]["pumps"]:
                break
            await asyncio.sleep(0.01)
        await inbox.put({"type": "lifespan.shutdown"})
        await lifespan
        assert [m["type"] for m in outbox] == [
            "lifespan.startup.complete",
            "lifespan.shutdown.complete",
        ]

    asyncio.run(run())
    assert fake.stats()["hub"]["subscriptions"]["active"] == 1


def test_deferred_callbacks_fail_as_unreachable_until_their_app_is_set() -> None:
    deferred = DeferredCallbacks()
    client = httpx.Client(transport=deferred)
    with pytest.raises(httpx.ConnectError, match="no callback app yet"):
        client.get("http://api.test/websub/x")
    deferred.target = httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(204)))
    assert client.get("http://api.test/websub/x").status_code == 204
