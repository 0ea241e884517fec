"""The P0 report's "Testing Recommendations", ported and run against its before, its after and ours.

```python
found = measure_trial(settings)          # what measurements.json keeps under "trial"
found["tests"]["quota_atomicity"]["can_fail_on_before"]
```

Each of the report's four tests keeps its assertion and its sizes; only Django is mapped away:

- ``database_performance``: a ``get_or_create`` of ``(user, 'https://youtube.com/watch?v=test123')``
  on the report's tables without and with its index, and on ours. The report asserts nothing
  ("Should use index, verify EXPLAIN ANALYZE output"): the plan is recorded, never judged.
- ``n_plus_one``: one video's tags through a fresh matcher of each variant
  (:data:`ytscale.variants.matching.VARIANTS`), statements counted as ``connection.queries``
  would be; ``assert len(connection.queries) < 15``. The report names no fixture video, so each
  run takes another video of the fake catalogue: how often the test fails on "before" depends on it.
- ``quota_atomicity``: 100 threads, started and joined one by one, each charging 3 units to user
  999 through the variant's ledger (:func:`ytscale.variants.quota.variant_ledger`) on the configured
  store; ``assert final == 300``. Repeated, as a race is.
- ``sync_capacity``: 5,000 due sources, then ``sync_content_sources()``: the report's scheduler
  before (1,000 a window) and after (5,000), both with its 0–900 s stagger, and our tick;
  ``assert duration < 900``. As in the report, only the call is timed: it enqueues, the work comes
  later, so the model's time for that work is recorded beside it. Enqueueing records each
  countdown instead of publishing it to a broker: the time is the claim and the stagger alone.

Every run of every variant gives ``passed`` (an exception counts as failed, as in pytest) and the
value the assertion read. A test verifies a fix only if it *can fail on the broken code*: it must
assert something, and fail on "before".
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from functools import partial
from typing import Any, Final

from sqlalchemy import Engine, Table, update
from sqlalchemy.orm import Session

from reference import pipeline, tasks
from reference.db import make_engine
from reference.matching import normalise_tags
from reference.models import ContentSource
from reference.projects import (
    NewProject,
    ReportShape,
    report_projects_table,
    upsert_project,
)
from reference.quota.costs import DEFAULT_DAILY_QUOTA
from reference.services import Services
from reference.settings import Settings
from reference.youtube.parse import JsonDict
from ytscale.capacity import CapacityParams, analytic
from ytscale.fake.youtube import FakeYouTube
from ytscale.instruments.plans import explain, recording
from ytscale.instruments.querycount import count_queries
from ytscale.report.duplicates import report_get_or_create
from ytscale.report.scratch import scratch_settings
from ytscale.seed import SeedConfig
from ytscale.variants.matching import VARIANTS as MATCHERS
from ytscale.variants.quota import variant_ledger
from ytscale.variants.stagger import report_countdowns

VARIANTS: Final = ("before", "after", "ours")
#: The report's fixture URL. "test123" is not an 11-character video id.
URL: Final = "https://youtube.com/watch?v=test123"
QUOTA_USER: Final = 999


@dataclass(frozen=True)
class TrialConfig:
    """The report's sizes by default; tests shrink the slow ones."""

    threads: int = 100
    units: int = 3
    #: Bursts per variant: one passing burst says little about a race.
    quota_runs: int = 5
    #: Fixture videos, one per run, from one channel of the fake catalogue.
    videos: int = 100
    sources: int = 5_000
    #: ``sync_content_sources``' batch limit before and after the report's change.
    before_cap: int = 1_000
    after_cap: int = pipeline.WINDOW_CAP


# --- the runner ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recommended:
    """One of the report's tests: what it asserts, on which value, and that assertion."""

    #: The assertion as the report writes it; None when it asserts nothing.
    asserts: str | None
    #: The key of the measured value the assertion reads.
    reads: str | None
    check: Callable[[JsonDict], bool]
    note: str


def run_recommended(
    test: Recommended, body: Callable[[str, int], JsonDict], runs: int = 1, **facts: Any
) -> JsonDict:
    """``body(variant, run)`` for every variant and run, judged by ``test.check``."""
    variants: JsonDict = {}
    for variant in VARIANTS:
        outcomes = [_attempt(test, partial(body, variant, i)) for i in range(runs)]
        failed = sum(not o["passed"] for o in outcomes)
        variants[variant] = {
            "runs": runs,
            "failed": failed,
            "passed": failed == 0,
            "values": [o["value"] for o in outcomes],
            "errors": sorted({o["error"] for o in outcomes if "error" in o}),
        }
    before = variants["before"]
    return {
        "asserts": test.asserts,
        "reads": test.reads,
        "note": test.note,
        "variants": variants,
        "can_fail_on_before": test.asserts is not None and before["failed"] > 0,
        "passes_on_before": before["failed"] < runs,
        **facts,
    }


def _attempt(test: Recommended, once: Callable[[], JsonDict]) -> JsonDict:
    try:
        value = once()
    except Exception as exc:  # pytest reports an error as a failed test; so does the trial
        return {"passed": False, "value": None, "error": f"{type(exc).__name__}: {exc}"}
    return {"passed": test.check(value), "value": value}


# --- 1. database performance --------------------------------------------------------------------

DATABASE_PERFORMANCE: Final = Recommended(
    None,
    None,
    lambda _value: True,
    "asserts nothing ('Should use index, verify EXPLAIN ANALYZE output' is a comment); "
    "ours refuses its URL, as 'test123' is not a video id",
)


def database_performance(settings: Settings, config: TrialConfig) -> JsonDict:
    with _scratch_engine(settings, users=1) as engine:
        shapes: tuple[ReportShape, ...] = ("before", "after")
        tables: dict[str, Table] = {shape: report_projects_table(shape) for shape in shapes}
        for table in tables.values():
            table.create(engine)

        def get_or_create(variant: str, _run: int) -> JsonDict:
            with recording(engine) as sent:
                if variant == "ours":
                    with Session(engine) as session, session.begin():
                        created = upsert_project(session, 1, NewProject.from_url(URL)).created
                else:
                    created = report_get_or_create(engine, tables[variant], 1, URL)
            # What the comment asks to verify: the plan of the lookup, if one was sent.
            lookups = [s for s in sent if s[0].lstrip().upper().startswith("SELECT")]
            with engine.connect() as conn:
                plan = explain(conn, *lookups[0]) if lookups else None
            return {
                "statements": len(sent),
                "created": created,
                "uses_index": bool(plan.searched) if plan else None,
                "full_scan": bool(plan.full_scans) if plan else None,
            }

        return run_recommended(DATABASE_PERFORMANCE, get_or_create)


# --- 2. N+1 query verification ------------------------------------------------------------------

N_PLUS_ONE: Final = Recommended(
    "len(connection.queries) < 15",
    "queries",
    lambda value: value["queries"] < 15,
    "one video per run; the report names no fixture video",
)


def n_plus_one(settings: Settings, config: TrialConfig) -> JsonDict:
    catalogue = FakeYouTube().catalogue
    channel = catalogue.find_channel(config.videos)
    with _scratch_engine(settings, users=1) as engine:

        def analyze(variant: str, number: int) -> JsonDict:
            tags = catalogue.video(channel, number).tags
            matcher = MATCHERS[variant](engine)  # a fresh process's: nothing cached yet
            with count_queries(engine) as queries:
                matcher.match(tags)
            return {"queries": queries.count, "keys": len(normalise_tags(tags))}

        return run_recommended(N_PLUS_ONE, analyze, runs=config.videos, channel=channel)


# --- 3. quota atomicity -------------------------------------------------------------------------

QUOTA_ATOMICITY: Final = Recommended(
    "final == 300",
    "final",
    lambda value: value["final"] == value["expected"],
    "fakeredis answers in-process without releasing the GIL, so the threads' round trips "
    "(almost) never interleave: on it the test cannot catch the race; real Redis can",
)


def quota_atomicity(settings: Settings, config: TrialConfig) -> JsonDict:
    # The report's budget: the burst's units never reach it, so only a race can change the count.
    budget = replace(settings, daily_quota=DEFAULT_DAILY_QUOTA, user_quota=None)

    def burst(variant: str, _run: int) -> JsonDict:
        # A fresh prefix is the report's cache.delete(quota_key).
        prefix = f"{settings.key_prefix}report:trial:{uuid.uuid4().hex[:8]}:"
        ledger = variant_ledger(budget, variant, prefix=prefix)
        threads = [
            threading.Thread(
                target=ledger.reserve, args=(config.units,), kwargs={"user_id": QUOTA_USER}
            )
            for _ in range(config.threads)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        final = ledger.used(user_id=QUOTA_USER)
        ledger.client.delete(*ledger.client.scan_iter(f"*{prefix}*"))  # tagged keys: "{prefix…}"
        return {"final": final, "expected": config.threads * config.units}

    store = "fakeredis" if settings.redis_url.startswith("fakeredis") else "redis"
    return run_recommended(QUOTA_ATOMICITY, burst, runs=config.quota_runs, store=store)


# --- 4. sync capacity ---------------------------------------------------------------------------

SYNC_CAPACITY: Final = Recommended(
    "duration < 900",
    "duration_s",
    lambda value: value["duration_s"] < 900,
    "times only the call that enqueues the syncs, not the syncs; work_s is the model's time "
    "for the enqueued work on the report's 10 workers",
)


def sync_capacity(settings: Settings, config: TrialConfig) -> JsonDict:
    now = SeedConfig.now
    caps = {"before": config.before_cap, "after": config.after_cap}
    per_s = analytic.service_capacity(CapacityParams())
    with scratch_settings(settings, users=config.sources) as scratch:
        services = Services.from_settings(scratch, youtube_transport=FakeYouTube().transport())
        try:

            def sync_content_sources(variant: str, _run: int) -> JsonDict:
                # "Simulate 5000 sync tasks": every source due at the start of the window.
                with services.sessions.begin() as session:
                    session.execute(update(ContentSource).values(next_sync_at=now))
                planned: list[float] = []

                def enqueue(_source_id: int, countdown_s: float) -> None:
                    planned.append(countdown_s)

                start = time.perf_counter()
                if variant == "ours":
                    pipeline.schedule_due(services, enqueue, now=now, horizon_s=tasks.TICK_S)
                else:
                    pipeline.schedule_due(
                        services, enqueue, now=now, horizon_s=pipeline.WINDOW_S,
                        cap=caps[variant], stagger=report_countdowns, seed=0,
                    )  # fmt: skip
                duration = time.perf_counter() - start
                return {
                    "duration_s": duration,
                    "enqueued": len(planned),
                    "last_countdown_s": max(planned, default=0.0),
                    "work_s": len(planned) / per_s,
                }

            return run_recommended(SYNC_CAPACITY, sync_content_sources, sources=config.sources)
        finally:
            services.close()


@contextmanager
def _scratch_engine(settings: Settings, users: int) -> Iterator[Engine]:
    with scratch_settings(settings, users=users) as scratch:
        engine = make_engine(scratch.database_url)
        try:
            yield engine
        finally:
            engine.dispose()


# --- entry point --------------------------------------------------------------------------------

TESTS: Final[Mapping[str, Callable[[Settings, TrialConfig], JsonDict]]] = {
    "database_performance": database_performance,
    "n_plus_one": n_plus_one,
    "quota_atomicity": quota_atomicity,
    "sync_capacity": sync_capacity,
}


def measure_trial(settings: Settings, config: TrialConfig = TrialConfig()) -> JsonDict:
    """The four recommended tests on every variant: JSON for measurements.json's "trial"."""
    return {
        "config": asdict(config),
        "database": "sqlite",
        "tests": {name: test(settings, config) for name, test in TESTS.items()},
    }
