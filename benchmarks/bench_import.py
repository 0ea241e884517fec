"""Channel import end to end: ours against the in-process fake YouTube at zero latency.

The report claims nothing about import speed, so only ours is timed; the figures are what the
report's per-operation accounting (claim 5) is about. Every round imports one channel of at least
:data:`MIN_VIDEOS` uploads for a user of its own (so nothing is a duplicate) through
:func:`reference.pipeline.import_channel`: channel lookup, uploads pages, 50-id ``videos.list``
batches, batched duplicate lookup and upsert, quota reserved in the ledger before every call.

``extra_info``: ``videos``, ``videos_per_s`` (by the median round), SQL ``queries_per_video``, Redis
``round_trips_per_video``, the
units the fake YouTube charged per video (``units_per_video``), and ``ledger_error``, the units the
ledger booked minus those charged (the report's rule books 3 per video fetch; YouTube charges 1 per
call of up to 50 videos).
"""

from __future__ import annotations

import uuid
from itertools import count
from typing import Any

import pytest
from sqlalchemy import Connection, insert

from reference.models import Base, User
from reference.pipeline import import_channel, request_import
from reference.services import Services
from reference.settings import Settings
from ytscale.fake.youtube import FakeConfig, FakeYouTube
from ytscale.instruments.querycount import count_queries, count_round_trips, redis_clients

MIN_VIDEOS = 200
ROUNDS = 5
#: A budget no round reaches: this measures the import, not the quota's refusal.
BUDGET = 10**9


def build(conn: Connection) -> None:
    """The head schema, empty: users are added round by round."""


@pytest.mark.quick
def test_import_channel(benchmark: Any, case: Any, datasets: Any, database: str) -> None:
    engine = datasets.engine(
        database, "import", Base.metadata.sorted_tables, build, {}, cache=False
    )
    fake = FakeYouTube(FakeConfig(seed=1, daily_quota=BUDGET))
    channel = fake.catalogue.channel(fake.catalogue.find_channel(min_videos=MIN_VIDEOS))
    settings = Settings(
        database_url=engine.url.render_as_string(hide_password=False),
        redis_url=f"fakeredis://import-{uuid.uuid4().hex}",
        daily_quota=BUDGET,
    )
    services = Services.from_settings(settings, youtube_transport=fake.transport())
    users = count(1)
    requests: list[int] = []

    def new_request() -> None:
        user_id = next(users)
        with services.sessions.begin() as session:
            session.execute(insert(User).values(id=user_id, name=f"importer {user_id}"))
        requests.append(request_import(services, user_id, "channel", channel.id))

    def run() -> int:
        return import_channel(services, requests[-1]).imported

    try:
        new_request()
        charged, booked = fake.used, services.ledger.used()
        with (
            count_queries(services.engine) as queries,
            count_round_trips(*redis_clients(services)) as trips,
        ):
            videos = run()
        charged, booked = fake.used - charged, services.ledger.used() - booked
        case("import", "ours", backend=database, videos=videos)
        benchmark.pedantic(run, setup=new_request, rounds=ROUNDS, iterations=1)
        benchmark.extra_info.update(
            videos=videos,
            videos_per_s=videos / benchmark.stats.stats.median,
            queries_per_video=queries.count / videos,
            round_trips_per_video=trips.count / videos,
            units_per_video=charged / videos,
            ledger_error=booked - charged,
        )
    finally:
        services.close()
    assert videos >= MIN_VIDEOS
