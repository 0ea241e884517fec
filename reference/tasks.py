"""Celery: the app factory and thin task wrappers around :mod:`reference.pipeline`.

Configured for what the P0 report overlooks:

- ``acks_late`` + ``task_reject_on_worker_lost``: a worker killed mid-task leaves its message to be
  redelivered, and the idempotent pipeline makes the second run harmless.
- the Redis broker's ``visibility_timeout`` outlasts the longest countdown plus the task time limit;
  otherwise a task still waiting for its ETA is redelivered and runs twice.
- ``worker_prefetch_multiplier=1``; ETA tasks are exempt from prefetch limits (the worker raises its
  QoS for each), so the scheduler keeps countdowns within one tick instead of a whole window.
- ``rate_limit`` on a task is **per worker instance**: ten workers at "100/m" allow 1,000 a minute.

The embedded default is a ``memory://`` broker, consumed by the harness's in-process worker
(``ytscale.worker``); set ``BROKER_URL=redis://…`` and run ``celery -A reference.tasks worker``
processes for the real thing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict
from datetime import timedelta
from typing import Any

import httpx
from celery import Celery, Task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_init

from reference import pipeline, push
from reference.services import Services
from reference.settings import Settings, UnsafeDeployment

log = logging.getLogger(__name__)

IMPORT_QUEUE = "youtube_import"
SYNC_QUEUE = "youtube_sync"
#: Hard limit on one task; the visibility timeout is derived from it. The soft limit comes first,
#: so an import that runs too long ends failed with a reason instead of being killed mid-write.
TASK_TIME_LIMIT_S = 300
TASK_SOFT_TIME_LIMIT_S = TASK_TIME_LIMIT_S - 30
#: The longest countdown any scheduler uses (the report's stagger spans the whole window).
MAX_COUNTDOWN_S = pipeline.WINDOW_S
VISIBILITY_TIMEOUT_S = MAX_COUNTDOWN_S + 2 * TASK_TIME_LIMIT_S
#: The report's per-worker rate limit (config/celery.py:18), kept so the model can test it.
SYNC_RATE_LIMIT = "100/m"
#: Scheduler tick: each tick releases the sources due within it.
TICK_S = 60.0
MAX_RETRIES = 5
#: A request still pending this long after it was made has no live attempt left: each of its
#: attempts would have been redelivered within a visibility timeout. The sweeper ends it failed.
ABANDONED_AFTER_S = (MAX_RETRIES + 1) * VISIBILITY_TIMEOUT_S
SWEEP_EVERY_S = 300.0
#: How often subscriptions due for renewal are requested (up to 2,000 per call: 100K new
#: channels are all subscribed within about 4 hours, 7 hub requests a second).
RENEW_EVERY_S = 300.0


class YtscaleCelery(Celery):
    """A Celery app that builds the pipeline's :class:`Services` once per worker process."""

    def __init__(
        self,
        settings: Settings,
        youtube_transport: httpx.BaseTransport | None = None,
        services: Services | None = None,
    ):
        if "+cluster://" in settings.broker_url:
            # kombu's Redis transport pops several queues in one BRPOP and keeps unacked messages
            # in keys of their own: on a cluster those span slots. The ledger may use a cluster.
            raise ValueError(
                "BROKER_URL cannot be a Redis Cluster: Celery's Redis transport needs one Redis "
                "server (a small one of its own will do) or RabbitMQ"
            )
        super().__init__("ytscale", broker=settings.broker_url, set_as_current=False)
        self.settings = settings
        self.youtube_transport = youtube_transport
        self._services = services

    @property
    def services(self) -> Services:
        if self._services is None:
            self._services = Services.from_settings(
                self.settings, youtube_transport=self.youtube_transport
            )
        return self._services


def create_app(
    settings: Settings | None = None,
    *,
    youtube_transport: httpx.BaseTransport | None = None,
    visibility_timeout_s: int | None = None,
    services: Services | None = None,
) -> YtscaleCelery:
    """The Celery app for ``settings`` (default: the environment), with its tasks registered.

    ``services``, when given, is what the tasks run on (an in-process worker sharing the API's);
    otherwise each worker process builds its own from ``settings``.
    """
    app = YtscaleCelery(settings or Settings.from_env(), youtube_transport, services)
    visibility = visibility_timeout_s or app.settings.visibility_timeout_s or VISIBILITY_TIMEOUT_S
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_ignore_result=True,  # a request's status lives in import_requests, per user
        task_time_limit=TASK_TIME_LIMIT_S,
        task_soft_time_limit=TASK_SOFT_TIME_LIMIT_S,
        task_default_queue=IMPORT_QUEUE,
        task_routes={"ytscale.sync_source": {"queue": SYNC_QUEUE}},
        broker_transport_options={
            "visibility_timeout": visibility,
            # kombu sweeps for expired unacked messages only every 10 x 10 s by default, which
            # would add up to 100 s to every crash recovery; sweep a few times per timeout.
            "unacked_restore_interval": min(10, max(1, visibility // 3)),
            "unacked_restore_throttle": 1,
            # memory:// polls; its default 1 s interval would dominate every measurement.
            "polling_interval": 0.01,
            # Deployments sharing one Redis keep their queues apart, as their other keys are.
            "global_keyprefix": f"{app.settings.key_prefix}celery:",
        },
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        beat_schedule=beat_schedule(app.settings),
    )
    _register(app)
    return app


def beat_schedule(settings: Settings) -> dict[str, dict[str, Any]]:
    """Periodic tasks: the sync tick always; the detail flush and lease renewal when quota-free."""
    schedule = {
        "schedule-due-sources": {"task": "ytscale.schedule_tick", "schedule": TICK_S},
        "sweep-abandoned-requests": {"task": "ytscale.sweep_abandoned", "schedule": SWEEP_EVERY_S},
    }
    if settings.sync_strategy.flushes:
        schedule["flush-uploads"] = {"task": "ytscale.flush_uploads", "schedule": TICK_S}
    if settings.sync_strategy.subscribes:
        schedule["renew-subscriptions"] = {
            "task": "ytscale.renew_subscriptions",
            "schedule": RENEW_EVERY_S,
        }
    return schedule


def _register(app: YtscaleCelery) -> None:
    # shared=False: a shared task is added to every app finalized later, so a second app (a test's,
    # a benchmark's) would silently run the first app's closures against the first app's backends.
    def run_import(task: Task, operation: Callable[..., pipeline.Outcome], request_id: int) -> Any:
        # Every way an attempt can fail ends retried or failed with a reason; what even that
        # cannot record (the database down through the last retry) the sweeper ends.
        try:
            return asdict(operation(app.services, request_id))
        except SoftTimeLimitExceeded:
            reason = f"timeLimit: the import ran past {TASK_SOFT_TIME_LIMIT_S} s"
            return asdict(pipeline.fail_request(app.services, request_id, reason))
        except pipeline.TransientFailure as exc:
            failure = exc
        except pipeline.BACKEND_ERRORS as exc:
            failure = pipeline.backend_failure(exc)
        if task.request.retries >= MAX_RETRIES:
            return asdict(pipeline.fail_request(app.services, request_id, failure.reason))
        raise task.retry(countdown=2**task.request.retries, exc=failure)

    @app.task(shared=False, name="ytscale.import_video", bind=True, max_retries=MAX_RETRIES)
    def import_video(self: Task, request_id: int) -> Any:
        return run_import(self, pipeline.import_video, request_id)

    @app.task(shared=False, name="ytscale.import_channel", bind=True, max_retries=MAX_RETRIES)
    def import_channel(self: Task, request_id: int) -> Any:
        return run_import(self, pipeline.import_channel, request_id)

    @app.task(shared=False, name="ytscale.sync_source", rate_limit=SYNC_RATE_LIMIT)
    def sync_source(source_id: int) -> int:
        # A failed sync is recorded on the source and retried by the next tick, after its backoff;
        # one that could not even record that comes back when its claim's lease ends.
        try:
            return pipeline.sync_source(app.services, source_id)
        except (pipeline.TransientFailure, *pipeline.BACKEND_ERRORS):
            return 0

    @app.task(shared=False, name="ytscale.sweep_abandoned")
    def sweep_abandoned() -> int:
        return pipeline.sweep_abandoned(
            app.services, older_than=timedelta(seconds=ABANDONED_AFTER_S)
        )

    @app.task(shared=False, name="ytscale.schedule_tick")
    def schedule_tick() -> int:
        planned = pipeline.schedule_due(
            app.services,
            lambda source_id, countdown: sync_source.apply_async((source_id,), countdown=countdown),
            horizon_s=TICK_S,
        )
        return len(planned)

    @app.task(shared=False, name="ytscale.flush_uploads")
    def flush_uploads() -> dict[str, Any]:
        # A failed fetch hands its uploads back; the next tick's flush retries them.
        return asdict(pipeline.flush_uploads(app.services))

    @app.task(shared=False, name="ytscale.renew_subscriptions")
    def renew_subscriptions() -> dict[str, Any]:
        services = app.services
        renewed = push.renew_subscriptions(services.sessions, services.hub, now=services.clock())
        return asdict(renewed)


#: For ``celery -A reference.tasks worker``: the app for this process's environment.
app = create_app()


@worker_init.connect
def _refuse_a_private_backend(sender: Any = None, **_: Any) -> None:
    """A worker of this module's app is a process of its own beside the API's: the in-process
    broker or fakeredis would leave it with a queue and a ledger nobody else sees."""
    if getattr(sender, "app", None) is not app:
        return  # an app of a test's or of `ytscale serve`, run by an in-process worker
    try:
        app.settings.check_deployment(exposed=False, processes=2)
    except UnsafeDeployment as exc:
        # Celery logs and swallows an exception from a signal handler: the worker would run on.
        raise SystemExit(f"celery worker: {exc}") from None
