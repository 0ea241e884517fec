"""The pipeline called directly (no broker): import, dedupe, sync, schedule, failures."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest
import redis
from sqlalchemy import func, select

from reference import pipeline, sources
from reference.clock import utc_now
from reference.models import ContentSource, ImportRequest, Project, ProjectTool
from reference.quota import cost
from reference.services import Services
from reference.videos import InvalidChannelRef, InvalidVideoURL
from ytscale.fake.youtube import FakeYouTube


def count(services: Services, model: type, **where: object) -> int:
    with services.sessions() as session:
        stmt = select(func.count()).select_from(model).filter_by(**where)
        return int(session.scalar(stmt) or 0)


def import_video(services: Services, user_id: int, url: str) -> pipeline.Outcome:
    return pipeline.import_video(services, pipeline.request_import(services, user_id, "video", url))


def import_channel(services: Services, user_id: int, ref: str) -> pipeline.Outcome:
    request_id = pipeline.request_import(services, user_id, "channel", ref)
    return pipeline.import_channel(services, request_id)


def test_every_url_form_of_a_video_gives_one_project(services: Services, fake: FakeYouTube) -> None:
    vid = fake.catalogue.video_id(1, 0)
    forms = [
        f"https://youtu.be/{vid}",
        f"https://m.youtube.com/watch?v={vid}&t=3",
        f"/shorts/{vid}",
    ]
    forms[2] = f"https://www.youtube.com/shorts/{vid}"
    outcomes = [import_video(services, 1, url) for url in forms]
    assert [o.status for o in outcomes] == ["imported", "duplicate", "duplicate"]
    assert len({o.project_id for o in outcomes}) == 1
    assert count(services, Project) == 1
    # Only the first import reached YouTube: the duplicates were answered from the database.
    assert fake.used == cost("videos.list") == services.ledger.used()


def test_another_user_imports_the_same_video_separately(
    services: Services, fake: FakeYouTube
) -> None:
    vid = fake.catalogue.video_id(2, 3)
    first, second = (import_video(services, u, f"https://youtu.be/{vid}") for u in (1, 2))
    assert first.status == second.status == "imported"
    assert first.project_id != second.project_id


def test_unknown_video_fails_with_a_reason(services: Services) -> None:
    outcome = import_video(services, 1, "https://youtu.be/AAAAAAAAAAA")
    assert outcome.status == "failed" and outcome.reason and "videoNotFound" in outcome.reason
    assert count(services, Project) == 0


def test_malformed_input_is_refused_before_anything_is_recorded(services: Services) -> None:
    with pytest.raises(InvalidVideoURL, match="vimeo"):
        pipeline.request_import(services, 1, "video", "https://vimeo.com/1")
    with pytest.raises(InvalidChannelRef):
        pipeline.request_import(services, 1, "channel", "not a channel")
    assert count(services, ImportRequest) == 0


def test_a_finished_request_is_not_run_again(services: Services, fake: FakeYouTube) -> None:
    request_id = pipeline.request_import(services, 1, "video", fake.catalogue.video_id(1, 1))
    first = pipeline.import_video(services, request_id)
    used = fake.used
    # A redelivered task (acks_late after a crash) returns how the request ended, spending nothing.
    assert pipeline.import_video(services, request_id) == pipeline.request_outcome(
        services, request_id
    )
    assert first.status == "imported" and fake.used == used


def test_channel_import_stores_every_upload_once_and_registers_the_source(
    services: Services, fake: FakeYouTube
) -> None:
    index = fake.catalogue.find_channel(120)
    videos = fake.catalogue.video_count(index)
    outcome = import_channel(services, 1, fake.catalogue.channel_id(index))
    assert outcome.status == "imported" and outcome.imported == videos
    assert count(services, Project, user_id=1) == videos
    pages = -(-videos // 50)
    # channels.list + one playlistItems.list and one videos.list per page of 50: 1 unit each.
    assert fake.used == services.ledger.used() == 1 + 2 * pages
    # Above the report's bulk threshold the import skips tag matching.
    assert count(services, ProjectTool) == 0
    with services.sessions() as session:
        source = session.scalars(select(ContentSource)).one()
    assert source.uploads_playlist_id == fake.catalogue.uploads_playlist_id(index)
    assert source.last_video_id is not None

    # Importing again stores nothing new and fetches no video details.
    again = import_channel(services, 1, fake.catalogue.channel_id(index))
    assert again.imported == 0 and count(services, Project, user_id=1) == videos
    assert fake.used == 1 + 2 * pages + 1 + pages


def test_sync_pages_only_until_the_newest_known_video(
    services: Services, fake: FakeYouTube
) -> None:
    index = fake.catalogue.find_channel(60)
    import_channel(services, 1, fake.catalogue.channel_id(index))
    before = count(services, Project)
    with services.sessions() as session:
        source_id = session.scalars(select(ContentSource.id)).one()

    used = fake.used
    assert pipeline.sync_source(services, source_id) == 0
    assert fake.used - used == 1  # one page, nothing new

    fake.clock.advance(timedelta(days=60))
    fresh = fake.catalogue.video_count(index) - before
    assert fresh > 0, "the catalogue should gain uploads over 60 simulated days"
    assert pipeline.sync_source(services, source_id) == fresh
    assert count(services, Project) == before + fresh
    assert pipeline.sync_source(services, source_id) == 0


def test_schedule_claims_each_due_source_once(services: Services, fake: FakeYouTube) -> None:
    for user in (1, 2, 3):
        import_channel(services, user, fake.catalogue.channel_id(user))
    enqueued: list[tuple[int, float]] = []
    horizon = 3600.0
    far = utc_now() + pipeline.SYNC_INTERVAL

    def enqueue(source_id: int, countdown: float) -> None:
        enqueued.append((source_id, countdown))

    first = pipeline.schedule_due(services, enqueue, now=far, horizon_s=horizon)
    second = pipeline.schedule_due(services, enqueue, now=far, horizon_s=horizon)
    assert len(first) == 3 and second == []
    assert all(0 <= c <= horizon for _, c in enqueued)


def test_the_per_window_cap_is_kept_pro_rata(services: Services, fake: FakeYouTube) -> None:
    for user in (1, 2, 3):
        import_channel(services, user, fake.catalogue.channel_id(user))
    far = utc_now() + timedelta(days=1)
    got = pipeline.schedule_due(services, lambda *_: None, now=far, horizon_s=60, cap=2)
    assert len(got) == 2


@pytest.mark.parametrize(
    ("strategy", "cap"), [("api_polling", 1), ("push", 4), ("feed_polling", 24)]
)
def test_the_default_cap_scales_with_how_often_the_strategy_syncs(
    services: Services, monkeypatch: pytest.MonkeyPatch, strategy: str, cap: int
) -> None:
    # 15 a window for a daily sync is 1 a minute; hourly feed reads need 24, 6-hourly ones 4.
    monkeypatch.setattr(pipeline, "WINDOW_CAP", 15)
    with services.sessions.begin() as session:
        session.add_all(
            ContentSource(user_id=1, channel_id=f"UC{i:022d}", next_sync_at=utc_now())
            for i in range(30)
        )
    scoped = replace(services, settings=replace(services.settings, sync_strategy=strategy))
    assert len(pipeline.schedule_due(scoped, lambda *_: None, horizon_s=60)) == cap


def test_quota_exhaustion_fails_the_import_without_calling_youtube(
    services: Services, fake: FakeYouTube
) -> None:
    services.ledger.reserve(services.ledger.remaining())
    outcome = import_video(services, 1, fake.catalogue.video_id(1, 0))
    assert outcome.status == "failed" and outcome.reason
    assert outcome.reason.startswith("quotaExhausted")
    assert fake.used == 0


def test_a_seeded_vocabulary_matches_what_videos_are_tagged_with(
    services: Services, fake: FakeYouTube
) -> None:
    from reference.vocabulary import build_vocabulary
    from ytscale.fake.catalogue import CATEGORY_WORDS, TOOL_WORDS

    with services.sessions.begin() as session:
        build_vocabulary(session, 200, 30, words=(TOOL_WORDS, CATEGORY_WORDS))
    services.matcher.cache.invalidate()
    outcome = import_video(services, 1, fake.catalogue.video_id(1, 0))
    assert outcome.status == "imported"
    assert count(services, ProjectTool) > 0


# --- dead backends --------------------------------------------------------------------------------


def due_times(services: Services) -> dict[int, object]:
    with services.sessions() as session:
        rows = session.execute(select(ContentSource.id, ContentSource.next_sync_at)).tuples()
        return dict(rows.all())


@pytest.mark.parametrize("strategy", ["api_polling", "feed_polling", "push"])
def test_a_claim_is_leased_for_the_strategys_interval(
    services: Services, fake: FakeYouTube, strategy: str
) -> None:
    # An hourly feed read whose sync died must come back within the hour, not a day later.
    import_channel(services, 1, fake.catalogue.channel_id(1))
    scoped = replace(services, settings=replace(services.settings, sync_strategy=strategy))
    far = utc_now() + timedelta(days=2)
    (planned,) = pipeline.schedule_due(scoped, lambda *_: None, now=far, horizon_s=60)
    interval = scoped.settings.sync_strategy.interval
    assert due_times(services)[planned.source_id] == far + timedelta(seconds=60) + interval


def test_a_broker_error_hands_back_the_claims_not_enqueued(
    services: Services, fake: FakeYouTube
) -> None:
    for user in (1, 2, 3):
        import_channel(services, user, fake.catalogue.channel_id(user))
    before = due_times(services)
    far = utc_now() + timedelta(days=2)
    enqueued: list[int] = []

    def enqueue(source_id: int, countdown: float) -> None:
        if enqueued:
            raise ConnectionError("broker down (injected)")
        enqueued.append(source_id)

    with pytest.raises(ConnectionError):
        pipeline.schedule_due(services, enqueue, now=far, horizon_s=60)
    after = due_times(services)
    assert [s for s in after if after[s] != before[s]] == enqueued  # only that one stays claimed
    retried = pipeline.schedule_due(services, lambda *_: None, now=far, horizon_s=60)
    assert sorted(p.source_id for p in retried) == sorted(set(before) - set(enqueued))


def test_a_sync_that_loses_redis_fails_with_a_reason_and_backs_off(
    services: Services, fake: FakeYouTube, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_channel(services, 1, fake.catalogue.channel_id(1))
    (source_id,) = due_times(services)

    def unreachable(*_: object, **__: object) -> None:
        raise redis.ConnectionError("Redis down (injected)")

    monkeypatch.setattr(services.ledger, "reserve", unreachable)
    now = utc_now()
    with pytest.raises(pipeline.TransientFailure, match="backendUnavailable: ConnectionError"):
        pipeline.sync_source(services, source_id, now=now)
    with services.sessions() as session:
        source = session.get(ContentSource, source_id)
        assert source is not None
        assert (source.failure_count, source.last_error) == (
            1,
            "backendUnavailable: ConnectionError",
        )
        assert source.next_sync_at == now + sources.Backoff().delay(1)


def test_the_sweeper_ends_requests_no_worker_will_finish(services: Services) -> None:
    old, fresh = (
        pipeline.request_import(services, 1, "video", "https://youtu.be/dQw4w9WgXcQ")
        for _ in range(2)
    )
    with services.sessions.begin() as session:
        session.get_one(ImportRequest, old).created_at = utc_now() - timedelta(hours=3)
    assert pipeline.sweep_abandoned(services, older_than=timedelta(hours=2)) == 1
    swept = pipeline.request_outcome(services, old)
    assert (swept.status, swept.reason) == ("failed", pipeline.ABANDONED)
    assert pipeline.request_outcome(services, fresh).status == "pending"
    assert pipeline.sweep_abandoned(services, older_than=timedelta(hours=2)) == 0
