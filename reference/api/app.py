"""The app factory, error answers, and the unversioned endpoints: health, metrics, ping."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import redis
from celery import Celery
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy import exc as sa_exc
from sqlalchemy import text
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference import push, tasks
from reference.api.context import BackendUnavailable, Context, Ctx, describe
from reference.api.routes import router
from reference.api.schemas import Health
from reference.api.websub import router as websub_router
from reference.metrics import CONTENT_TYPE_LATEST, Metrics, RequestTimer
from reference.services import Services
from reference.settings import Settings

#: Largest request body: a full duplicate check (200 URLs of up to 2,048 characters) fits.
MAX_BODY_BYTES = 512 * 1024
# Errors that mean a backend did not answer, as opposed to a bug: answered 503, naming the backend.
_DOWN: dict[type[Exception], str] = {
    sa_exc.OperationalError: "database",
    sa_exc.InterfaceError: "database",
    sa_exc.TimeoutError: "database",
    redis.ConnectionError: "redis",
    redis.TimeoutError: "redis",
}


def create_app(
    settings: Settings | None = None,
    services: Services | None = None,
    celery_app: Celery | None = None,
    metrics: Metrics | None = None,
) -> FastAPI:
    """The HTTP API on ``services`` (default: built from ``settings``, closed at shutdown).

    Imports are sent to ``celery_app`` (default: :func:`reference.tasks.create_app`); a worker that
    consumes its queues may run anywhere. ``metrics`` records request durations, and task metrics
    too when :meth:`Metrics.watch` was called on the app whose worker runs in this process.
    """
    settings = settings or (services.settings if services else Settings.from_env())
    owned = services is None
    services = services or Services.from_settings(settings)
    celery_app = celery_app or tasks.create_app(settings)
    metrics = metrics or Metrics()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owned:
            services.close()

    app = FastAPI(
        title="ytscale reference API",
        version="1",
        summary="Import YouTube videos and channels, check duplicates, read quota and sources.",
        lifespan=lifespan,
    )
    app.state.ytscale = Context.build(services, celery_app, metrics)
    app.include_router(router)
    app.include_router(websub_router)
    app.add_api_route("/healthz", healthz, methods=["GET"], responses={503: {"model": Health}})
    app.add_api_route("/metrics", prometheus, methods=["GET"], response_class=Response)
    app.add_api_route("/v1/ping", ping, methods=["GET"])
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(BackendUnavailable, _unavailable)
    for error, backend in _DOWN.items():
        app.add_exception_handler(error, _down(backend))
    # Added last, so outermost: the timer sees even the answers of the body limit.
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    app.add_middleware(RequestTimer, metrics=metrics)
    return app


def healthz(ctx: Ctx) -> JSONResponse:
    """``ok`` when the database and Redis answer; 503 naming each one that does not."""
    checks = {"database": _check(_ping_database, ctx), "redis": _check(_ping_redis, ctx)}
    healthy = all(v == "ok" for v in checks.values())
    body = Health(status="ok" if healthy else "unavailable", checks=checks)
    return JSONResponse(body.model_dump(), status_code=200 if healthy else 503)


def _ping_database(ctx: Context) -> None:
    with ctx.services.engine.connect() as conn:
        conn.execute(text("SELECT 1"))


def _ping_redis(ctx: Context) -> None:
    ctx.services.redis.ping()


def _check(probe: Callable[[Context], None], ctx: Context) -> str:
    try:
        probe(ctx)
    except Exception as exc:  # a health check reports any failure; it never raises
        return f"unavailable: {describe(exc)}"
    return "ok"


def prometheus(ctx: Ctx) -> Response:
    """Request and task durations, quota units per task, in Prometheus' text format; under
    ``push``, how many channels fall back to feed reads (read from the database at each scrape,
    so every API process reports what the worker's renewals left)."""
    services = ctx.services
    if services.settings.sync_strategy.subscribes:
        with services.sessions() as session:
            counts = push.fallback_counts(session, services.clock())
        for reason, channels in counts.items():
            ctx.metrics.fallback.labels(reason).set(channels)
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE_LATEST)


async def ping() -> dict[str, bool]:
    """A trivial answer, no auth, no backend: the yardstick other endpoints are measured against."""
    return {"pong": True}


async def _invalid(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error["loc"])
        problems.append(f"{where}: {error['msg']}")
    return JSONResponse({"detail": "; ".join(problems)}, status_code=422)


async def _unavailable(_: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=503, headers={"Retry-After": "5"})


def _down(backend: str) -> Any:
    async def handler(request: Request, exc: Exception) -> JSONResponse:
        return await _unavailable(request, BackendUnavailable(backend, exc))

    return handler


class BodyLimit:
    """Answers 413 to a request body over ``max_bytes``, before any handler reads it.

    A declared ``Content-Length`` is checked at once; a chunked body is read up to the limit and
    then replayed to the app.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            if declared.isdigit() and int(declared) > self.max_bytes:
                await self._refuse(scope, receive, send, int(declared))
                return
            await self.app(scope, receive, send)
            return
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, size)
                return
            if message["type"] != "http.request" or not message.get("more_body"):
                break

        async def replay() -> Message:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, size: int) -> None:
        detail = f"request body of {size}+ bytes is over the limit of {self.max_bytes} bytes"
        await JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)
