"""The pipeline through a real Celery worker (not eager mode): memory:// and the Redis broker."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
import redis
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from reference import pipeline, tasks
from reference.clock import utc_now
from reference.models import ContentSource, PendingUpload, Project
from reference.services import Services
from reference.settings import Settings
from reference.tasks import YtscaleCelery, create_app
from tests.helpers import statuses, wait_for
from ytscale.fake.youtube import FakeYouTube
from ytscale.worker import embedded_worker

BROKER_ENV = "YTSCALE_TEST_BROKER_URL"
BROKERS = [
    pytest.param("memory", id="memory"),
    pytest.param("redis", id="redis-broker", marks=pytest.mark.redis),
]


@pytest.fixture(params=BROKERS)
def broker_url(request: pytest.FixtureRequest) -> str:
    if request.param == "memory":
        return "memory://"
    url = os.environ.get(BROKER_ENV)
    if not url:
        pytest.skip(f"{BROKER_ENV} is not set: no real broker to run against")
    return url


@pytest.fixture
def app(settings: Settings, broker_url: str, fake: FakeYouTube, services: object) -> YtscaleCelery:
    # ``services`` created the users; the app builds its own Services, as a worker process would.
    return create_app(replace(settings, broker_url=broker_url), youtube_transport=fake.transport())


@pytest.fixture
def worker(app: YtscaleCelery) -> Iterator[YtscaleCelery]:
    with embedded_worker(app, concurrency=4):
        yield app
    app.services.close()


def test_imports_and_sync_through_a_worker(worker: YtscaleCelery, fake: FakeYouTube) -> None:
    app, services = worker, worker.services
    catalogue = fake.catalogue
    channel = catalogue.find_channel(60)
    vid = catalogue.video_id(channel, 0)
    requests = [
        pipeline.request_import(services, 1, "video", f"https://youtu.be/{vid}"),
        pipeline.request_import(services, 1, "video", f"https://www.youtube.com/watch?v={vid}"),
        pipeline.request_import(services, 1, "channel", catalogue.channel_id(channel)),
    ]
    app.tasks["ytscale.import_video"].delay(requests[0])
    app.tasks["ytscale.import_video"].delay(requests[1])
    app.tasks["ytscale.import_channel"].delay(requests[2])

    def all_done() -> bool:
        """every import request to end"""
        return all(statuses(app)[r] != "pending" for r in requests)

    wait_for(all_done)
    ended = statuses(app)
    assert ended[requests[2]] == "imported"
    assert sorted(ended[r] for r in requests[:2]) in (["duplicate", "imported"], ["duplicate"] * 2)
    with services.sessions() as session:
        videos = session.scalar(select(func.count()).select_from(Project))
        distinct = session.scalar(select(func.count(func.distinct(Project.video_id))))
        source_id = session.scalars(select(ContentSource.id)).one()
    assert videos == distinct == catalogue.video_count(channel)

    fake.clock.advance(timedelta(days=60))
    grown = catalogue.video_count(channel)
    assert grown > videos
    far = utc_now() + pipeline.SYNC_INTERVAL
    planned = pipeline.schedule_due(
        services,
        lambda sid, countdown: app.tasks["ytscale.sync_source"].apply_async(
            (sid,), countdown=countdown
        ),
        now=far,
        horizon_s=1,
    )
    assert [p.source_id for p in planned] == [source_id]

    def synced() -> bool:
        """the sync to finish"""
        with services.sessions() as session:
            source = session.get(ContentSource, source_id)
            return source is not None and source.last_synced_at is not None

    wait_for(synced)
    with services.sessions() as session:
        total = session.scalar(select(func.count()).select_from(Project))
        distinct = session.scalar(select(func.count(func.distinct(Project.video_id))))
    assert total == distinct == grown


@pytest.mark.parametrize(
    ("strategy", "periodic"),
    [
        ("api_polling", set()),
        ("feed_polling", {"ytscale.flush_uploads"}),
        ("push", {"ytscale.flush_uploads", "ytscale.renew_subscriptions"}),
    ],
)
def test_beat_runs_what_the_sync_strategy_needs(strategy: str, periodic: set[str]) -> None:
    app = create_app(Settings(sync_strategy=strategy))
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    always = {"ytscale.schedule_tick", "ytscale.sweep_abandoned"}
    assert scheduled == always | periodic
    assert scheduled <= set(app.tasks)


def test_the_broker_is_refused_a_cluster_with_the_reason() -> None:
    with pytest.raises(ValueError, match="one Redis"):
        create_app(Settings(broker_url="redis+cluster://127.0.0.1:7100"))


def test_the_feed_sync_and_the_flush_run_through_a_worker(
    settings: Settings, broker_url: str, fake: FakeYouTube, services: object
) -> None:
    feed = replace(settings, broker_url=broker_url, sync_strategy="feed_polling")
    app = create_app(feed, youtube_transport=fake.transport())
    catalogue = fake.catalogue
    channel = catalogue.find_channel(5)
    total = catalogue.video_count(channel)
    with app.services.sessions.begin() as session:
        session.add(
            ContentSource(
                user_id=1,
                channel_id=catalogue.channel_id(channel),
                uploads_playlist_id=catalogue.uploads_playlist_id(channel),
                last_video_id=catalogue.video_id(channel, total - 4),  # three behind
                next_sync_at=utc_now(),
            )
        )
        session.flush()
    with app.services.sessions() as session:
        source_id = session.scalars(select(ContentSource.id)).one()
    with embedded_worker(app, concurrency=2):
        app.tasks["ytscale.sync_source"].delay(source_id)

        def recorded() -> bool:
            """the feed sync to record the three uploads"""
            with app.services.sessions() as session:
                return session.scalar(select(func.count()).select_from(PendingUpload)) == 3

        wait_for(recorded)
        app.tasks["ytscale.flush_uploads"].delay()

        def stored() -> bool:
            """the flush to store them"""
            with app.services.sessions() as session:
                return session.scalar(select(func.count()).select_from(Project)) == 3

        wait_for(stored)
    app.services.close()
    assert fake.stats()["charged_calls"] == {"videos.list": 1}


# --- dead backends and time limits ----------------------------------------------------------------


def failing(times: int, error: BaseException) -> Callable[..., pipeline.Outcome]:
    """``pipeline.import_video`` that raises ``error`` on its first ``times`` calls."""
    real, calls = pipeline.import_video, []

    def import_video(services: Services, request_id: int) -> pipeline.Outcome:
        calls.append(request_id)
        if len(calls) <= times:
            raise error
        return real(services, request_id)

    return import_video


DB_DOWN = OperationalError("SELECT 1", {}, Exception("server closed the connection (injected)"))


@pytest.mark.parametrize(
    "error",
    [DB_DOWN, redis.ConnectionError("injected"), redis.TimeoutError("injected")],
    ids=["OperationalError", "ConnectionError", "TimeoutError"],
)
def test_an_import_that_meets_a_dead_backend_is_retried(
    worker: YtscaleCelery, fake: FakeYouTube, monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    monkeypatch.setattr(pipeline, "import_video", failing(1, error))
    vid = fake.catalogue.video_id(1, 0)
    request_id = pipeline.request_import(worker.services, 1, "video", f"https://youtu.be/{vid}")
    worker.tasks["ytscale.import_video"].delay(request_id)

    def ended() -> bool:
        """the retried import to end"""
        return statuses(worker)[request_id] != "pending"

    wait_for(ended)
    assert statuses(worker)[request_id] == "imported"


def test_an_import_whose_backend_stays_down_fails_with_a_reason(
    settings: Settings, fake: FakeYouTube, services: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tasks, "MAX_RETRIES", 1)  # one retry, a second later
    monkeypatch.setattr(pipeline, "import_video", failing(10, DB_DOWN))
    app = create_app(settings, youtube_transport=fake.transport())
    request_id = pipeline.request_import(app.services, 1, "video", "https://youtu.be/dQw4w9WgXcQ")
    with embedded_worker(app, concurrency=1):
        app.tasks["ytscale.import_video"].delay(request_id)

        def ended() -> bool:
            """the import to give up"""
            return statuses(app)[request_id] != "pending"

        wait_for(ended)
    outcome = pipeline.request_outcome(app.services, request_id)
    assert (outcome.status, outcome.reason) == ("failed", "backendUnavailable: OperationalError")
    app.services.close()


def test_an_import_past_the_soft_time_limit_fails_with_a_reason(
    worker: YtscaleCelery, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pipeline, "import_video", failing(1, SoftTimeLimitExceeded()))
    request_id = pipeline.request_import(
        worker.services, 1, "video", "https://youtu.be/dQw4w9WgXcQ"
    )
    worker.tasks["ytscale.import_video"].delay(request_id)

    def ended() -> bool:
        """the import to end"""
        return statuses(worker)[request_id] != "pending"

    wait_for(ended)
    outcome = pipeline.request_outcome(worker.services, request_id)
    assert outcome.status == "failed"
    assert outcome.reason is not None and outcome.reason.startswith("timeLimit:")
    assert worker.conf.task_soft_time_limit < worker.conf.task_time_limit
