"""Quota-free sync strategies end to end: feed polling, push with feed fallback, the batched fetch.

The fake YouTube runs on a clock the test moves; its hub calls the real ``/websub`` callback of
the API app (signatures checked) through a TestClient, so nothing leaves the process.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from reference import pipeline, push, tasks, uploads
from reference.api import create_app
from reference.models import ContentSource, PendingUpload, Project, PushSubscription, User
from reference.services import Services
from reference.settings import Settings
from reference.strategies import SyncStrategy
from reference.youtube.atom import FEED_ENTRIES, topic_url
from ytscale.fake.atom import render_notification
from ytscale.fake.catalogue import EPOCH, Catalogue, SimClock
from ytscale.fake.hub import DeferredCallbacks
from ytscale.fake.youtube import FakeConfig, FakeYouTube

STEP = timedelta(minutes=1)


@dataclass
class Stack:
    services: Services
    fake: FakeYouTube
    api: TestClient
    clock: SimClock

    @property
    def catalogue(self) -> Catalogue:
        return self.fake.catalogue

    def step(self, until: datetime, *, renew: bool = True) -> None:
        """Run the deployment's periodic work minute by minute up to ``until``."""
        while self.clock() < until:
            self.clock.advance(STEP)
            now = self.clock()
            if renew and self.services.settings.sync_strategy.subscribes:
                push.renew_subscriptions(self.services.sessions, self.services.hub, now=now)
            self.fake.hub.pump(now)
            pipeline.schedule_due(
                self.services,
                lambda source_id, _: pipeline.sync_source(self.services, source_id, now),  # noqa: B023
                now=now,
                horizon_s=STEP.total_seconds(),
            )
            pipeline.flush_uploads(self.services, now)

    def video_ids(self, user_id: int) -> list[str]:
        with self.services.sessions() as session:
            stmt = select(Project.video_id).where(Project.user_id == user_id)
            return sorted(session.scalars(stmt))


def busy_channel(catalogue: Catalogue, start: int = 0) -> int:
    """A channel that uploads at least daily, so a simulated day or two sees uploads."""
    return catalogue.find_busy_channel(1.0, start, EPOCH)


@pytest.fixture
def make_stack(settings: Settings) -> Iterator[Any]:
    built: list[tuple[Services, TestClient]] = []

    def make(strategy: str, **fake_config: Any) -> Stack:
        clock = SimClock(EPOCH, source=lambda: 0.0)  # moved by the test alone
        later = DeferredCallbacks()
        fake = FakeYouTube(
            FakeConfig(seed=1, **fake_config),
            clock=clock,
            quota_clock=clock,
            callbacks=httpx.Client(transport=later),
        )
        scoped = replace(settings, sync_strategy=strategy, callback_url="http://api.test")
        services = Services.from_settings(scoped, youtube_transport=fake.transport(), clock=clock)
        api = TestClient(create_app(services=services, celery_app=tasks.create_app(scoped)))
        later.target = api
        built.append((services, api))
        return Stack(services, fake, api, clock)

    yield make
    for services, api in built:
        api.close()
        services.close()


def add_source(stack: Stack, user_id: int, channel: int, **changes: Any) -> int:
    catalogue = stack.catalogue
    newest = catalogue.video_count(channel, stack.clock()) - 1
    with stack.services.sessions.begin() as session:
        if session.get(User, user_id) is None:
            session.add(User(id=user_id, name=f"user{user_id}"))
            session.flush()  # no ORM relationship orders the two inserts
        columns: dict[str, Any] = {
            "user_id": user_id,
            "channel_id": catalogue.channel_id(channel),
            "uploads_playlist_id": catalogue.uploads_playlist_id(channel),
            "last_video_id": catalogue.video_id(channel, newest) if newest >= 0 else None,
            "next_sync_at": stack.clock() + SyncStrategy.PUSH.interval,
            "is_active": True,
            "failure_count": 0,
        }
        source = ContentSource(**(columns | changes))
        session.add(source)
        session.flush()
        return source.id


def uploads_between(stack: Stack, channel: int, start: datetime, end: datetime) -> list[str]:
    catalogue = stack.catalogue
    first, stop = catalogue.video_count(channel, start), catalogue.video_count(channel, end)
    return sorted(catalogue.video_id(channel, n) for n in range(first, stop))


def count(services: Services, model: type) -> int:
    with services.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.mark.slow  # simulated days, minute by minute
def test_push_imports_each_upload_minutes_after_it_and_spends_a_unit_per_batch(
    make_stack: Any,
) -> None:
    stack = make_stack("push")
    channel = busy_channel(stack.catalogue)
    add_source(stack, 1, channel)
    start = stack.clock()
    stack.step(start + timedelta(hours=3))
    with stack.services.sessions() as session:
        lease = session.get(PushSubscription, stack.catalogue.channel_id(channel))
    assert lease is not None and lease.lease_expires_at is not None, "the hub verified our intent"
    stack.step(start + timedelta(days=2))
    # Uploads published more than the hub's delay and a tick before the end are all in.
    expected = uploads_between(stack, channel, start, stack.clock() - timedelta(minutes=5))
    assert expected, "the busy channel uploaded nothing in two days"
    assert set(expected) <= set(stack.video_ids(1))
    assert stack.fake.stats()["feed"]["requests"] >= 1  # the fallback read ran too
    # One videos.list per flush that had something: never one per user or per report.
    stats = stack.fake.stats()
    units = sum(stats["by_day"].values())
    assert units == stats["charged_calls"].get("videos.list", 0) <= len(expected)


@pytest.mark.slow  # simulated days, minute by minute
def test_missed_notifications_are_recovered_by_the_fallback_feed_read(make_stack: Any) -> None:
    stack = make_stack("push", push_loss=1.0)  # the hub loses every notification
    channel = busy_channel(stack.catalogue)
    add_source(stack, 1, channel)
    start = stack.clock()
    stack.step(start + timedelta(days=1, hours=7))
    expected = uploads_between(stack, channel, start, start + timedelta(days=1))
    assert expected
    assert stack.fake.stats()["hub"]["notifications"]["missed"] >= len(expected)
    assert set(expected) <= set(stack.video_ids(1))


@pytest.mark.slow  # simulated days, minute by minute
def test_a_lapsed_lease_is_caught_by_the_fallback_and_renewed(make_stack: Any) -> None:
    stack = make_stack("push", max_lease_s=3_600)
    channel = busy_channel(stack.catalogue)
    add_source(stack, 1, channel)
    start = stack.clock()
    stack.step(start + timedelta(minutes=10))  # subscribed: an hour's lease
    stack.step(start + timedelta(days=1, hours=7), renew=False)  # ...which nobody renews
    assert stack.fake.stats()["hub"]["leases_expired"] >= 1
    expected = uploads_between(
        stack, channel, start + timedelta(hours=2), start + timedelta(days=1)
    )
    assert expected, "no upload fell after the lapse"
    assert set(expected) <= set(stack.video_ids(1)), "the fallback feed read found them"
    lapsed_at = stack.clock()
    stack.step(lapsed_at + timedelta(minutes=10))
    with stack.services.sessions() as session:
        lease = session.get(PushSubscription, stack.catalogue.channel_id(channel))
    assert lease is not None and lease.lease_expires_at is not None
    assert lease.lease_expires_at > lapsed_at, "renewed once renewals ran again"


@pytest.mark.slow  # simulated days, minute by minute
def test_feed_polling_imports_new_uploads_with_no_quota_but_their_details(
    make_stack: Any,
) -> None:
    stack = make_stack("feed_polling")
    channel = busy_channel(stack.catalogue)
    add_source(stack, 1, channel, next_sync_at=EPOCH)
    start = stack.clock()
    stack.step(start + timedelta(days=1))
    expected = uploads_between(stack, channel, start, start + timedelta(hours=22))
    assert expected
    assert set(expected) <= set(stack.video_ids(1))
    calls = stack.fake.stats()["charged_calls"]
    assert set(calls) == {"videos.list"}, "finding the uploads cost nothing"
    assert stack.fake.stats()["feed"]["requests"] >= 23


def test_feed_and_push_reporting_one_video_make_one_project_and_one_fetch(
    make_stack: Any,
) -> None:
    stack = make_stack("push")
    channel = busy_channel(stack.catalogue)
    catalogue = stack.catalogue
    # Two users sync the channel; the newest video is unknown to both sources.
    for user in (1, 2):
        source_id = add_source(stack, user, channel)
        with stack.services.sessions.begin() as session:
            count_now = catalogue.video_count(channel, EPOCH)
            source = session.get(ContentSource, source_id)
            assert source is not None
            source.last_video_id = catalogue.video_id(channel, count_now - 2)
    newest = catalogue.video_id(channel, catalogue.video_count(channel, EPOCH) - 1)
    body = _notification(stack, channel, newest)
    for _ in range(2):  # the hub delivers twice (a retitle notifies again)
        assert _post(stack, channel, body, signed=True).json()["accepted"] is True
    stack.clock.advance(timedelta(hours=1))
    source_ids = _sources(stack)
    for source_id in source_ids:  # and each user's fallback feed read reports it too
        pipeline.sync_source(stack.services, source_id, stack.clock())
    assert count(stack.services, PendingUpload) == 1
    flushed = pipeline.flush_uploads(stack.services, stack.clock())
    assert (flushed.requested, flushed.fetched, flushed.stored) == (1, 1, 2)
    assert stack.fake.used == 1
    assert stack.video_ids(1) == stack.video_ids(2) == [newest]
    # Reported again after it was stored: nothing to fetch, nothing spent.
    _post(stack, channel, body, signed=True)
    assert pipeline.flush_uploads(stack.services, stack.clock()).requested == 0
    assert stack.fake.used == 1 and count(stack.services, Project) == 2


def test_a_lost_notification_behind_a_delivered_one_is_still_found_by_the_fallback(
    make_stack: Any,
) -> None:
    stack = make_stack("push")
    catalogue = stack.catalogue
    channel = catalogue.find_channel(5, at=EPOCH)
    total = catalogue.video_count(channel, EPOCH)
    source_id = add_source(stack, 1, channel)
    with stack.services.sessions.begin() as session:
        source = session.get(ContentSource, source_id)
        assert source is not None
        source.last_video_id = catalogue.video_id(channel, total - 3)
    lost, delivered = (catalogue.video_id(channel, total - n) for n in (2, 1))
    _post(stack, channel, _notification(stack, channel, delivered), signed=True)
    pipeline.flush_uploads(stack.services, stack.clock())
    assert stack.video_ids(1) == [delivered]
    stack.clock.advance(timedelta(hours=1))  # past the feed's delay
    assert pipeline.sync_source(stack.services, source_id, stack.clock()) == 1
    pipeline.flush_uploads(stack.services, stack.clock())
    assert stack.video_ids(1) == sorted([lost, delivered])


@pytest.mark.parametrize("signed", [None, "forged"])
def test_unsigned_and_forged_notifications_are_refused(make_stack: Any, signed: str | None) -> None:
    stack = make_stack("push")
    channel = busy_channel(stack.catalogue)
    add_source(stack, 1, channel)
    video = stack.catalogue.video_id(channel, 0)
    answer = _post(stack, channel, _notification(stack, channel, video), signed=signed)
    assert answer.status_code == 200  # acknowledged, as PubSubHubbub 0.4 requires, and ignored
    assert answer.json() == {"accepted": False, "outcome": signed or "unsigned", "recorded": 0}
    assert count(stack.services, PendingUpload) == 0
    metrics = stack.api.get("/metrics").text
    assert f'ytscale_websub_notifications_total{{outcome="{signed or "unsigned"}"}} 1.0' in metrics


def test_a_notification_signed_for_another_channel_is_forged(make_stack: Any) -> None:
    stack = make_stack("push")
    a = busy_channel(stack.catalogue)
    b = busy_channel(stack.catalogue, a + 1)
    add_source(stack, 1, a)
    body = _notification(stack, a, stack.catalogue.video_id(a, 0))
    secret = push.secret_for(stack.services.settings.secret, stack.catalogue.channel_id(b))
    answer = stack.api.post(
        f"/websub/{stack.catalogue.channel_id(a)}",
        content=body,
        headers={"X-Hub-Signature": push.sign(secret, body)},
    )
    assert answer.json()["outcome"] == "forged"


def test_a_signed_notification_naming_another_channels_video_stores_nothing(
    make_stack: Any,
) -> None:
    stack = make_stack("push")
    catalogue = stack.catalogue
    a = busy_channel(catalogue)
    b = busy_channel(catalogue, a + 1)
    add_source(stack, 1, a)
    # The entry says channel a, as the callback's signature does; the video is b's.
    spec_a, spec_b = catalogue.channel(a), catalogue.channel(b)
    video_b = catalogue.video(spec_b, 0)
    body = render_notification(
        [(video_b, spec_a)], updated=stack.clock(), hub="hub", topic=topic_url(spec_a.id)
    )
    assert _post(stack, a, body, signed=True).json()["recorded"] == 1
    flushed = pipeline.flush_uploads(stack.services, stack.clock())
    assert (flushed.fetched, flushed.stored, flushed.foreign) == (1, 0, 1)
    assert stack.video_ids(1) == []
    assert count(stack.services, PendingUpload) == 0, "dropped, not retried for ever"


def test_more_new_uploads_than_the_feed_lists_are_paged_from_the_playlist(
    make_stack: Any,
) -> None:
    stack = make_stack("feed_polling")
    catalogue = stack.catalogue
    channel = catalogue.find_channel(FEED_ENTRIES + 10, at=EPOCH)
    source_id = add_source(stack, 1, channel)
    total = catalogue.video_count(channel, EPOCH)
    with stack.services.sessions.begin() as session:
        source = session.get(ContentSource, source_id)
        assert source is not None
        source.last_video_id = catalogue.video_id(channel, total - FEED_ENTRIES - 6)
    stack.clock.advance(timedelta(hours=1))  # past the feed's delay
    pipeline.sync_source(stack.services, source_id, stack.clock())
    assert len(stack.video_ids(1)) == FEED_ENTRIES + 5, "the five the feed does not list too"
    assert stack.fake.stats()["charged_calls"]["playlistItems.list"] == 1


def test_a_flush_without_quota_keeps_every_upload_for_the_next(make_stack: Any) -> None:
    stack = make_stack("push", daily_quota=0)
    channel = busy_channel(stack.catalogue)
    add_source(stack, 1, channel)
    video = stack.catalogue.video_id(channel, 0)
    _post(stack, channel, _notification(stack, channel, video), signed=True)
    flushed = pipeline.flush_uploads(stack.services, stack.clock())
    assert flushed.error is not None and "quota" in flushed.error.lower()
    with stack.services.sessions() as session:
        row = session.get(PendingUpload, video)
    assert row is not None and row.claimed_until is None, "handed back, not lost"


def test_the_hub_only_gets_a_challenge_back_for_what_we_asked(make_stack: Any) -> None:
    stack = make_stack("push")
    channel = busy_channel(stack.catalogue)
    channel_id = stack.catalogue.channel_id(channel)

    def verify(mode: str, topic: str = topic_url(channel_id), lease: int = 60) -> httpx.Response:
        params = {"hub.mode": mode, "hub.topic": topic, "hub.challenge": "c-42"}
        return stack.api.get(f"/websub/{channel_id}", params=params | {"hub.lease_seconds": lease})

    assert verify("subscribe").status_code == 404, "no source syncs the channel yet"
    add_source(stack, 1, channel)
    assert verify("subscribe").status_code == 404, "synced, but we have not asked the hub yet"
    with stack.services.sessions.begin() as session:
        push.due_channels(
            session, now=stack.clock(), limit=10, secret=stack.services.hub.fingerprint
        )
    assert verify("unsubscribe").status_code == 404, "we asked to subscribe"
    other = stack.catalogue.channel_id(channel + 1)
    assert verify("subscribe", topic_url(other)).status_code == 404, "topic names another channel"
    answer = verify("subscribe", lease=2**70)
    assert (answer.status_code, answer.text) == (200, "c-42")
    assert verify("subscribe").status_code == 404, "already confirmed: a replay changes nothing"
    with stack.services.sessions() as session:
        row = session.get(PushSubscription, channel_id)
    assert row is not None and row.lease_expires_at == stack.clock() + push.LEASE_REQUEST
    assert stack.api.get("/websub/not-a-channel", params={"hub.mode": "x"}).status_code == 422


def _subscription(stack: Stack, channel: int) -> PushSubscription | None:
    with stack.services.sessions() as session:
        return session.get(PushSubscription, stack.catalogue.channel_id(channel))


def test_a_channel_no_source_wants_is_unsubscribed(make_stack: Any) -> None:
    stack = make_stack("push")
    channel = busy_channel(stack.catalogue)
    source_id = add_source(stack, 1, channel)
    stack.step(stack.clock() + timedelta(minutes=2))
    assert stack.fake.stats()["hub"]["subscriptions"]["active"] == 1
    with stack.services.sessions.begin() as session:
        source = session.get(ContentSource, source_id)
        assert source is not None
        source.is_active = False
    stack.step(stack.clock() + push.RETRY_AFTER + timedelta(minutes=2))
    assert stack.fake.stats()["hub"]["subscriptions"]["active"] == 0, "cancelled at the hub"
    assert _subscription(stack, channel) is None


def test_a_rotated_secret_resubscribes_under_the_new_one(make_stack: Any) -> None:
    stack = make_stack("push")
    channel = busy_channel(stack.catalogue)
    add_source(stack, 1, channel)
    stack.step(stack.clock() + timedelta(minutes=2))
    before = _subscription(stack, channel)
    assert before is not None and before.lease_secret == stack.services.hub.fingerprint
    rotated = replace(stack.services.settings, secret="rotated-secret")
    stack.services.hub = push.HubClient(rotated, transport=stack.fake.transport())
    stack.step(stack.clock() + push.RETRY_AFTER + timedelta(minutes=2))
    after = _subscription(stack, channel)
    assert after is not None and after.lease_secret == push.fingerprint("rotated-secret")
    assert after.verified_at is not None and after.verified_at > before.verified_at  # type: ignore[operator]
    assert stack.fake.stats()["hub"]["requests"]["accepted"] == 2


def _fallback(stack: Stack) -> dict[str, float]:
    found = re.findall(
        r'ytscale_websub_fallback_channels\{reason="(\w+)"\} (\S+)', stack.api.get("/metrics").text
    )
    return {reason: float(value) for reason, value in found}


def test_while_the_hub_refuses_its_channels_are_read_by_feed_hourly(make_stack: Any) -> None:
    stack = make_stack("push")
    channel = busy_channel(stack.catalogue)
    source_id = add_source(stack, 1, channel)
    stack.fake.hub.refuse()
    stack.step(stack.clock() + STEP)
    refused = _subscription(stack, channel)
    assert refused is not None and "503" in (refused.hub_error or "")
    assert _fallback(stack) == {"refused": 1.0, "unleased": 0.0}

    def next_sync() -> datetime:
        with stack.services.sessions() as session:
            source = session.get(ContentSource, source_id)
            assert source is not None
            return source.next_sync_at

    def interval() -> timedelta:
        with stack.services.sessions() as session:
            source = session.get(ContentSource, source_id)
            assert source is not None and source.last_synced_at is not None
            return source.next_sync_at - source.last_synced_at

    hourly = SyncStrategy.FEED_POLLING.interval
    assert next_sync() <= stack.clock() + hourly, "brought forward from push's 6 hours"
    stack.step(next_sync())
    assert interval() == hourly, "synced, and due again within the hour"
    stack.fake.hub.refuse(False)
    stack.step(stack.clock() + push.RETRY_AFTER + STEP)
    accepted = _subscription(stack, channel)
    assert accepted is not None and accepted.hub_error is None and accepted.lease_expires_at
    assert _fallback(stack) == {"refused": 0.0, "unleased": 0.0}
    stack.step(next_sync())
    assert interval() == SyncStrategy.PUSH.interval, "back to push's fallback pace"


def _notification(stack: Stack, channel: int, video_id: str) -> bytes:
    catalogue = stack.catalogue
    located = catalogue.locate_video(video_id, stack.clock())
    assert located is not None
    spec = catalogue.channel(channel)
    video = catalogue.video(spec, located[1])
    topic = topic_url(spec.id)
    return render_notification([(video, spec)], updated=stack.clock(), hub="hub", topic=topic)


def _post(stack: Stack, channel: int, body: bytes, signed: bool | str | None) -> httpx.Response:
    channel_id = stack.catalogue.channel_id(channel)
    headers = {"content-type": "application/atom+xml"}
    if signed is True:
        secret = push.secret_for(stack.services.settings.secret, channel_id)
        headers["X-Hub-Signature"] = push.sign(secret, body)
    elif signed == "forged":
        headers["X-Hub-Signature"] = "sha1=" + "0" * 40
    return stack.api.post(f"/websub/{channel_id}", content=body, headers=headers)


def _sources(stack: Stack) -> list[int]:
    with stack.services.sessions() as session:
        return list(session.scalars(select(ContentSource.id).order_by(ContentSource.id)))


def test_one_flush_fetches_fifty_ids_a_unit_across_channels(make_stack: Any) -> None:
    stack = make_stack("push")
    catalogue = stack.catalogue
    channels = [catalogue.find_channel(25, start=i * 100, at=EPOCH) for i in range(3)]
    pending = {}
    for user, channel in enumerate(channels, 1):
        add_source(stack, user, channel)
        total = catalogue.video_count(channel, EPOCH)
        pending[catalogue.channel_id(channel)] = [
            catalogue.video_id(channel, n) for n in range(total - 20, total)
        ]
    with stack.services.sessions.begin() as session:
        for channel_id, ids in pending.items():
            uploads.record(session, channel_id, ids, via="push", now=EPOCH)
    flushed = pipeline.flush_uploads(stack.services, EPOCH)
    assert (flushed.claimed, flushed.requested, flushed.fetched, flushed.stored) == (60, 60, 60, 60)
    assert stack.fake.stats()["charged_calls"] == {"videos.list": 2}, "ceil(60 / 50) units"
    for user, ids in enumerate(pending.values(), 1):
        assert stack.video_ids(user) == sorted(ids)
    assert count(stack.services, PendingUpload) == 0
