"""Beyond the report (issue 7): a sync round of 100 sources, each with two new uploads, by strategy.

- ``before``: API polling, the report's sync and ours by default — each source pages its uploads
  playlist (a unit) and fetches its new videos' details (a unit per 50, for that source alone);
- ``ours``: feed polling, which is also push's fallback read — each source reads its Atom feed
  (no quota) and records the new ids; one flush then fetches every source's new videos 50 ids a
  unit across channels.

Every round starts from the same state (no projects, nothing pending, every source two uploads
behind) against the in-process fake at zero latency, so time is the pipeline's own work: HTTP
through the fake's transport, parsing, SQL. ``extra_info``: ``units_per_sync`` and
``units_per_new_video`` as the fake charged them, ``queries_per_sync``,
Redis ``round_trips_per_sync`` and ``new_videos``.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, delete, insert, select, update

from reference import pipeline
from reference.models import Base, ContentSource, PendingUpload, Project, User
from reference.services import Services
from reference.settings import Settings
from ytscale.fake.catalogue import EPOCH
from ytscale.fake.youtube import FakeConfig, FakeYouTube
from ytscale.instruments.querycount import count_queries, count_round_trips, redis_clients

SOURCES = 100
NEW_PER_SOURCE = 2
ROUNDS = 4
BUDGET = 10**9
#: A day after the epoch: every upload the round looks for is older than the feed's delay.
NOW = EPOCH + timedelta(days=1)
VARIANTS = {"before": "api_polling", "ours": "feed_polling"}
TABLES = [Base.metadata.tables[name] for name in ("users", "content_sources", "projects")]


def build(conn: Connection) -> None:
    """The head schema, empty: the benchmark adds its own sources."""


@pytest.mark.quick
@pytest.mark.parametrize("variant", list(VARIANTS))
def test_sync_round(benchmark: Any, case: Any, datasets: Any, database: str, variant: str) -> None:
    engine = datasets.engine(
        database, "strategies", Base.metadata.sorted_tables, build, {}, cache=False
    )
    fake = FakeYouTube(FakeConfig(seed=1, daily_quota=BUDGET), clock=lambda: NOW)
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        redis_url=f"fakeredis://strategies-{uuid.uuid4().hex}",
        daily_quota=BUDGET,
        sync_strategy=VARIANTS[variant],
    )
    services = Services.from_settings(settings, youtube_transport=fake.transport())
    catalogue = fake.catalogue
    channels = [i for i in range(SOURCES * 3) if catalogue.video_count(i, NOW) > NEW_PER_SOURCE]
    behind = {
        user: catalogue.video_id(index, catalogue.video_count(index, NOW) - 1 - NEW_PER_SOURCE)
        for user, index in enumerate(channels[:SOURCES], 1)
    }
    with services.sessions.begin() as session:
        session.execute(delete(PendingUpload))
        for table in reversed(TABLES):
            session.execute(delete(table))
        session.execute(insert(User), [{"id": u, "name": f"syncer {u}"} for u in behind])
        session.execute(
            insert(ContentSource),
            [
                {
                    "id": user,
                    "user_id": user,
                    "channel_id": catalogue.channel_id(index),
                    "uploads_playlist_id": catalogue.uploads_playlist_id(index),
                    "last_video_id": behind[user],
                    "next_sync_at": NOW,
                    "is_active": True,
                    "failure_count": 0,
                }
                for user, index in enumerate(channels[:SOURCES], 1)
            ],
        )

    def reset() -> None:
        with services.sessions.begin() as session:
            session.execute(delete(Project))
            session.execute(delete(PendingUpload))
            for user, video_id in behind.items():
                session.execute(
                    update(ContentSource)
                    .where(ContentSource.id == user)
                    .values(last_video_id=video_id)
                )

    def run() -> int:
        for source_id in behind:
            pipeline.sync_source(services, source_id, NOW)
        while pipeline.flush_uploads(services, NOW).claimed:
            pass
        with services.sessions() as session:
            return len(session.scalars(select(Project.id)).all())

    try:
        reset()
        charged = sum(fake.stats()["by_day"].values())
        with (
            count_queries(services.engine) as queries,
            count_round_trips(*redis_clients(services)) as trips,
        ):
            stored = run()
        charged = sum(fake.stats()["by_day"].values()) - charged
        case("strategies", variant, backend=database, sources=SOURCES)
        benchmark.pedantic(run, setup=reset, rounds=ROUNDS, iterations=1)
        benchmark.extra_info.update(
            new_videos=stored,
            units_per_sync=charged / SOURCES,
            units_per_new_video=charged / stored,
            queries_per_sync=queries.count / SOURCES,
            round_trips_per_sync=trips.count / SOURCES,
            strategy=VARIANTS[variant],
        )
    finally:
        services.close()
    assert stored == SOURCES * NEW_PER_SOURCE, "every new upload stored, none twice"
