"""What every request handler needs: the backends, the broker, the metrics, and who is asking."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from celery import Celery
from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from reference.auth import KnownUsers, user_from_token
from reference.metrics import Metrics
from reference.models import User
from reference.services import Services
from reference.settings import redact_text


class BackendUnavailable(Exception):
    """A backend (``database``, ``redis``, ``broker``) did not answer: the API says 503."""

    def __init__(self, backend: str, cause: BaseException) -> None:
        super().__init__(f"{backend} unavailable: {describe(cause)}")
        self.backend = backend


def describe(exc: BaseException) -> str:
    """An exception's type and the first line of its message: enough to act on, no traceback,
    and no password of a URL it quotes (health and 503 bodies go to anyone who asks)."""
    lines = redact_text(str(exc)).strip().splitlines()
    return f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")


@dataclass
class Context:
    services: Services
    celery: Celery
    metrics: Metrics
    users: KnownUsers

    @classmethod
    def build(cls, services: Services, celery: Celery, metrics: Metrics) -> Context:
        def exists(user_id: int) -> bool:
            with services.sessions() as session:
                return session.scalar(select(User.id).where(User.id == user_id)) is not None

        return cls(services, celery, metrics, KnownUsers(exists))

    def enqueue(self, task: str, *args: object) -> None:
        """Send ``task``; a broker that cannot take it raises :class:`BackendUnavailable`."""
        try:
            self.celery.send_task(task, args=args)
        except Exception as exc:  # kombu and the transports raise many kinds; all mean "not sent"
            raise BackendUnavailable("broker", exc) from exc


def context(request: Request) -> Context:
    ctx: Context = request.app.state.ytscale
    return ctx


_bearer = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <user_id>.<signature>`, see `reference.auth`.",
)
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


async def current_user(
    ctx: Annotated[Context, Depends(context)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> int:
    """The user a valid bearer token names; 401 otherwise.

    Async so the common case (a user already seen) costs no thread hop; the database is asked, in
    the thread pool, only about users not seen lately.
    """
    if credentials is None:
        raise HTTPException(
            401, "missing bearer token: send 'Authorization: Bearer <token>'", _CHALLENGE
        )
    user_id = user_from_token(ctx.services.settings.secret, credentials.credentials)
    if user_id is not None and (
        ctx.users.seen(user_id) or await run_in_threadpool(ctx.users.__contains__, user_id)
    ):
        return user_id
    raise HTTPException(401, "invalid token, or a token for an unknown user", _CHALLENGE)


Ctx = Annotated[Context, Depends(context)]
CurrentUser = Annotated[int, Depends(current_user)]
