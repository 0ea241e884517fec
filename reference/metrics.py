"""Prometheus metrics: request durations by route, task durations, quota units per task.

The report's P1 item 3 ("add metrics logging for task duration and quota per task") as three
histograms in one registry per app, served at ``GET /metrics``::

    metrics = Metrics()
    fastapi_app.add_middleware(RequestTimer, metrics=metrics)   # ..._http_request_duration_seconds
    services = metered(services, transport)           # counts each task's quota reservations
    metrics.watch(celery_app)                         # ytscale_task_duration_seconds, _quota_units

Task metrics come from Celery's ``task_prerun``/``task_postrun`` signals, so they are recorded in
the process the worker runs in: the ``serve`` stack's in-process worker reports through the API's
``/metrics``; a separate ``celery worker`` process would need an exporter of its own.
"""

from __future__ import annotations

import time
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

import httpx
from celery import Celery, Task
from celery.signals import task_postrun, task_prerun
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference.quota.ledger import QuotaLedger, Reservation
from reference.services import Services
from reference.youtube.client import client_from_settings

__all__ = [
    "CONTENT_TYPE_LATEST",
    "MeteredLedger",
    "Metrics",
    "RequestTimer",
    "TaskMeter",
    "metered",
]

#: Route label of requests no route matched: one label, however many paths are probed.
UNMATCHED = "<unmatched>"
_TASK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
# Units per task: a video import costs 1, a channel import 1 + 2 per page of 50.
_UNIT_BUCKETS = (0, 1, 2, 3, 5, 10, 20, 50, 100, 200, 500, 1000)


@dataclass
class TaskMeter:
    """Quota units reserved by the task running in this context, net of refunds."""

    units: int = 0
    started: float = field(default_factory=time.perf_counter)


_current: ContextVar[TaskMeter | None] = ContextVar("ytscale_task_meter", default=None)


class MeteredLedger:
    """A :class:`~reference.quota.QuotaLedger` that also counts units into the running task's meter.

    Each Celery task runs start to finish in one worker thread, so a context variable set when the
    task starts sees exactly the reservations that task makes, however many run side by side.
    """

    def __init__(self, inner: QuotaLedger) -> None:
        self.inner = inner

    def reserve(self, units: int, *, user_id: int | None = None) -> Reservation:
        reservation = self.inner.reserve(units, user_id=user_id)
        meter = _current.get()
        if meter is not None:
            meter.units += units
        return reservation

    def refund(self, reservation: Reservation) -> None:
        self.inner.refund(reservation)
        meter = _current.get()
        if meter is not None:
            meter.units -= reservation.units

    def remaining(self, *, user_id: int | None = None) -> int:
        return self.inner.remaining(user_id=user_id)

    def mark_exhausted(self) -> None:
        self.inner.mark_exhausted()

    def used(self, *, user_id: int | None = None) -> int:
        return self.inner.used(user_id=user_id)


def metered(services: Services, youtube_transport: httpx.BaseTransport | None = None) -> Services:
    """``services`` with a :class:`MeteredLedger` and a YouTube client that charges it.

    Pass the ``youtube_transport`` the services were built with, so an in-process fake stays the
    same fake.
    """
    ledger = MeteredLedger(services.ledger)
    services.youtube.close()
    youtube = client_from_settings(services.settings, ledger, youtube_transport)
    return replace(services, ledger=ledger, youtube=youtube)


class Metrics:
    """One registry and the histograms the API and the worker record into."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.http = Histogram(
            "ytscale_http_request_duration_seconds",
            "HTTP request duration by method, route template and status code.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.task = Histogram(
            "ytscale_task_duration_seconds",
            "Celery task run time by task name and final state.",
            ["task", "state"],
            buckets=_TASK_BUCKETS,
            registry=self.registry,
        )
        self.quota = Histogram(
            "ytscale_task_quota_units",
            "YouTube quota units a task reserved (net of refunds), by task name.",
            ["task"],
            buckets=_UNIT_BUCKETS,
            registry=self.registry,
        )
        self.websub = Counter(
            "ytscale_websub_notifications",
            "WebSub notifications received, by outcome (accepted, unsigned, forged, malformed).",
            ["outcome"],
            registry=self.registry,
        )
        self.fallback = Gauge(
            "ytscale_websub_fallback_channels",
            "Synced channels read hourly by feed under push, for want of a live WebSub lease: "
            "the hub refused the last request (refused), or has not verified one yet (unleased).",
            ["reason"],
            registry=self.registry,
        )
        self._apps: list[Celery] = []

    def render(self) -> bytes:
        """The registry in Prometheus' text exposition format (:data:`CONTENT_TYPE_LATEST`)."""
        return generate_latest(self.registry)

    def watch(self, app: Celery) -> None:
        """Record durations and quota units of ``app``'s tasks that run in this process.

        Signal receivers are held weakly by Celery: they go when this object does.
        """
        if not self._apps:
            task_prerun.connect(self._prerun)
            task_postrun.connect(self._postrun)
        self._apps.append(app)

    def _prerun(self, sender: Task | None = None, **_: Any) -> None:
        if sender is not None and sender.app in self._apps:
            _current.set(TaskMeter())

    def _postrun(self, sender: Task | None = None, state: str | None = None, **_: Any) -> None:
        meter = _current.get()
        if sender is None or meter is None or sender.app not in self._apps:
            return
        self.task.labels(sender.name, state or "UNKNOWN").observe(
            time.perf_counter() - meter.started
        )
        self.quota.labels(sender.name).observe(meter.units)
        _current.set(None)


class RequestTimer:
    """Observes every HTTP request's duration, labelled by the route template it matched.

    Pure ASGI middleware: no per-request task or body copy, unlike ``BaseHTTPMiddleware``.
    """

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.histogram = metrics.http

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        started = time.perf_counter()

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, record_status)
        finally:
            # FastAPI's router writes the matched route into the scope it was given.
            route = getattr(scope.get("route"), "path", UNMATCHED)
            self.histogram.labels(scope["method"], route, str(status)).observe(
                time.perf_counter() - started
            )
