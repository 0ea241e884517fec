"""The measurements the claims audit is computed from; each function returns plain JSON data.

Every figure here is measured in this run (queries counted, units charged by the fake YouTube,
a race run, the capacity model evaluated); ``ytscale.report.claims`` turns them into verdicts.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, replace
from itertools import islice
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from reference import pipeline
from reference.db import make_engine
from reference.models import Category, Tool, ToolAlias
from reference.projects import report_projects_table
from reference.quota import AtomicLedger
from reference.services import Services
from reference.settings import Settings
from reference.vocabulary import build_vocabulary
from reference.youtube.breaker import CircuitBreaker
from reference.youtube.client import YouTubeClient
from reference.youtube.errors import QuotaExceededError, YouTubeError
from reference.youtube.parse import JsonDict
from ytscale.capacity import CapacityParams, analytic, simulate
from ytscale.fake.faults import FaultConfig, Latency
from ytscale.fake.youtube import FakeConfig, FakeYouTube
from ytscale.instruments.contention import contend
from ytscale.instruments.interleave import SCHEDULES, run_schedule
from ytscale.instruments.plans import explain, recording
from ytscale.instruments.querycount import count_queries
from ytscale.report.scratch import scratch_settings
from ytscale.seed import create_schema
from ytscale.variants.matching import VARIANTS as MATCHERS
from ytscale.variants.quota import variant_ledger

#: The report's per-operation table (§5): what it charges for each call it makes.
REPORT_UNITS = {"videos.list": 3, "channels.list": 1, "playlistItems.list": 1}
#: The report's videos a day for the matching arithmetic (§3).
VIDEOS_PER_DAY = 1_000


# --- tag matching (C4, C5) ---------------------------------------------------------------------


def matching(videos: int = 20, tools: int = 100) -> JsonDict:
    """SQL statements per video for each matcher variant, on a scratch SQLite vocabulary."""
    with _scratch_engine() as engine:
        with Session(engine) as session:
            build_vocabulary(session, n_tools=tools, n_categories=40, seed=7)
            session.commit()
            tags = _video_tags(session)
        per_video: JsonDict = {}
        for name, variant in MATCHERS.items():
            matcher = variant(engine)
            with count_queries(engine) as cold:
                matcher.match(tags)
            with count_queries(engine) as warm:
                for _ in range(videos):
                    matcher.match(tags)
            per_video[name] = {"cold": cold.count, "per_video": warm.count / videos}
    return {
        "tags_per_video": len(tags),
        "tools": tools,
        "variants": per_video,
        "per_day": {
            name: VIDEOS_PER_DAY * v["per_video"] + (v["cold"] - v["per_video"])
            for name, v in per_video.items()
        },
    }


def _video_tags(session: Session) -> list[str]:
    """Ten tags: four tool spellings, two categories, four that match nothing."""
    tools = session.scalars(select(Tool.name).order_by(Tool.id)).all()
    aliases = session.scalars(select(ToolAlias.alias).order_by(ToolAlias.alias)).all()
    categories = session.scalars(select(Category.name).order_by(Category.id)).all()
    picks = [tools[0], tools[-1], aliases[0], aliases[-1], categories[0], categories[-1]]
    return [*picks, "tutorial", "How To", "2024", "review"]


@contextmanager
def _scratch_engine() -> Iterator[Engine]:
    import tempfile

    with tempfile.TemporaryDirectory(prefix="ytscale-report-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'scratch.db'}"
        create_schema(url)
        engine = make_engine(url)
        try:
            yield engine
        finally:
            engine.dispose()


# --- the (user, external_url) index (C2) ----------------------------------------------------------


def lookup_plans() -> JsonDict:
    """EXPLAIN of the report's duplicate lookup on its tables without and with its index."""
    found: JsonDict = {}
    with _scratch_engine() as engine:
        for shape in ("before", "after"):
            table = report_projects_table(shape)
            table.create(engine)
            with engine.connect() as conn, recording(engine) as sent:
                conn.execute(
                    select(table.c.id).where(
                        table.c.user_id == 1, table.c.external_url == "https://youtu.be/x"
                    )
                )
            plan = explain(engine, *sent[-1])
            found[shape] = {
                "indexes": sorted(plan.searched),
                "full_scan": bool(plan.full_scans),
                "plan": plan.text,
            }
    return {"backend": "sqlite", "variants": found}


# --- quota units per call (C9, C10, C11, C12) ---------------------------------------------------


def _client(fake: FakeYouTube, settings: Settings, **kwargs: Any) -> YouTubeClient:
    ledger = AtomicLedger.from_settings(
        settings, prefix=f"{settings.key_prefix}report:{uuid.uuid4().hex[:8]}:"
    )
    return YouTubeClient("fake://youtube", "fake-key", ledger, transport=fake.transport(), **kwargs)


def _charged(fake: FakeYouTube, call: Callable[[], object]) -> int:
    before = fake.used
    call()
    return fake.used - before


def call_costs(settings: Settings) -> JsonDict:
    """Units the fake YouTube charges for one call of each kind the report prices."""
    fake = FakeYouTube()
    catalogue = fake.catalogue
    channel = catalogue.find_channel(120)
    video = catalogue.video_id(channel, 0)
    playlist = catalogue.uploads_playlist_id(channel)
    with _client(fake, settings) as client:
        return {
            "video_fetch_3_parts": _charged(fake, lambda: client.videos([video])),
            "channel_info": _charged(
                fake, lambda: client.channel(channel_id=catalogue.channel_id(channel))
            ),
            "listing_page": _charged(fake, lambda: client.playlist_page(playlist)),
            "listing_pages_3": _charged(
                fake, lambda: list(islice(client.playlist_pages(playlist), 3))
            ),
        }


def channel_import_accuracy(settings: Settings, min_videos: int = 120) -> JsonDict:
    """A channel import through the pipeline: units the fake charged, our ledger, the report's."""
    fake = FakeYouTube()
    with scratch_settings(settings, users=1) as scratch:
        services = Services.from_settings(scratch, youtube_transport=fake.transport())
        try:
            channel = fake.catalogue.find_channel(min_videos, start=10)
            target = fake.catalogue.channel_id(channel)
            request = pipeline.request_import(services, 1, "channel", target)
            outcome = pipeline.import_channel(services, request)
            ledger = services.ledger.used()
        finally:
            services.close()
    calls: dict[str, int] = fake.stats()["charged_calls"]
    truth = fake.used
    report = sum(REPORT_UNITS.get(method, 1) * n for method, n in calls.items())
    return {
        "videos_imported": outcome.imported,
        "calls": calls,
        "truth_units": truth,
        "ours_units": ledger,
        "report_units": report,
        "ours_error": (ledger - truth) / truth,
        "report_error": (report - truth) / truth,
    }


def shared_budget(settings: Settings, budget: int = 5) -> JsonDict:
    """Whether one user's calls use up another user's quota (one project, one API key)."""
    fake = FakeYouTube(FakeConfig(daily_quota=budget))
    playlist = fake.catalogue.uploads_playlist_id(0)
    with _client(fake, replace(settings, daily_quota=10 * budget)) as client:
        for _ in range(budget):
            client.playlist_page(playlist, user_id=1)
        try:
            client.playlist_page(playlist, user_id=2)
            second_user_refused = False
        except QuotaExceededError:
            second_user_refused = True
    return {
        "budget": budget,
        "first_user_units": budget,
        "second_user_refused": second_user_refused,
    }


# --- quota races (C3) ---------------------------------------------------------------------------


def contention(settings: Settings) -> JsonDict:
    """The report's patterns and ours under deterministic schedules; on real Redis, free bursts too.

    fakeredis runs each command under one lock, so free bursts on it never interleave and prove
    nothing: ``race`` is then ``None``. The schedules interleave by construction, on either store.
    """
    store = "fakeredis" if settings.redis_url.startswith("fakeredis") else "redis"
    race = free_race(settings) if store == "redis" else None
    return {"store": store, "schedules": schedules(settings), "race": race}


def schedules(settings: Settings) -> JsonDict:
    """Each named schedule of ``ytscale.instruments.interleave`` run on each variant."""
    found: JsonDict = {}
    for name, schedule in SCHEDULES.items():
        variants: JsonDict = {}
        for variant in ("before", "after", "ours"):
            prefix = f"{settings.key_prefix}report:schedule:{uuid.uuid4().hex[:8]}:"
            run = run_schedule(settings, variant, name, prefix=prefix)
            counts = asdict(run.result)
            del counts["ledger"]
            variants[variant] = {**counts, "order": [str(step) for step in run.order]}
        found[name] = {
            "about": schedule.about,
            "workers": schedule.workers,
            "budget": schedule.budget,
            "variants": variants,
        }
    return found


def free_race(settings: Settings, workers: int = 32, bursts: int = 10) -> JsonDict:
    """Bursts of ``workers`` one-unit reservations against a budget of half as many, per variant."""
    tight = replace(settings, daily_quota=workers // 2)
    variants: JsonDict = {}
    for variant in ("before", "after", "ours"):
        totals = {"attempts": 0, "granted": 0, "lost": 0, "over_granted": 0, "phantom": 0}
        for _ in range(bursts):
            prefix = f"{settings.key_prefix}report:race:{uuid.uuid4().hex[:8]}:"
            result = asdict(contend(variant_ledger(tight, variant, prefix=prefix), workers=workers))
            for key in totals:
                totals[key] += result[key]
        variants[variant] = totals
    return {"workers": workers, "bursts": bursts, "variants": variants}


# --- circuit breaker (C15) ----------------------------------------------------------------------


def breaker(
    settings: Settings, calls: int = 10, latency_s: float = 5.0, scale: float = 100.0
) -> JsonDict:
    """Calls while YouTube answers every request 5xx: with no breaker vs with ours."""
    found: JsonDict = {}
    for name, threshold in (("without", 10**9), ("with", 5)):
        fake = FakeYouTube(
            FakeConfig(
                time_scale=scale,
                faults=FaultConfig(server_error=1.0, latency=Latency(mean_s=latency_s)),
            )
        )
        slept: list[float] = []
        with _client(
            fake,
            settings,
            breaker=CircuitBreaker(failure_threshold=threshold, cooldown=60.0),
            sleep=slept.append,
        ) as client:
            times, sent = [], []
            for _ in range(calls):
                requests, t0, waited = fake.stats()["requests"], time.perf_counter(), sum(slept)
                with suppress(YouTubeError):
                    client.playlist_page("UUx")
                # Backoff sleeps are counted, not slept: the caller would have waited for them.
                times.append(time.perf_counter() - t0 + sum(slept) - waited)
                sent.append(fake.stats()["requests"] - requests)
        failed_fast = [t for t, n in zip(times, sent, strict=True) if n == 0]
        found[name] = {
            "calls": calls,
            "requests": sum(sent),
            "s_per_call": sum(times) / calls,
            "failed_fast": len(failed_fast),
            "s_per_fast_call": sum(failed_fast) / len(failed_fast) if failed_fast else None,
        }
    return found


# --- capacity model (C6, C7, C8, C13, C14, C16) -------------------------------------------------


def capacity(p: CapacityParams, windows: int = 96, users: int = 100_000) -> JsonDict:
    """The report's scenario through the analytic model and a day of simulation."""
    at_50k = replace(p, sources=50_000)
    at_users = replace(p, sources=users, sync_interval_s=1_800.0, cap_per_window=users)
    unlimited = replace(at_users, workers=100_000, rate_limit_per_min=None)
    sim = simulate(p, windows=windows)
    rows = sim.windows
    return {
        "params": asdict(p),
        "utilisation": analytic.utilisation(p),
        "offered_erlangs": analytic.offered_load(p),
        "slots_for_5000_at_80pct": asdict(analytic.slots_for_target(p)),
        "cycle_50k_s": analytic.cycle_time(at_50k),
        "cycle_50k_limits_s": analytic.cycle_limits(at_50k),
        "per_window_capacity": analytic.throughput(at_50k) * p.window_s,
        "per_window_capacity_no_quota": analytic.service_capacity(at_50k) * p.window_s,
        "rate_limit_capacity_per_s": analytic.rate_limit_capacity(p),
        "dispatch_rate_per_s": analytic.dispatch_rate(p),
        "service_capacity_per_s": analytic.service_capacity(p),
        "constraints": [asdict(c) for c in analytic.constraints(p)],
        "users": users,
        "constraints_at_users": [asdict(c) for c in analytic.constraints(at_users)],
        "quota_by_strategy_at_users": analytic.quota_by_strategy(unlimited),
        "cycle_series": [
            {
                "sources": pt.sources,
                "cycle_s": pt.cycle_s,
                "binding": pt.binding,
                "limits": dict(pt.limits),
            }
            for pt in analytic.cycle_time_series(p)
        ],  # fmt: skip
        "simulation": {
            "windows": windows,
            "dispatched": [w.dispatched for w in rows],
            "completed": [w.completed for w in rows],
            "refused": [w.refused for w in rows],
            "backlog": [w.backlog for w in rows],
            "utilisation": sim.utilisation,
            "final_backlog": sim.backlog,
            "quota_units_by_day": list(sim.quota_units_by_day),
        },
        "comparison": [
            {"metric": c.metric, "analytic": c.analytic, "simulated": c.simulated}
            for c in analytic_vs_sim(p, sim)
        ],
    }


def analytic_vs_sim(p: CapacityParams, sim: Any) -> list[Any]:
    from ytscale.capacity import compare

    return compare(p, result=sim)


# --- files written by other steps ---------------------------------------------------------------


def benchmarks(path: Path) -> JsonDict | None:
    """The duplicate-lookup and quota-race figures of a pytest-benchmark JSON file, if present."""
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    rows = []
    for bench in data.get("benchmarks", []):
        info = bench.get("extra_info") or {}
        rows.append(
            {
                "name": bench["name"],
                "claim": info.get("claim"),
                "variant": info.get("variant"),
                "case": info.get("case", {}),
                "mean_s": bench["stats"]["mean"],
                **{k: v for k, v in info.items() if k not in ("claim", "variant", "case", "plan")},
            }
        )
    return {"file": str(path), "rows": rows}
