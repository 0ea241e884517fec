"""The ``/v1`` endpoints: imports, their status, the duplicate check, quota and content sources.

Every query is scoped to the authenticated user, so another user's import id is as unknown as one
that never existed (404), and nothing here reads more of a user's library than the request names.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Response
from sqlalchemy import select

from reference import pipeline, projects
from reference.api.context import BackendUnavailable, Ctx, CurrentUser
from reference.api.schemas import (
    MAX_ID,
    Accepted,
    ChannelImport,
    Checked,
    CheckResults,
    Duplicate,
    DuplicateCheck,
    ImportStatus,
    Problem,
    QuotaView,
    Source,
    SourcePage,
    VideoImport,
)
from reference.clock import utc_now
from reference.models import ContentSource, ImportRequest
from reference.quota.days import QuotaDay
from reference.videos import InvalidChannelRef, InvalidVideoURL, canonical_video_id

#: Most sources per page; a user rarely has more than a handful.
MAX_PAGE = 500

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "Missing, invalid or unknown bearer token."},
    422: {"model": Problem, "description": "Invalid input; ``detail`` names it."},
    503: {"model": Problem, "description": "A backend is down; ``detail`` names it."},
}
router = APIRouter(prefix="/v1", responses=_ERRORS)
#: OpenAPI links: where an accepted import's status is read (clients and schemathesis follow it).
_STATUS_LINK = {
    "links": {
        "ImportStatus": {
            "operationId": "import_status",
            "parameters": {"request_id": "$response.body#/request_id"},
        }
    }
}


@router.post(
    "/imports/videos",
    status_code=202,
    responses={
        200: {"model": Duplicate, "description": "The user has this video already."},
        202: _STATUS_LINK,
    },
)
def import_video(
    body: VideoImport, response: Response, ctx: Ctx, user: CurrentUser
) -> Accepted | Duplicate:
    """Queue a video import; a video the user has already answers at once with its project."""
    try:
        video_id = canonical_video_id(body.url)
    except InvalidVideoURL as exc:
        raise HTTPException(422, str(exc)) from None
    with ctx.services.sessions() as session:
        existing = projects.find_existing(session, user, [video_id])
    if existing:
        response.status_code = 200
        return Duplicate(video_id=video_id, project_id=existing[video_id])
    return _accept(ctx, user, "video", body.url, response)


@router.post("/imports/channels", status_code=202, responses={202: _STATUS_LINK})
def import_channel(
    body: ChannelImport, response: Response, ctx: Ctx, user: CurrentUser
) -> Accepted:
    """Queue a channel import: every upload, then the channel is kept in sync."""
    return _accept(ctx, user, "channel", body.channel, response)


def _accept(
    ctx: Ctx, user: int, kind: Literal["video", "channel"], target: str, response: Response
) -> Accepted:
    try:
        request_id = pipeline.request_import(ctx.services, user, kind, target)
    except (InvalidVideoURL, InvalidChannelRef) as exc:  # the message names the input
        raise HTTPException(422, str(exc)) from None
    try:
        ctx.enqueue(f"ytscale.import_{kind}", request_id)
    except BackendUnavailable as exc:
        # The request was recorded: end it visibly rather than leave it pending for ever.
        pipeline.fail_request(ctx.services, request_id, f"enqueueFailed: {exc}")
        raise
    response.headers["Location"] = f"{router.prefix}/imports/{request_id}"
    return Accepted(request_id=request_id, kind=kind)


@router.get(
    "/imports/{request_id}", operation_id="import_status", responses={404: {"model": Problem}}
)
def import_status(
    request_id: Annotated[int, Path(ge=1, le=MAX_ID)], ctx: Ctx, user: CurrentUser
) -> ImportStatus:
    """How one of the user's imports stands."""
    with ctx.services.sessions() as session:
        row = session.scalar(
            select(ImportRequest).where(
                ImportRequest.id == request_id, ImportRequest.user_id == user
            )
        )
    if row is None:
        raise HTTPException(404, f"no import request {request_id} for this user")
    return ImportStatus(
        request_id=row.id,
        kind=row.kind,
        target=row.target,
        status=row.status,
        project_id=row.project_id,
        reason=row.reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


@router.post("/videos/check")
def check_videos(body: DuplicateCheck, ctx: Ctx, user: CurrentUser) -> CheckResults:
    """Which of these URLs the user has imported: one indexed lookup for the whole batch.

    The report's endpoint loads every URL the user has into memory and compares; this asks the
    unique ``(user_id, video_id)`` index about the batch's ids only.
    """
    results: list[Checked] = []
    for url in body.urls:
        try:
            results.append(Checked(url=url, video_id=canonical_video_id(url)))
        except InvalidVideoURL as exc:
            results.append(Checked(url=url, error=str(exc)))
    ids = [r.video_id for r in results if r.video_id]
    with ctx.services.sessions() as session:
        found = projects.find_existing(session, user, ids) if ids else {}
    for result in results:
        result.project_id = found.get(result.video_id or "")
    return CheckResults(results=results)


@router.get("/quota")
def quota(ctx: Ctx, user: CurrentUser) -> QuotaView:
    """Today's quota: the project's budget every user shares, and this user's share of it."""
    ledger, settings = ctx.services.ledger, ctx.services.settings
    day = QuotaDay.at(utc_now())
    return QuotaView(
        day=day.key,
        resets_at=day.resets_at,
        project_budget=settings.daily_quota,
        project_used=ledger.used(),
        user_used=ledger.used(user_id=user),
        user_budget=settings.user_quota,
        remaining=ledger.remaining(user_id=user),
    )


@router.get(
    "/sources",
    operation_id="list_sources",
    responses={
        200: {
            "links": {
                "NextPage": {
                    "operationId": "list_sources",
                    "parameters": {"after": "$response.body#/next_after"},
                }
            }
        }
    },
)
def list_sources(
    ctx: Ctx,
    user: CurrentUser,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="Last id seen.")] = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 50,
) -> SourcePage:
    """The user's content sources (channels kept in sync), by id, a page at a time."""
    with ctx.services.sessions() as session:
        rows = session.scalars(
            select(ContentSource)
            .where(ContentSource.user_id == user, ContentSource.id > after)
            .order_by(ContentSource.id)
            .limit(limit + 1)
        ).all()
    items = [Source.model_validate(row, from_attributes=True) for row in rows[:limit]]
    return SourcePage(items=items, next_after=items[-1].id if len(rows) > limit else None)
