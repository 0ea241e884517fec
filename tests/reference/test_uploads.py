"""Pending uploads: one row per video, leased to one flush at a time."""

from __future__ import annotations

from sqlalchemy import func, select

from reference import uploads
from reference.models import PendingUpload
from reference.services import Services
from ytscale.fake.catalogue import EPOCH


def test_uploads_recorded_twice_are_one_row(services: Services) -> None:
    now = EPOCH
    with services.sessions.begin() as session:
        assert uploads.record(session, "UCx", ["a", "b", "a"], via="feed", now=now) == 2
        assert uploads.record(session, "UCx", ["b", "c"], via="push", now=now) == 1
    with services.sessions.begin() as session:
        first = uploads.claim(session, now=now, limit=2)
        again = uploads.claim(session, now=now, limit=10)
    assert [r.video_id for r in first] == ["a", "b"] and [r.video_id for r in again] == ["c"]
    with services.sessions.begin() as session:
        assert uploads.claim(session, now=now + uploads.CLAIM_LEASE, limit=10)  # lease ended


def test_released_rows_are_claimable_again_and_forgotten_ones_gone(services: Services) -> None:
    with services.sessions.begin() as session:
        uploads.record(session, "UCx", ["a", "b"], via="feed", now=EPOCH)
        claimed = [r.video_id for r in uploads.claim(session, now=EPOCH, limit=10)]
        uploads.release(session, ["a"])
        uploads.forget(session, ["b"])
    with services.sessions.begin() as session:
        assert claimed == ["a", "b"]
        assert [r.video_id for r in uploads.claim(session, now=EPOCH, limit=10)] == ["a"]
        assert session.scalar(select(func.count()).select_from(PendingUpload)) == 1
