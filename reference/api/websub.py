"""The WebSub callback: the hub verifies our intent here, and posts upload notifications here.

``GET /websub/{channel_id}`` answers the hub's challenge (as ``text/plain``) only for what we asked
for: a subscription on a channel some active source syncs, or the cancellation of one no source
needs; anything else is a 404, which tells the hub "no". ``POST`` bodies are checked against the
channel's HMAC secret before they are read (:func:`reference.push.accept_notification`).

No bearer token here: the hub has none. The signature is the authentication.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from reference import push
from reference.api.context import Ctx

#: A channel id as YouTube writes them: "UC" and 22 URL-safe base64 characters.
CHANNEL_ID = r"^UC[A-Za-z0-9_-]{22}$"
ChannelId = Annotated[str, Path(pattern=CHANNEL_ID)]

router = APIRouter(prefix="/websub", tags=["websub"])


@router.get("/{channel_id}", response_class=PlainTextResponse, responses={404: {}})
def verify(
    channel_id: ChannelId,
    ctx: Ctx,
    mode: Annotated[str, Query(alias="hub.mode")],
    topic: Annotated[str, Query(alias="hub.topic")],
    challenge: Annotated[str, Query(alias="hub.challenge", max_length=1_000)],
    lease_seconds: Annotated[int | None, Query(alias="hub.lease_seconds", ge=0)] = None,
) -> Response:
    """Echo the hub's challenge if we want this (un)subscription; 404 if we do not."""
    services = ctx.services
    with services.sessions.begin() as session:
        wanted = push.verify_intent(
            session,
            channel_id,
            mode=mode,
            topic=topic,
            lease_seconds=lease_seconds,
            now=services.clock(),
        )
    if not wanted:
        return PlainTextResponse(f"no {mode} wanted for {channel_id}", status_code=404)
    return PlainTextResponse(challenge)


#: The notification is read raw (its signature covers the exact bytes); declared for clients.
_ATOM_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/atom+xml": {"schema": {"type": "string"}}},
    }
}


@router.post("/{channel_id}", status_code=202, openapi_extra=_ATOM_BODY)
async def notify(
    channel_id: ChannelId,
    request: Request,
    ctx: Ctx,
    signature: Annotated[str | None, Header(alias="X-Hub-Signature")] = None,
) -> JSONResponse:
    """Record the uploads a correctly signed notification names; ignore any other body.

    A refused body is still answered 2xx, as PubSubHubbub 0.4 requires, with ``accepted: false``
    and the reason; it is counted in ``ytscale_websub_notifications_total``.
    """
    body = await request.body()
    services = ctx.services

    def accept() -> push.Notified:
        with services.sessions.begin() as session:
            return push.accept_notification(
                session, services.settings, channel_id, body, signature, now=services.clock()
            )

    notified = await run_in_threadpool(accept)
    ctx.metrics.websub.labels(notified.outcome).inc()
    accepted = notified.outcome == "accepted"
    content = {"accepted": accepted, "outcome": notified.outcome, "recorded": notified.recorded}
    return JSONResponse(content, status_code=202 if accepted else 200)
