"""Content sources (channels kept in sync): which are due, claiming them, recording a sync's end.

The scheduler claims up to a window's worth of due sources (:func:`claim_due`), moving each one's
``next_sync_at`` a lease ahead: a second scheduler, or the next window, cannot take it again while
its sync runs, and if the sync dies the source falls due again when the lease ends. The sync task
then records the outcome::

    with session.begin():
        mark_synced(session, source.id, newest_video_id, next_sync_at=now + interval)
    with session.begin():
        mark_failed(session, source.id, "quota exhausted", Backoff())

Every query walks ``ix_content_sources_due`` (``is_active``, ``next_sync_at``): only due rows are
read, already in order. Times are UTC (SQLite compares them as text). Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Select, and_, case, func, select, true, update
from sqlalchemy.orm import Session

from reference.clock import utc_now
from reference.models import Base, ContentSource
from reference.projects import dialect_insert

#: Longest error text kept on a source: enough to diagnose, bounded whatever an API returns.
MAX_ERROR = 2_000
_SOURCES = Base.metadata.tables["content_sources"]


@dataclass(frozen=True)
class Backoff:
    """Delay after a failure: ``base``, doubled per consecutive failure, never more than ``cap``."""

    base: timedelta = timedelta(minutes=15)
    cap: timedelta = timedelta(hours=24)

    def __post_init__(self) -> None:
        if not timedelta(0) < self.base <= self.cap:
            raise ValueError(f"need 0 < base <= cap, got base={self.base} cap={self.cap}")

    @property
    def steps(self) -> int:
        """Failures after which the delay stops doubling."""
        steps, delay = 1, self.base
        while delay < self.cap:
            steps, delay = steps + 1, delay * 2
        return steps

    def delay(self, failures: int) -> timedelta:
        """The wait after the ``failures``-th consecutive failure (1 for the first)."""
        if failures < 1:
            raise ValueError(f"failures must be >= 1, got {failures}")
        return min(self.base * (1 << (min(failures, self.steps) - 1)), self.cap)


def due_sources(session: Session, now: datetime, limit: int) -> list[ContentSource]:
    """Active sources whose ``next_sync_at`` has passed, most overdue first, at most ``limit``."""
    return list(session.scalars(_due(now, limit)))


def claim_due(
    session: Session,
    *,
    now: datetime,
    limit: int,
    lease: timedelta = timedelta(minutes=15),
    horizon_s: float = 0,
) -> list[ContentSource]:
    """Take up to ``limit`` sources due by ``now + horizon_s``, most overdue first.

    Each is pushed to ``now + lease``, so no later claim takes it again until the lease ends. The
    sources come back as they were before the claim: ``next_sync_at`` says when each falls due.
    Concurrent claimers get disjoint sources: PostgreSQL skips rows another claimer has locked
    (``FOR UPDATE SKIP LOCKED``); on both backends the push re-checks that a row is still due, and
    rows lost that way are made up from the next due ones, so a claim comes back short only when
    fewer than ``limit`` sources are due.
    """
    horizon = timedelta(seconds=horizon_s)
    if lease <= horizon:
        raise ValueError(f"lease {lease} must outlast the horizon {horizon}, or claims repeat")
    cutoff = now + horizon
    claimed: list[ContentSource] = []
    while len(claimed) < limit:
        wanted = limit - len(claimed)
        chosen = session.scalars(_due(cutoff, wanted).with_for_update(skip_locked=True)).all()
        if not chosen:
            break
        # The table, not the entity: the ORM would refresh the loaded objects to the pushed time.
        pushed = set(
            session.scalars(
                update(_SOURCES)
                .where(_SOURCES.c.id.in_([s.id for s in chosen]), _is_due(cutoff))
                .values(next_sync_at=now + lease)
                .returning(_SOURCES.c.id)
            )
        )
        claimed += [source for source in chosen if source.id in pushed]
        # Rows lost to another claimer are no longer due; look again unless the due ones ran out.
        if len(chosen) < wanted:
            break
    return claimed


def hand_back(session: Session, claimed: Sequence[ContentSource], *, leased_until: datetime) -> int:
    """Undo a claim whose syncs were never enqueued: each source is due again when it was before.

    ``claimed`` are sources as :func:`claim_due` returned them; one that something has moved since
    (a sync that did run, another claim) keeps its new time. Returns how many were handed back.
    """
    if not claimed:
        return 0
    due_at = {source.id: source.next_sync_at for source in claimed}
    handed = session.scalars(
        update(_SOURCES)
        .where(_SOURCES.c.id.in_(due_at), _SOURCES.c.next_sync_at == leased_until)
        .values(next_sync_at=case(due_at, value=_SOURCES.c.id))
        .returning(_SOURCES.c.id)
    )
    return len(list(handed))


def upsert_source(
    session: Session,
    *,
    user_id: int,
    channel_id: str,
    uploads_playlist_id: str | None,
    last_video_id: str | None,
    next_sync_at: datetime,
) -> int:
    """Register a user's channel for syncing, or refresh and reactivate it; return its id.

    Called after a channel import has stored every upload up to ``last_video_id``, so a failure
    streak from before is cleared.
    """
    insert = dialect_insert(session, _SOURCES).values(
        user_id=user_id,
        channel_id=channel_id,
        uploads_playlist_id=uploads_playlist_id,
        last_video_id=last_video_id,
        next_sync_at=next_sync_at,
        is_active=True,
        failure_count=0,
    )
    refreshed = {
        "uploads_playlist_id": insert.excluded.uploads_playlist_id,
        "last_video_id": func.coalesce(insert.excluded.last_video_id, _SOURCES.c.last_video_id),
        "next_sync_at": insert.excluded.next_sync_at,
        "is_active": True,
        "failure_count": 0,
        "last_error": None,
    }
    stmt = insert.on_conflict_do_update(
        index_elements=("user_id", "channel_id"), set_=refreshed
    ).returning(_SOURCES.c.id)
    source_id: int = session.execute(stmt).scalar_one()
    return source_id


def mark_synced(
    session: Session,
    source_id: int,
    newest_video_id: str | None,
    next_sync_at: datetime,
    *,
    now: datetime | None = None,
) -> bool:
    """Record a successful sync: clear failures, keep the newest video seen (None: no new video).

    Returns False if the source no longer exists.
    """
    values: dict[str, object] = {
        "last_synced_at": now or utc_now(),
        "next_sync_at": next_sync_at,
        "failure_count": 0,
        "last_error": None,
    }
    if newest_video_id is not None:
        values["last_video_id"] = newest_video_id
    return _update(session, source_id, values) is not None


def mark_failed(
    session: Session,
    source_id: int,
    reason: str,
    backoff: Backoff = Backoff(),
    *,
    now: datetime | None = None,
) -> datetime | None:
    """Record a failed sync and retry after ``backoff``; return when (None: the source is gone).

    The failure count and the delay it implies are updated in one statement, so two failures
    reported at once both count.
    """
    now = now or utc_now()
    # SET expressions read the row as it was, so failure_count here is the count before this one.
    retry_at = case(
        {n: now + backoff.delay(n + 1) for n in range(backoff.steps)},
        value=ContentSource.failure_count,
        else_=now + backoff.cap,
    )
    failures = _update(
        session,
        source_id,
        {
            "failure_count": ContentSource.failure_count + 1,
            "last_error": reason[:MAX_ERROR],
            "next_sync_at": retry_at,
        },
    )
    return None if failures is None else now + backoff.delay(failures)


def _is_due(now: datetime) -> ColumnElement[bool]:
    # ``== true()``, not a bare column or IS TRUE: the form both planners match to the index.
    return and_(ContentSource.is_active == true(), ContentSource.next_sync_at <= now)


def _due(now: datetime, limit: int) -> Select[tuple[ContentSource]]:
    return (
        select(ContentSource).where(_is_due(now)).order_by(ContentSource.next_sync_at).limit(limit)
    )


def _update(session: Session, source_id: int, values: dict[str, object]) -> int | None:
    """Apply ``values`` to one source; its failure count afterwards, None if it does not exist."""
    stmt = (
        update(ContentSource)
        .where(ContentSource.id == source_id)
        .values(values)
        .returning(ContentSource.failure_count)
    )
    return session.execute(stmt).scalar_one_or_none()
