"""The sync window: 5,000 due sources through the window scheduler, each sync a Locust request.

```bash
locust -f loadtests/sync_window.py --headless --run-time 10m \\
    --sync-sources 5000 --time-compression 10 --stagger ours \\
    --csv reports/loadtest/sync --csv-full-history --html reports/loadtest/sync.html
```

Not HTTP: the user builds a stack in this process (a seeded SQLite file, fakeredis, the fake
YouTube, an embedded Celery worker on ``memory://``) and drives
:func:`reference.pipeline.schedule_due` on a simulated clock that runs ``--time-compression`` times
faster than the real one; the fake YouTube's clock and latencies, the scheduler's ticks, the
countdowns and the sync task's rate limit are all compressed alike. As in the report's setting,
every source is due when the window starts. Each finished sync fires two request events, in
*simulated* milliseconds:

- ``sync queued``: from the start its countdown planned to the start it got. The queueing delay
  behind busy workers and the rate limit; zero if the workers keep up.
- ``sync done``: from the window's start to the sync's end: the stagger, the queueing and the
  sync itself.

A last event, ``window``, carries the time from the window's start to the last sync's end, and
fails if that exceeds the 900 s window. CPU time is not compressed: keep ``--time-compression``
low enough that the machine's work per sync stays small against the compressed latencies (the
README says how to check).
"""

from __future__ import annotations

import logging
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import gevent
from celery.signals import task_postrun, task_prerun
from locust import User, constant, events, task
from locust.argument_parser import LocustArgumentParser
from locust.stats import CSV_STATS_INTERVAL_SEC
from sqlalchemy import select

from loadtests import thresholds  # noqa: F401  (its command-line options and listener)
from reference import pipeline, tasks
from reference.models import ContentSource
from reference.services import Services
from reference.settings import Settings
from ytscale import seed
from ytscale.fake.faults import FaultConfig, Latency
from ytscale.fake.youtube import FakeConfig, FakeYouTube
from ytscale.variants.stagger import STAGGERS
from ytscale.worker import embedded_worker

log = logging.getLogger(__name__)
#: Budgets large enough that quota never decides the outcome here: the API scenario's job.
UNLIMITED = 1_000_000_000
WINDOW_S = pipeline.WINDOW_S


class SyncWindow:
    """One window's stack and its bookkeeping: when each source fell due and when it was done."""

    def __init__(self, environment: Any, options: Any) -> None:
        self.environment = environment
        self.compression = options.time_compression
        self.stagger = options.stagger
        self.start = seed.SeedConfig.now
        folder = Path(tempfile.mkdtemp(prefix="ytscale-sync-"))
        database_url = options.sync_database_url or f"sqlite:///{folder / 'sync.db'}"
        window = timedelta(seconds=WINDOW_S)
        # Every source falls due within the window before ``start``: all are due at the start.
        population = seed.SeedConfig(
            users=options.sync_sources,
            videos_per_user=1,
            seed=options.catalogue_seed,
            now=self.start,
            sync_interval=window,
            window=window,
        )
        seed.seed(database_url, population, progress=False)
        fake = FakeYouTube(
            FakeConfig(
                seed=options.catalogue_seed,
                start=self.start,
                time_scale=self.compression,
                daily_quota=UNLIMITED,
                faults=FaultConfig(latency=Latency(options.youtube_latency_s)),
            )
        )
        settings = Settings(
            database_url=database_url,
            redis_url=f"fakeredis://{uuid.uuid4().hex}",
            daily_quota=UNLIMITED,
        )
        self.services = Services.from_settings(settings, youtube_transport=fake.transport())
        self.app = tasks.create_app(
            settings, youtube_transport=fake.transport(), services=self.services
        )
        per_minute = options.sync_rate_per_min * self.compression
        self.app.tasks["ytscale.sync_source"].rate_limit = (
            f"{per_minute:g}/m" if per_minute else None
        )
        self.workers = options.sync_workers
        with self.services.sessions() as session:
            rows = session.execute(select(ContentSource.id, ContentSource.next_sync_at))
            self.due: dict[int, datetime] = {source_id: due for source_id, due in rows}
        #: Real (monotonic) instants per source: planned start, actual start, end.
        self.planned: dict[int, float] = {}
        self.began: dict[int, float] = {}
        self.done: dict[int, float] = {}
        self.started = 0.0

    def sim_now(self) -> datetime:
        return self.start + timedelta(seconds=(time.monotonic() - self.started) * self.compression)

    def run(self) -> None:
        task_prerun.connect(self._began)
        task_postrun.connect(self._finished)
        try:
            with embedded_worker(self.app, self.workers):
                self.started = time.monotonic()
                self._schedule()
                deadline = self.started + 3 * WINDOW_S / self.compression
                while len(self.done) < len(self.due) and time.monotonic() < deadline:
                    gevent.sleep(0.05)
        finally:
            task_prerun.disconnect(self._began)
            task_postrun.disconnect(self._finished)
            self.services.close()
        self._report_window()

    def _schedule(self) -> None:
        sync = self.app.tasks["ytscale.sync_source"]

        def enqueue(source_id: int, countdown_s: float) -> None:
            self.planned[source_id] = time.monotonic() + countdown_s / self.compression
            sync.apply_async((source_id,), countdown=countdown_s / self.compression)

        if self.stagger == "report":
            # The report: one query per window, every source given a random countdown in 0..900 s.
            pipeline.schedule_due(
                self.services, enqueue, now=self.start, horizon_s=WINDOW_S,
                cap=len(self.due), stagger=STAGGERS["report"], seed=0,
            )  # fmt: skip
            return
        # Ours: a tick a minute releases the sources due by the next tick, up to the pro-rata cap.
        while len(self.planned) < len(self.due) and self.sim_now() < self.start + 3 * timedelta(
            seconds=WINDOW_S
        ):
            tick = self.sim_now()
            pipeline.schedule_due(self.services, enqueue, now=tick, horizon_s=tasks.TICK_S)
            next_tick = tick + timedelta(seconds=tasks.TICK_S)
            gevent.sleep(max(0.0, (next_tick - self.sim_now()).total_seconds() / self.compression))

    def _ours(self, sender: Any) -> bool:
        return (
            sender is not None and sender.name == "ytscale.sync_source" and sender.app is self.app
        )

    def _began(self, sender: Any = None, args: Any = None, **_: Any) -> None:
        if self._ours(sender):
            self.began[args[0]] = time.monotonic()

    def _finished(
        self, sender: Any = None, args: Any = None, state: str | None = None, **_: Any
    ) -> None:
        if not self._ours(sender):
            return
        source_id, now = args[0], time.monotonic()
        self.done[source_id] = now
        failed = None if state == "SUCCESS" else RuntimeError(f"sync ended {state}")
        waited = self.began[source_id] - self.planned[source_id]
        self._fire("sync queued", max(0.0, waited), None)
        self._fire("sync done", now - self.started, failed)

    def _fire(self, name: str, real_s: float, exception: Exception | None) -> None:
        self.environment.events.request.fire(
            request_type="sync",
            name=name,
            response_time=real_s * self.compression * 1000,
            response_length=0,
            exception=exception,
            context={},
        )

    def _report_window(self) -> None:
        missing = len(self.due) - len(self.done)
        makespan_s = max(self.done.values(), default=time.monotonic()) - self.started
        problem = None
        if missing:
            problem = RuntimeError(f"{missing} of {len(self.due)} syncs not done")
        elif makespan_s * self.compression > WINDOW_S:
            simulated = makespan_s * self.compression
            problem = RuntimeError(f"window overran: {simulated:.0f} s of {WINDOW_S} s")
        self._fire("window", makespan_s, problem)


class SyncWindowUser(User):
    """Runs one window, reports it, and ends the test."""

    fixed_count = 1
    wait_time = constant(0)

    @task
    def window(self) -> None:
        SyncWindow(self.environment, self.environment.parsed_options).run()
        # The CSV writer rewrites the stats once a CSV_STATS_INTERVAL_SEC and not at quitting.
        gevent.sleep(CSV_STATS_INTERVAL_SEC + 0.5)
        assert self.environment.runner is not None
        self.environment.runner.quit()


@events.init_command_line_parser.add_listener
def _arguments(parser: LocustArgumentParser) -> None:
    group = parser.add_argument_group("ytscale sync window", "in-process; times are simulated")
    group.add_argument("--sync-sources", type=int, default=pipeline.WINDOW_CAP, help="due sources")
    group.add_argument("--time-compression", type=float, default=10.0, help="simulated s per s")
    group.add_argument("--stagger", choices=sorted(STAGGERS), default="ours")
    group.add_argument(
        "--sync-workers", type=int, default=10, help="worker threads (tasks at once)"
    )
    group.add_argument(
        "--sync-rate-per-min", type=float, default=1000.0,
        help="sync tasks a simulated minute (the report's 10 workers × 100/m); 0: no limit",
    )  # fmt: skip
    group.add_argument(
        "--youtube-latency-s", type=float, default=0.3, help="per request, simulated"
    )
    group.add_argument("--sync-database-url", default="", help="default: a new SQLite file")
    group.add_argument("--catalogue-seed", type=int, default=seed.SeedConfig.seed)
