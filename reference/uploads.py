"""Uploads found without quota (a channel feed, a WebSub notification), waiting for their details.

Finding that a channel uploaded costs nothing through the feed or push; reading the video's
details (``videos.list``) costs a unit per call, for up to 50 ids from *any* channels. So new ids
wait here, one row per video however many users sync its channel and however many times the feed
and the hub report it, and :func:`reference.pipeline.flush_uploads` fetches them 50 to a unit::

    with session.begin():
        record(session, "UC…", ["dQw4w9WgXcQ"], via="push", now=now)
    with session.begin():
        rows = claim(session, now=now, limit=1_000)     # leased: no other flush takes them
    ...                                                 # fetch, store
    with session.begin():
        forget(session, [r.video_id for r in rows])     # or release() them to retry later

A row lives in the database, not in Redis: a notification acknowledged to the hub is never sent
again, so losing it would lose the upload until the next fallback read of the feed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from reference.models import Base
from reference.projects import dialect_insert

_PENDING = Base.metadata.tables["pending_uploads"]
#: How long a flush may hold rows before another may take them (it died, or YouTube hung).
CLAIM_LEASE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Pending:
    video_id: str
    channel_id: str
    via: str
    detected_at: datetime


def record(
    session: Session, channel_id: str, video_ids: Iterable[str], *, via: str, now: datetime
) -> int:
    """Note ``video_ids`` as new uploads of ``channel_id``; returns how many were not noted yet."""
    rows = [
        {"video_id": v, "channel_id": channel_id, "via": via, "detected_at": now}
        for v in dict.fromkeys(video_ids)
    ]
    if not rows:
        return 0
    insert = dialect_insert(session, _PENDING).values(rows)
    stmt = insert.on_conflict_do_nothing(index_elements=("video_id",)).returning(
        _PENDING.c.video_id
    )
    return len(session.execute(stmt).all())


def claim(
    session: Session, *, now: datetime, limit: int, lease: timedelta = CLAIM_LEASE
) -> list[Pending]:
    """Lease up to ``limit`` unclaimed rows to the caller, oldest first.

    The lease is re-checked in the ``UPDATE``, so of two concurrent flushes only one gets a row.
    """
    free = or_(_PENDING.c.claimed_until.is_(None), _PENDING.c.claimed_until <= now)
    chosen = select(_PENDING.c.video_id).where(free).order_by(_PENDING.c.detected_at).limit(limit)
    claimed = session.execute(
        update(_PENDING)
        .where(_PENDING.c.video_id.in_(chosen.scalar_subquery()), free)
        .values(claimed_until=now + lease)
        .returning(
            _PENDING.c.video_id, _PENDING.c.channel_id, _PENDING.c.via, _PENDING.c.detected_at
        )
    ).all()
    rows = [Pending(*row) for row in claimed]
    return sorted(rows, key=lambda r: (r.detected_at, r.video_id))


def release(session: Session, video_ids: Sequence[str]) -> None:
    """Hand claimed rows back for the next flush (their fetch failed)."""
    if video_ids:
        session.execute(
            update(_PENDING).where(_PENDING.c.video_id.in_(video_ids)).values(claimed_until=None)
        )


def forget(session: Session, video_ids: Sequence[str]) -> None:
    """Drop rows whose videos are stored, or that no user needs any more."""
    if video_ids:
        session.execute(_PENDING.delete().where(_PENDING.c.video_id.in_(video_ids)))
