"""Claim 4, sync capacity: one 15-minute window's scheduling — select the due sources, stagger them,
enqueue them — for the report's 50K synced channels (its "5000 sources per 15min = 50K users").

- ``before``: the report's scheduler, selecting up to 1,000 due sources, random countdowns 0-900 s;
- ``after``: the same, up to 5,000;
- ``ours``: the scheduler as :mod:`reference.tasks` runs it, one
  :func:`reference.pipeline.schedule_due` per 60 s tick, 15 ticks to the window, each claiming
  (pushing a lease ahead) at most the window cap pro rata and counting each source down to when
  it falls due.

Tasks go to a list, so the figures are the database's selection and claim plus the stagger, not a
broker's. Compare time per task (``tasks`` in ``extra_info``): the report's variants enqueue
different numbers. ``window_share`` is the window's scheduling time as a share of its 900 s;
``queries_per_window`` and ``round_trips_per_window`` count what one window sends (the first,
which also stands for pedantic's warm-up round).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import Connection, Engine, bindparam, insert, update

from benchmarks.slow import VARIANTS, effective_variant
from reference.models import Base, ContentSource, User
from reference.pipeline import WINDOW_CAP, WINDOW_S, schedule_due
from reference.services import Services
from reference.settings import Settings
from reference.sources import due_sources
from reference.tasks import TICK_S
from ytscale.instruments.querycount import count_queries, count_round_trips, redis_clients
from ytscale.variants.stagger import report_countdowns

SOURCES = 50_000
#: The report's batch limit per window, before and after its change.
REPORT_LIMITS = {"before": 1000, "after": WINDOW_CAP}
NOW = datetime(2025, 11, 29, 12, 0, tzinfo=UTC)
#: Sources fall due evenly over the hour around NOW: half are overdue when the window starts.
SPREAD_S = 3600
ROUNDS = 8
TABLES = [Base.metadata.tables[name] for name in ("users", "content_sources")]

Enqueue = Callable[[int, float], None]


def due_at(i: int) -> datetime:
    return NOW + timedelta(seconds=i % SPREAD_S - SPREAD_S / 2)


def build(conn: Connection, sources: int) -> None:
    conn.execute(insert(User), [{"id": i + 1, "name": f"user {i + 1}"} for i in range(sources)])
    conn.execute(
        insert(ContentSource),
        [
            {
                "id": i + 1,
                "user_id": i + 1,
                "channel_id": f"UC{i:022d}",
                "uploads_playlist_id": f"UU{i:022d}",
                "next_sync_at": due_at(i),
            }
            for i in range(sources)
        ],
    )


def report_window(services: Services, enqueue: Enqueue, limit: int) -> int:
    """The report's scheduler: the due sources, up to ``limit``, each at a random countdown."""
    with services.sessions() as session:
        due = due_sources(session, NOW, limit)
        countdowns = report_countdowns(due, NOW, WINDOW_S, random.Random(0))
    for source, countdown in zip(due, countdowns, strict=True):
        enqueue(source.id, countdown)
    return len(due)


def our_window(services: Services, enqueue: Enqueue) -> int:
    ticks = round(WINDOW_S / TICK_S)
    return sum(
        len(schedule_due(services, enqueue, now=NOW + timedelta(seconds=tick * TICK_S)))
        for tick in range(ticks)
    )


def no_youtube(request: httpx.Request) -> httpx.Response:
    raise AssertionError(f"scheduling a window must not call YouTube: {request.url}")


def restore(engine: Engine, source_ids: list[int]) -> None:
    """Put claimed sources back where they were due, so every round schedules the same window."""
    if source_ids:
        table = Base.metadata.tables["content_sources"]
        with engine.begin() as conn:
            conn.execute(
                update(table)
                .where(table.c.id == bindparam("source_id"))
                .values(next_sync_at=bindparam("due")),
                [{"source_id": i, "due": due_at(i - 1)} for i in source_ids],
            )


@pytest.mark.quick
@pytest.mark.parametrize("variant", VARIANTS)
def test_schedule_window(
    benchmark: Any, case: Any, datasets: Any, database: str, variant: str
) -> None:
    engine = datasets.engine(database, "sync", TABLES, build, {"sources": SOURCES}, cache=False)
    case("sync", variant, backend=database, sources=SOURCES)
    url = engine.url.render_as_string(hide_password=False)
    services = Services.from_settings(
        Settings(database_url=url, redis_url="fakeredis://sync"),
        youtube_transport=httpx.MockTransport(no_youtube),
    )
    enqueued: list[tuple[int, float]] = []

    def enqueue(source_id: int, countdown: float) -> None:
        enqueued.append((source_id, countdown))

    def setup() -> None:
        restore(engine, [source_id for source_id, _ in enqueued])
        enqueued.clear()

    chosen = effective_variant("sync", variant)
    if chosen == "ours":
        window: Callable[[], int] = lambda: our_window(services, enqueue)  # noqa: E731
    else:
        window = lambda: report_window(services, enqueue, REPORT_LIMITS[chosen])  # noqa: E731
    try:
        with (
            count_queries(services.engine) as queries,
            count_round_trips(*redis_clients(services)) as trips,
        ):
            window()
        setup()
        benchmark.pedantic(window, setup=setup, rounds=ROUNDS, iterations=1)
        tasks = len(enqueued)
        benchmark.extra_info.update(
            tasks=tasks,
            queries_per_window=queries.count,
            round_trips_per_window=trips.count,
            max_countdown_s=max(countdown for _, countdown in enqueued),
            window_share=benchmark.stats.stats.median / WINDOW_S,
        )
    finally:
        setup()
        services.close()
    per_tick = math.ceil(WINDOW_CAP * TICK_S / WINDOW_S)
    expected = per_tick * round(WINDOW_S / TICK_S) if chosen == "ours" else REPORT_LIMITS[chosen]
    assert tasks == expected
