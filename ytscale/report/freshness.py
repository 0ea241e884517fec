"""Freshness and quota per sync strategy, measured: the real pipeline on a simulated clock.

For each strategy the same scaled-down population runs for a few simulated days: ``sources``
users each syncing one busy catalogue channel, and a quota budget scaled with them
(``10,000 × sources / 100,000`` units a day, so every source has the share it would have among
100K). Each step of simulated time does what the deployment's periodic tasks do — renew WebSub
leases, let the fake hub verify and deliver (through the real ``/websub`` callback of the API
app, signatures checked), claim the due sources and sync them, flush pending uploads — and then
reads which projects appeared. An upload's *freshness* is the step its project appeared at minus
its ``publishedAt``, so it is measured to one step. Units are what the fake YouTube charged.

```python
result = measure(Settings.from_env(), FreshnessConfig(sources=300, days=2))
result["strategies"]["push"]["freshness_s"]["p50"]
```

Uploads still missing at the end are reported with their ages, never dropped from the figures.
"""

from __future__ import annotations

import math
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import select

from reference import pipeline, push, tasks
from reference.api import create_app
from reference.models import ContentSource, Project, User
from reference.quota.days import QuotaDay
from reference.services import Services
from reference.settings import Settings
from reference.strategies import SyncStrategy
from reference.youtube.errors import YouTubeError
from reference.youtube.parse import JsonDict
from ytscale.fake.catalogue import EPOCH, Catalogue, SimClock
from ytscale.fake.hub import DeferredCallbacks
from ytscale.fake.youtube import FakeConfig, FakeYouTube
from ytscale.seed import create_schema

#: The population the quota budget is scaled from.
FULL_POPULATION = 100_000
#: Runs start at a Pacific-Time midnight, so whole simulated days are whole quota days.
START = QuotaDay.at(EPOCH).resets_at.astimezone(UTC)


@dataclass(frozen=True)
class FreshnessConfig:
    sources: int = 300
    days: float = 2.0
    #: Simulated seconds per step: the scheduler tick, and the resolution of every freshness.
    step_s: float = 60.0
    #: Only channels uploading at least this often join, so a short run sees enough uploads.
    min_uploads_per_day: float = 0.5
    daily_quota_at_full: int = 10_000
    #: Fraction of notifications the fake hub never sends.
    push_loss: float = 0.02
    seed: int = 1

    def daily_quota(self, strategy: SyncStrategy) -> int:
        """The run's budget: API polling gets its sources' share of the full budget.

        Its cost is linear in sources, so that share reproduces the quota pressure of 100K users
        exactly. A batched fetch's is not (batches fill as the population grows): a share scaled
        by population would starve feed polling and push as they never are at 100K, so they get
        the full budget and the run reports what they used of it.
        """
        if strategy.flushes:
            return self.daily_quota_at_full
        return max(1, math.ceil(self.daily_quota_at_full * self.sources / FULL_POPULATION))


def busy_channels(catalogue: Catalogue, n: int, min_uploads_per_day: float) -> list[int]:
    """The first ``n`` channel indices uploading at least ``min_uploads_per_day`` on average."""
    found = [catalogue.find_busy_channel(min_uploads_per_day, at=START)]
    while len(found) < n:
        found.append(catalogue.find_busy_channel(min_uploads_per_day, found[-1] + 1, START))
    return found


def measure(
    settings: Settings,
    config: FreshnessConfig = FreshnessConfig(),
    *,
    strategies: tuple[SyncStrategy, ...] = tuple(SyncStrategy),
    progress: Callable[[str], None] | None = None,
) -> JsonDict:
    """Run every strategy on the same population; the figures per strategy, and the setup."""
    say = progress or (lambda message: print(message, file=sys.stderr, flush=True))
    catalogue = Catalogue(seed=config.seed)
    channels = busy_channels(catalogue, config.sources, config.min_uploads_per_day)
    results: JsonDict = {}
    for strategy in strategies:
        t0 = time.monotonic()
        results[strategy] = _run(settings, config, strategy, channels)
        figures = results[strategy]
        say(
            f"freshness {strategy}: {figures['imported']}/{figures['uploads']} uploads imported, "
            f"p50 {figures['freshness_s']['p50']} s, {figures['units_per_day']:.0f} units/day "
            f"({time.monotonic() - t0:.1f} s)"
        )
    return {
        "config": asdict(config)
        | {"daily_quota": {name: config.daily_quota(name) for name in strategies}},
        "intervals_s": {s.value: s.interval.total_seconds() for s in SyncStrategy},
        "strategies": results,
    }


@contextmanager
def _stack(
    settings: Settings, config: FreshnessConfig, strategy: SyncStrategy, clock: SimClock
) -> Iterator[tuple[Services, FakeYouTube, TestClient]]:
    """A scratch database, a fake YouTube on the simulated clock, and the API for its hub."""
    later = DeferredCallbacks()
    budget = config.daily_quota(strategy)
    fake = FakeYouTube(
        FakeConfig(seed=config.seed, daily_quota=budget, push_loss=config.push_loss),
        clock=clock,
        quota_clock=clock,
        callbacks=httpx.Client(transport=later),
    )
    with tempfile.TemporaryDirectory(prefix="ytscale-freshness-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'freshness.db'}"
        create_schema(url)
        scoped = replace(
            settings,
            database_url=url,
            sync_strategy=strategy,
            daily_quota=budget,
            callback_url="http://callback.invalid",
            key_prefix=f"{settings.key_prefix}freshness:{uuid.uuid4().hex[:8]}:",
        )
        services = Services.from_settings(scoped, youtube_transport=fake.transport(), clock=clock)
        api = create_app(services=services, celery_app=tasks.create_app(scoped))
        try:
            with TestClient(api) as client:
                later.target = client
                yield services, fake, client
        finally:
            services.close()


def _run(
    settings: Settings, config: FreshnessConfig, strategy: SyncStrategy, channels: list[int]
) -> JsonDict:
    clock = SimClock(START, source=lambda: 0.0)  # still, but for the steps the run takes
    end = START + timedelta(days=config.days)
    step = timedelta(seconds=config.step_s)
    with _stack(settings, config, strategy, clock) as (services, fake, _):
        _populate(services, fake.catalogue, channels, strategy)
        fresh: dict[str, float] = {}
        seen = 0
        next_renewal = START
        counts = {"syncs": 0, "failed": 0}
        # Each step's work happens at its start, so the run never touches the quota day at end.
        while (now := clock()) < end:
            if strategy.subscribes and now >= next_renewal:
                push.renew_subscriptions(services.sessions, services.hub, now=now)
                next_renewal = now + timedelta(seconds=tasks.RENEW_EVERY_S)
            fake.hub.pump(now)
            pipeline.schedule_due(
                services,
                lambda source_id, _: _sync(services, source_id, now, counts),  # noqa: B023
                now=now,
                horizon_s=config.step_s,
                cap=10**6,
            )
            if strategy.flushes:
                pipeline.flush_uploads(services, now)
            with services.sessions() as session:
                rows = session.execute(
                    select(Project.id, Project.video_id, Project.published_at)
                    .where(Project.id > seen)
                    .order_by(Project.id)
                ).all()
            seen = rows[-1].id if rows else seen
            fresh |= {r.video_id: (now - r.published_at).total_seconds() for r in rows}
            clock.advance(step)
        return _figures(fake, channels, config, fresh, counts, end)


def _sync(services: Services, source_id: int, now: datetime, counts: dict[str, int]) -> None:
    """Run one claimed sync at once: the countdown is within the step, below its resolution."""
    counts["syncs"] += 1
    try:
        pipeline.sync_source(services, source_id, now)
    except (pipeline.TransientFailure, YouTubeError):
        counts["failed"] += 1  # recorded on the source, retried after its backoff


def _populate(
    services: Services, catalogue: Catalogue, channels: list[int], strategy: SyncStrategy
) -> None:
    """One user per channel, its source up to date at the start, due evenly over its interval."""
    interval = strategy.interval.total_seconds()
    n = len(channels)
    with services.sessions.begin() as session:
        session.add_all(User(id=u, name=f"user{u}", created_at=START) for u in range(1, n + 1))
        session.flush()  # no ORM relationship orders users before their sources
        for user, index in enumerate(channels, 1):
            count = catalogue.video_count(index, START)
            session.add(
                ContentSource(
                    user_id=user,
                    channel_id=catalogue.channel_id(index),
                    uploads_playlist_id=catalogue.uploads_playlist_id(index),
                    last_video_id=catalogue.video_id(index, count - 1),
                    next_sync_at=START + timedelta(seconds=(user - 0.5) * interval / n),
                    is_active=True,
                    failure_count=0,
                )
            )


def _figures(
    fake: FakeYouTube,
    channels: list[int],
    config: FreshnessConfig,
    fresh: dict[str, float],
    counts: dict[str, int],
    end: datetime,
) -> JsonDict:
    catalogue = fake.catalogue
    uploaded = [
        catalogue.video(index, number)
        for index in channels
        for number in range(catalogue.video_count(index, START), catalogue.video_count(index, end))
    ]
    during = {v.id for v in uploaded}
    delays = [delay for video_id, delay in fresh.items() if video_id in during]
    missing = [(end - v.published_at).total_seconds() for v in uploaded if v.id not in fresh]
    stats = fake.stats()
    units = sum(stats["by_day"].values())
    return {
        "uploads": len(uploaded),
        "imported": len(delays),
        "missing": len(missing),
        "uploads_per_source_per_day": len(uploaded) / len(channels) / config.days,
        "freshness_s": _summary(delays),
        "missing_age_s": _summary(missing),
        "units": units,
        "units_per_day": units / config.days,
        "units_per_day_per_source": units / config.days / len(channels),
        "charged_calls": stats["charged_calls"],
        "feed_requests": stats.get("feed", {}).get("requests", 0),
        "hub": stats.get("hub", {}),
        "syncs": counts["syncs"],
        "failed_syncs": counts["failed"],
        "samples": sorted(delays),
    }


def _summary(values: list[float]) -> JsonDict:
    if not values:
        return {"n": 0, "mean": None, "p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    return {
        "n": len(ordered),
        "mean": statistics.fmean(ordered),
        "p50": _quantile(ordered, 0.5),
        "p95": _quantile(ordered, 0.95),
        "max": ordered[-1],
    }


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]


def model_comparison(result: JsonDict, sizes: tuple[int, ...] = ()) -> JsonDict:
    """The strategy model for this run's parameters (to hold the measurement to) and at 100K.

    The run's upload rate is its channels' measured one; at 100K the model keeps its stated
    assumption (:class:`ytscale.capacity.strategies.Deployment`), since the run's channels were
    picked for being busy.
    """
    from ytscale.capacity.strategies import Deployment, compare_strategies, figures, units_series

    config, intervals = result["config"], result["intervals_s"]
    rates = [s["uploads_per_source_per_day"] for s in result["strategies"].values()]
    defaults = FakeConfig()
    shared = Deployment(
        api_poll_interval_s=intervals["api_polling"],
        feed_poll_interval_s=intervals["feed_polling"],
        fallback_interval_s=intervals["push"],
        feed_delay_s=defaults.feed_delay_s,
        push_delay_s=defaults.push_delay_s,
        push_loss=config["push_loss"],
    )
    run = replace(
        shared,
        sources=config["sources"],
        uploads_per_source_per_day=statistics.fmean(rates),
        flush_interval_s=config["step_s"],
    )
    on_run = [
        asdict(figures(replace(run, daily_quota=config["daily_quota"][name]), name))
        for name in result["strategies"]
    ]
    full = replace(shared, sources=FULL_POPULATION)
    populations = sizes or tuple(int(10**e) for e in (3, 3.5, 4, 4.5, 5, 5.5, 6, 6.5, 7))
    return {
        "run": on_run,
        "full": [asdict(f) for f in compare_strategies(full)],
        "full_deployment": asdict(full),
        "series": {"sources": list(populations), "units": units_series(full, populations)},
    }
