"""The pipeline's operations as plain functions: import a video, import a channel, sync a source,
schedule a sync window. Celery tasks (:mod:`reference.tasks`) are thin wrappers around these.

Every operation is idempotent, so a task redelivered after a worker died (``acks_late``) repeats
nothing: imports meet the unique ``(user_id, video_id)`` constraint, requests already ended are
returned as they ended, and quota is spent only on videos the user does not have yet::

    services = Services.from_settings(Settings.from_env())
    request_id = request_import(services, user_id=1, kind="video", target="https://youtu.be/…")
    outcome = import_video(services, request_id)
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Iterable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

import redis
from sqlalchemy import select, true, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from reference import projects, push, sources, uploads
from reference.clock import utc_now
from reference.matching import Match, link_matches
from reference.models import ContentSource, ImportRequest
from reference.projects import NewProject
from reference.quota.costs import MAX_IDS_PER_CALL
from reference.services import Services
from reference.strategies import SyncStrategy
from reference.videos import InvalidChannelRef, InvalidVideoURL, canonical_video_id, channel_ref
from reference.youtube.atom import FEED_ENTRIES
from reference.youtube.errors import (
    CircuitOpenError,
    RateLimitedError,
    YouTubeError,
    YouTubeUnavailable,
)
from reference.youtube.parse import Video

log = logging.getLogger(__name__)

#: The report's AI_ANALYSIS_BULK_THRESHOLD: imports of more videos than this skip tag matching.
BULK_MATCH_THRESHOLD = 10
#: The daily sync the report's window cap is sized for: api_polling's interval.
SYNC_INTERVAL = SyncStrategy.API_POLLING.interval
#: The report's sync window and its cap of sources per window.
WINDOW_S = 900
WINDOW_CAP = 5000
#: A sync stops paging after this many pages even if it never meets a known video.
MAX_SYNC_PAGES = 20

T = TypeVar("T")

#: Failures worth another attempt later: YouTube or the breaker may recover within minutes.
TRANSIENT = (YouTubeUnavailable, CircuitOpenError, RateLimitedError)
#: Our own backends unreachable (a connection cut, a server restarting, a timeout): an operation
#: that meets one is retried like a transient YouTube failure, and ends failed with a reason.
BACKEND_ERRORS = (OperationalError, redis.ConnectionError, redis.TimeoutError)
#: Why :func:`sweep_abandoned` ended a request.
ABANDONED = "abandoned: no worker finished the import in time"


class TransientFailure(Exception):
    """The operation failed for a reason that may pass; the caller retries or records ``reason``."""

    def __init__(self, reason: str, cause: Exception) -> None:
        super().__init__(f"{reason}: {cause}")
        self.reason = reason


def backend_failure(exc: Exception) -> TransientFailure:
    """A backend error as a transient failure; the reason names its kind, never its address."""
    return TransientFailure(f"backendUnavailable: {type(exc).__name__}", exc)


@dataclass(frozen=True)
class Outcome:
    """How an import request ended (or stands)."""

    request_id: int
    status: str  # pending | imported | duplicate | failed
    project_id: int | None = None
    reason: str | None = None
    imported: int = 0


def request_import(services: Services, user_id: int, kind: str, target: str) -> int:
    """Record a user's import request and return its id; invalid targets raise at once.

    The request row is written before any work so that every request ends visibly, imported or
    failed with a reason, even if the worker that takes it dies.
    """
    if kind == "video":
        canonical_video_id(target)
    elif kind == "channel":
        channel_ref(target)
    else:
        raise ValueError(f"unknown import kind {kind!r}: expected 'video' or 'channel'")
    with services.sessions.begin() as session:
        request = ImportRequest(user_id=user_id, kind=kind, target=target.strip())
        session.add(request)
        session.flush()
        return request.id


def import_video(services: Services, request_id: int) -> Outcome:
    """Import the video a request names: dedupe, reserve quota, fetch, match, upsert."""
    request = _pending(services, request_id)
    if isinstance(request, Outcome):
        return request
    try:
        video_id = canonical_video_id(request.target)
    except InvalidVideoURL as exc:
        return _finish(services, request_id, "failed", reason=f"invalidUrl: {exc}")
    with services.sessions() as session:
        existing = projects.find_existing(session, request.user_id, [video_id])
    if existing:
        return _finish(services, request_id, "duplicate", project_id=existing[video_id])
    videos = _youtube(
        services, request_id, lambda: services.youtube.videos([video_id], user_id=request.user_id)
    )
    if isinstance(videos, Outcome):
        return videos
    if not videos:
        return _finish(services, request_id, "failed", reason=f"videoNotFound: {video_id}")
    with services.sessions.begin() as session:
        result = _store(services, session, request.user_id, videos, match=True)[video_id]
        _end(session, request_id, "imported" if result.created else "duplicate", result.project_id)
    return Outcome(
        request_id,
        "imported" if result.created else "duplicate",
        result.project_id,
        imported=int(result.created),
    )


def import_channel(services: Services, request_id: int, now: datetime | None = None) -> Outcome:
    """Import every upload of a channel, page by page, and register it as a content source.

    Each page is committed as it is stored, so a crash keeps what was done and a rerun spends
    quota only on the pages and the videos it has not stored yet.
    """
    request = _pending(services, request_id)
    if isinstance(request, Outcome):
        return request
    user_id = request.user_id
    try:
        kind, ref = channel_ref(request.target)
    except InvalidChannelRef as exc:
        return _finish(services, request_id, "failed", reason=f"invalidChannel: {exc}")
    lookup = {"channel_id": ref} if kind == "id" else {"handle": ref}
    channel = _youtube(
        services, request_id, lambda: services.youtube.channel(**lookup, user_id=user_id)
    )
    if isinstance(channel, Outcome):
        return channel
    if channel is None or not channel.uploads_playlist_id:
        return _finish(services, request_id, "failed", reason=f"channelNotFound: {ref}")
    match = (channel.video_count or 0) <= BULK_MATCH_THRESHOLD
    playlist = channel.uploads_playlist_id
    newest: str | None = None
    imported = 0

    def walk() -> None:
        nonlocal newest, imported
        for page in services.youtube.playlist_pages(playlist, user_id=user_id):
            ids = [item.video_id for item in page.items]
            newest = newest or (ids[0] if ids else None)
            imported += _import_new(services, user_id, ids, match=match)

    failed = _youtube(services, request_id, walk)
    if isinstance(failed, Outcome):
        return failed
    with services.sessions.begin() as session:
        sources.upsert_source(
            session,
            user_id=user_id,
            channel_id=channel.id,
            uploads_playlist_id=playlist,
            last_video_id=newest,
            next_sync_at=_next_sync(services, session, channel.id, now or services.clock()),
        )
        _end(session, request_id, "imported", None)
    return Outcome(request_id, "imported", imported=imported)


def sync_source(services: Services, source_id: int, now: datetime | None = None) -> int:
    """Look for a source's new uploads by the deployment's strategy; returns how many were new.

    ``api_polling`` imports them at once from the uploads playlist (a unit per page and per 50
    videos). ``feed_polling`` and ``push`` (whose regular sync is the fallback read) take the ids
    from the channel's feed for free and leave the details to :func:`flush_uploads`; a feed whose
    every entry is new may hide more uploads than it lists, so that sync pages the playlist.
    """
    now = now or services.clock()
    with services.sessions() as session:
        source = session.get(ContentSource, source_id)
        if source is None:
            raise LookupError(f"no content source with id {source_id}")
        session.expunge(source)
    if not source.uploads_playlist_id:
        raise LookupError(f"content source {source_id} has no uploads playlist")
    try:
        if services.settings.sync_strategy.flushes:
            found, newest = _read_feed(services, source, now)
        else:
            found, newest = _page_uploads(services, source)
    except YouTubeError as exc:
        _sync_failed(services, source_id, f"{exc.reason}: {exc}", now)
        if isinstance(exc, TRANSIENT):
            raise TransientFailure(exc.reason, exc) from exc
        raise
    except BACKEND_ERRORS as exc:
        failure = backend_failure(exc)
        # The store that failed may be the database itself: then the claim's lease brings the
        # source back instead.
        with suppress(*BACKEND_ERRORS):
            _sync_failed(services, source_id, failure.reason, now)
        raise failure from exc
    with services.sessions.begin() as session:
        sources.mark_synced(
            session,
            source_id,
            newest_video_id=newest or source.last_video_id,
            next_sync_at=_next_sync(services, session, source.channel_id, now),
            now=now,
        )
    return found


def _next_sync(services: Services, session: Session, channel_id: str, now: datetime) -> datetime:
    """When a source's next regular sync is due: the strategy's interval, except that under
    ``push`` a channel without a live lease (the hub refused, or has not verified yet) gets no
    notifications, so its feed is read as often as ``feed_polling`` reads it."""
    strategy = services.settings.sync_strategy
    if strategy.subscribes and not push.leased(session, channel_id, now):
        return now + SyncStrategy.FEED_POLLING.interval
    return now + strategy.interval


def _sync_failed(services: Services, source_id: int, reason: str, now: datetime) -> None:
    with services.sessions.begin() as session:
        sources.mark_failed(session, source_id, reason=reason, now=now)


def _page_uploads(services: Services, source: ContentSource) -> tuple[int, str | None]:
    """Import uploads newer than the last seen from the uploads playlist: (imported, newest).

    The playlist is newest first, so paging stops at the first known video: a source with nothing
    new costs one ``playlistItems.list`` unit.
    """
    assert source.uploads_playlist_id is not None
    user_id, known = source.user_id, source.last_video_id
    newest: str | None = None
    imported = 0
    pages = services.youtube.playlist_pages(source.uploads_playlist_id, user_id=user_id)
    for number, page in enumerate(pages):
        ids = [item.video_id for item in page.items]
        newest = newest or (ids[0] if ids else None)
        fresh = ids[: ids.index(known)] if known in ids else ids
        imported += _import_new(services, user_id, fresh, match=len(fresh) <= BULK_MATCH_THRESHOLD)
        if len(fresh) < len(ids) or number + 1 >= MAX_SYNC_PAGES:
            break
    return imported, newest


def _read_feed(services: Services, source: ContentSource, now: datetime) -> tuple[int, str | None]:
    """Record the feed's uploads newer than the last seen for the detail fetch: (new, newest)."""
    feed = services.feeds.channel(source.channel_id)
    ids = [entry.video_id for entry in feed.entries if entry.channel_id == source.channel_id]
    known = source.last_video_id
    if known in ids:
        # Newest first: everything before the last video seen is new.
        fresh = ids[: ids.index(known)]
    elif known is None or len(ids) < FEED_ENTRIES:
        fresh = ids
    else:
        # Every entry is newer than the last seen: more may be new than the feed lists.
        return _page_uploads(services, source)
    with services.sessions.begin() as session:
        # Push may have stored some already, in any order: a newer one says nothing of older ones.
        have = projects.find_existing(session, source.user_id, fresh)
        new = [video_id for video_id in fresh if video_id not in have]
        uploads.record(session, source.channel_id, new, via="feed", now=now)
    return len(new), ids[0] if ids else None


@dataclass(frozen=True)
class Flushed:
    """What one :func:`flush_uploads` did."""

    #: Pending uploads taken.
    claimed: int
    #: Ids asked of ``videos.list`` (a unit per 50), and videos it returned.
    requested: int
    fetched: int
    #: Projects created, over every user who syncs the channels.
    stored: int
    #: Why the flush stopped early (its rows wait for the next one), or None.
    error: str | None = None
    #: Fetched videos of another channel than the one they were reported for: not stored.
    foreign: int = 0


def flush_uploads(
    services: Services, now: datetime | None = None, *, max_ids: int = 1_000
) -> Flushed:
    """Fetch the details of pending uploads, 50 ids a unit across channels, and store them.

    Each video is stored for every user with an active source on its channel; ids every such
    user has already cost nothing. A failed fetch (quota, YouTube down) hands its rows back, so
    an upload waits for the next flush instead of being lost. A video whose details name another
    channel than the feed or notification that reported it is dropped: a signature proves who
    sent a notification, not that the video it names belongs to the channel.
    """
    now = now or services.clock()
    with services.sessions.begin() as session:
        claimed = uploads.claim(session, now=now, limit=max_ids)
    if not claimed:
        return Flushed(0, 0, 0, 0)
    wanted = _who_wants(services, claimed)
    needed = list(dict.fromkeys(v for ids in wanted.values() for v in ids))
    needed_ids = set(needed)
    unwanted = [r.video_id for r in claimed if r.video_id not in needed_ids]
    with services.sessions.begin() as session:
        uploads.forget(session, unwanted)
    reported = {r.video_id: r.channel_id for r in claimed}
    requested = fetched = stored = foreign = 0
    for start in range(0, len(needed), MAX_IDS_PER_CALL):
        batch = needed[start : start + MAX_IDS_PER_CALL]
        try:
            found = services.youtube.videos(batch)
        except YouTubeError as exc:
            with services.sessions.begin() as session:
                uploads.release(session, needed[start:])
            error = f"{exc.reason}: {exc}"
            return Flushed(len(claimed), requested, fetched, stored, error, foreign)
        videos = {v.id: v for v in found if v.channel_id == reported.get(v.id)}
        requested, fetched = requested + len(batch), fetched + len(found)
        foreign += len(found) - len(videos)
        chosen = set(batch)
        with services.sessions.begin() as session:
            for user_id, ids in wanted.items():
                mine = [videos[v] for v in ids if v in chosen and v in videos]
                if mine:
                    stored_now = _store(services, session, user_id, mine, match=True)
                    stored += sum(r.created for r in stored_now.values())
            uploads.forget(session, batch)
    if foreign:
        log.warning("flush: dropped %d videos reported for another channel than theirs", foreign)
    return Flushed(len(claimed), requested, fetched, stored, foreign=foreign)


def _who_wants(services: Services, pending: Sequence[uploads.Pending]) -> dict[int, list[str]]:
    """``{user_id: ids}``: the pending uploads each syncing user does not have yet."""
    by_channel: dict[str, list[str]] = {}
    for row in pending:
        by_channel.setdefault(row.channel_id, []).append(row.video_id)
    wanted: dict[int, list[str]] = {}
    with services.sessions() as session:
        syncing = session.execute(
            select(ContentSource.user_id, ContentSource.channel_id).where(
                ContentSource.channel_id.in_(by_channel), ContentSource.is_active == true()
            )
        ).all()
        for user_id, channel_id in syncing:
            ids = by_channel[channel_id]
            have = projects.find_existing(session, user_id, ids)
            missing = [v for v in ids if v not in have]
            if missing:
                wanted.setdefault(user_id, []).extend(missing)
    return wanted


# The report staggers every task of a window with a random countdown in 0..900 s
# (``ytscale.variants.stagger``). Ours releases each tick only the sources whose spread
# ``next_sync_at`` falls inside it, so no countdown exceeds a tick: one worker cannot hoard the
# window's ETA tasks, and the broker's visibility timeout need only outlast a tick plus a task.
Stagger = Callable[[Sequence[ContentSource], datetime, float, random.Random], list[float]]


def spread_countdowns(
    due: Sequence[ContentSource], now: datetime, horizon_s: float, rng: random.Random
) -> list[float]:
    """Ours: each source starts when it falls due, never later than the horizon."""
    return [min(horizon_s, max(0.0, (s.next_sync_at - now).total_seconds())) for s in due]


@dataclass(frozen=True)
class Scheduled:
    source_id: int
    countdown_s: float


def schedule_due(
    services: Services,
    enqueue: Callable[[int, float], None],
    *,
    now: datetime | None = None,
    horizon_s: float = 60,
    cap: int | None = None,
    stagger: Stagger = spread_countdowns,
    seed: int | None = None,
) -> list[Scheduled]:
    """Claim the sources due within ``horizon_s`` (at most ``cap``); enqueue each with a countdown.

    The default cap keeps the report's rate of :data:`WINDOW_CAP` per :data:`WINDOW_S` for a daily
    sync, pro rata for the horizon and for the strategy's interval: an hourly feed read of the same
    sources falls due 24 times as often. Claiming moves a source's ``next_sync_at`` a lease ahead
    (the horizon plus the strategy's interval: a sync that dies is retried an interval later), so
    a scheduler that ticks again before the sync finishes does not enqueue it twice. If enqueueing
    fails (the broker is down), the sources not enqueued are handed back, due as they were.
    """
    now = now or services.clock()
    interval = services.settings.sync_strategy.interval
    per_day = SYNC_INTERVAL / interval
    cap = cap if cap is not None else math.ceil(WINDOW_CAP * horizon_s / WINDOW_S * per_day)
    lease = timedelta(seconds=horizon_s) + interval
    with services.sessions.begin() as session:
        due = sources.claim_due(session, now=now, horizon_s=horizon_s, limit=cap, lease=lease)
        countdowns = stagger(due, now, horizon_s, random.Random(seed))
        planned = [Scheduled(s.id, c) for s, c in zip(due, countdowns, strict=True)]
    for done, item in enumerate(planned):
        try:
            enqueue(item.source_id, item.countdown_s)
        except Exception:
            with services.sessions.begin() as session:
                sources.hand_back(session, due[done:], leased_until=now + lease)
            raise
    return planned


def sweep_abandoned(
    services: Services, *, older_than: timedelta, now: datetime | None = None
) -> int:
    """End as failed every request still pending ``older_than`` after it was made; how many.

    A worker that dies at the hard time limit, or whose last retry could not reach the database
    or the broker, leaves its request pending with no message left to finish it; the sweep makes
    "every request ends visibly" hold for those too. ``older_than`` must outlast every attempt
    a live request may still get.
    """
    cutoff = (now or utc_now()) - older_than
    with services.sessions.begin() as session:
        ended = session.scalars(
            update(ImportRequest)
            .where(ImportRequest.status == "pending", ImportRequest.created_at < cutoff)
            .values(status="failed", reason=ABANDONED, updated_at=utc_now())
            .returning(ImportRequest.id)
        )
        return len(list(ended))


def fail_request(services: Services, request_id: int, reason: str) -> Outcome:
    """Record that a request failed for good (the task wrapper's last resort)."""
    return _finish(services, request_id, "failed", reason=reason)


def request_outcome(services: Services, request_id: int) -> Outcome:
    with services.sessions() as session:
        request = session.get(ImportRequest, request_id)
        if request is None:
            raise LookupError(f"no import request with id {request_id}")
        return Outcome(request.id, request.status, request.project_id, request.reason)


def _pending(services: Services, request_id: int) -> ImportRequest | Outcome:
    with services.sessions() as session:
        request = session.get(ImportRequest, request_id)
        if request is None:
            raise LookupError(f"no import request with id {request_id}")
        if request.status != "pending":
            return Outcome(request.id, request.status, request.project_id, request.reason)
        session.expunge(request)
        return request


def _youtube(services: Services, request_id: int, call: Callable[[], T]) -> T | Outcome:
    """Run a YouTube call; a permanent failure ends the request, a transient one is raised."""
    try:
        return call()
    except TRANSIENT as exc:
        raise TransientFailure(exc.reason, exc) from exc
    except YouTubeError as exc:
        return _finish(services, request_id, "failed", reason=f"{exc.reason}: {exc}")


def _import_new(services: Services, user_id: int, ids: Iterable[str], *, match: bool) -> int:
    """Fetch and store those of ``ids`` the user does not have; returns how many were stored."""
    ids = list(ids)
    if not ids:
        return 0
    with services.sessions() as session:
        known = projects.find_existing(session, user_id, ids)
    new = [i for i in ids if i not in known]
    if not new:
        return 0
    videos = services.youtube.videos(new, user_id=user_id)
    with services.sessions.begin() as session:
        stored = _store(services, session, user_id, videos, match=match)
    return sum(r.created for r in stored.values())


def _store(
    services: Services, session: Session, user_id: int, videos: Sequence[Video], *, match: bool
) -> dict[str, projects.Upserted]:
    rows = [
        NewProject(
            video_id=v.id,
            external_url=f"https://www.youtube.com/watch?v={v.id}",
            title=v.title[:200],
            channel_id=v.channel_id,
            published_at=v.published_at,
            duration_s=v.duration_s,
            view_count=v.view_count,
        )
        for v in videos
    ]
    stored = projects.upsert_projects(session, user_id, rows)
    if match:
        for video in videos:
            found: Match = services.matcher.match(video.tags)
            link_matches(session, stored[video.id].project_id, found)
    return stored


def _finish(
    services: Services,
    request_id: int,
    status: str,
    *,
    project_id: int | None = None,
    reason: str | None = None,
) -> Outcome:
    with services.sessions.begin() as session:
        _end(session, request_id, status, project_id, reason)
    return Outcome(request_id, status, project_id, reason)


def _end(
    session: Session,
    request_id: int,
    status: str,
    project_id: int | None,
    reason: str | None = None,
) -> None:
    # Only a pending request ends: a redelivered task never overwrites how the first run ended.
    session.execute(
        update(ImportRequest)
        .where(ImportRequest.id == request_id, ImportRequest.status == "pending")
        .values(status=status, project_id=project_id, reason=reason, updated_at=utc_now())
    )
