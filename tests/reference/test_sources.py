"""Due sources, claiming, and recording sync outcomes, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, insert, text
from sqlalchemy.orm import Session

from reference.db import session_factory
from reference.models import ContentSource, User
from reference.sources import (
    MAX_ERROR,
    Backoff,
    claim_due,
    due_sources,
    mark_failed,
    mark_synced,
    upsert_source,
)
from ytscale.instruments.plans import explain, recording

NOW = datetime(2025, 11, 29, 12, 0, tzinfo=UTC)
T = TypeVar("T")


def utc(value: datetime) -> datetime:
    """SQLite hands timestamps back without their zone; every one stored here is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def add_sources(engine: Engine, offsets_min: list[float], inactive: set[int] = frozenset()) -> None:
    """One user; source ``i`` falls due ``offsets_min[i]`` minutes from NOW (negative: overdue)."""
    with engine.begin() as conn:
        conn.execute(insert(User), [{"id": 1, "name": "u", "created_at": NOW}])
        if not offsets_min:
            return
        conn.execute(
            insert(ContentSource),
            [
                {
                    "id": i + 1,
                    "user_id": 1,
                    "channel_id": f"UC{i:022d}",
                    "next_sync_at": NOW + timedelta(minutes=m),
                    "is_active": i not in inactive,
                    "failure_count": 0,
                }
                for i, m in enumerate(offsets_min)
            ],
        )


def in_session(engine: Engine, action: Callable[[Session], T]) -> T:
    with session_factory(engine).begin() as s:
        return action(s)


def source(engine: Engine, source_id: int) -> ContentSource:
    with Session(engine) as s:
        return s.get_one(ContentSource, source_id)


def test_due_sources_are_active_overdue_and_most_overdue_first(engine: Engine) -> None:
    add_sources(engine, [-5, 10, -30, 0, -60, -1], inactive={4})
    due = in_session(engine, lambda s: due_sources(s, NOW, limit=10))
    assert [s.id for s in due] == [3, 1, 6, 4]
    assert [s.id for s in in_session(engine, lambda s: due_sources(s, NOW, limit=2))] == [3, 1]


def test_claim_pushes_sources_a_lease_ahead_and_returns_their_due_time(engine: Engine) -> None:
    add_sources(engine, [-5, 10, -30, 0.5, 40])
    lease = timedelta(minutes=15)
    first = in_session(engine, lambda s: claim_due(s, now=NOW, limit=10, lease=lease, horizon_s=60))
    assert [(s.id, utc(s.next_sync_at)) for s in first] == [
        (3, NOW - timedelta(minutes=30)),
        (1, NOW - timedelta(minutes=5)),
        (4, NOW + timedelta(seconds=30)),
    ]
    assert all(utc(source(engine, s.id).next_sync_at) == NOW + lease for s in first)
    assert in_session(engine, lambda s: claim_due(s, now=NOW, limit=10, horizon_s=60)) == []
    # A sync that never reported back: its source is due again once the lease ends.
    later = in_session(engine, lambda s: claim_due(s, now=NOW + lease, limit=10))
    assert sorted(s.id for s in later) == [1, 2, 3, 4]


def test_a_lease_shorter_than_the_horizon_is_refused(engine: Engine) -> None:
    with Session(engine) as s, pytest.raises(ValueError, match="outlast"):
        claim_due(s, now=NOW, limit=1, lease=timedelta(seconds=30), horizon_s=60)


def run_together(workers: int, action: Callable[[], T]) -> list[T]:
    """Run ``action`` in ``workers`` threads released at once; re-raise the first failure."""
    barrier = threading.Barrier(workers)
    results: list[T] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(timeout=30)
            results.append(action())
        except BaseException as exc:  # re-raised below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    if errors:
        raise errors[0]
    assert len(results) == workers
    return results


def test_concurrent_claimers_get_disjoint_sources(engine: Engine) -> None:
    add_sources(engine, [-float(i) for i in range(50)] + [5.0] * 10)
    claims = run_together(
        8, lambda: [s.id for s in in_session(engine, lambda s: claim_due(s, now=NOW, limit=10))]
    )
    claimed = [i for ids in claims for i in ids]
    assert len(claimed) == len(set(claimed)), "a source was claimed twice"
    assert set(claimed) == set(range(1, 51))


def test_mark_synced_clears_failures_and_keeps_the_newest_video(engine: Engine) -> None:
    add_sources(engine, [-5])
    in_session(engine, lambda s: mark_failed(s, 1, "boom", now=NOW))
    nxt = NOW + timedelta(minutes=30)
    assert in_session(engine, lambda s: mark_synced(s, 1, "abcdefghijk", nxt, now=NOW))
    assert in_session(engine, lambda s: mark_synced(s, 1, None, nxt, now=NOW))  # nothing new
    row = source(engine, 1)
    assert (row.failure_count, row.last_error, row.last_video_id) == (0, None, "abcdefghijk")
    assert (utc(row.next_sync_at), utc(row.last_synced_at or NOW - nxt)) == (nxt, NOW)
    assert not in_session(engine, lambda s: mark_synced(s, 99, None, nxt))


def test_mark_failed_backs_off_doubling_up_to_the_cap(engine: Engine) -> None:
    add_sources(engine, [-5])
    backoff = Backoff(base=timedelta(minutes=15), cap=timedelta(hours=2))
    retries = [
        in_session(engine, lambda s: mark_failed(s, 1, "x" * 5000, backoff, now=NOW))
        for _ in range(6)
    ]
    assert [r - NOW for r in retries if r] == [
        timedelta(minutes=m) for m in (15, 30, 60, 120, 120, 120)
    ]
    row = source(engine, 1)
    assert (row.failure_count, utc(row.next_sync_at)) == (6, retries[-1])
    assert row.last_error == "x" * MAX_ERROR
    assert in_session(engine, lambda s: mark_failed(s, 99, "gone")) is None


def test_concurrent_failures_all_count(engine: Engine) -> None:
    add_sources(engine, [-5])
    run_together(16, lambda: in_session(engine, lambda s: mark_failed(s, 1, "boom", now=NOW)))
    assert source(engine, 1).failure_count == 16


@pytest.mark.parametrize(
    ("base", "cap"), [(timedelta(0), timedelta(1)), (timedelta(hours=2), timedelta(hours=1))]
)
def test_backoff_needs_a_positive_base_under_the_cap(base: timedelta, cap: timedelta) -> None:
    with pytest.raises(ValueError):
        Backoff(base=base, cap=cap)


def test_backoff_stays_bounded_for_any_streak() -> None:
    backoff = Backoff(base=timedelta(minutes=1), cap=timedelta(minutes=10))
    assert [backoff.delay(n).seconds // 60 for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]
    assert backoff.delay(10**9) == backoff.cap
    with pytest.raises(ValueError):
        backoff.delay(0)


def test_upsert_source_registers_then_refreshes_and_reactivates(engine: Engine) -> None:
    add_sources(engine, [])
    fields: dict[str, Any] = {"user_id": 1, "channel_id": "UC" + "a" * 22}
    first = in_session(
        engine,
        lambda s: upsert_source(
            s, **fields, uploads_playlist_id="UU1", last_video_id="v1234567890", next_sync_at=NOW
        ),
    )
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE content_sources SET is_active = :f, failure_count = 3"), {"f": False}
        )
    again = in_session(
        engine,
        lambda s: upsert_source(
            s, **fields, uploads_playlist_id="UU2", last_video_id=None, next_sync_at=NOW
        ),
    )
    row = source(engine, first)
    assert again == first
    assert (row.is_active, row.failure_count, row.uploads_playlist_id) == (True, 0, "UU2")
    assert row.last_video_id == "v1234567890"  # an import that saw no video keeps the old mark


def test_due_queries_walk_the_due_index(engine: Engine) -> None:
    """20K sources, a tenth due, a few inactive: the due rows are found and ordered by the index."""
    count = 20_000
    add_sources(
        engine,
        [(i % 1000) * 6 - 600 for i in range(count)],
        inactive=set(range(0, count, 50)),
    )
    with engine.begin() as conn:
        conn.execute(text("ANALYZE content_sources"))
    for action in (
        lambda s: due_sources(s, NOW, limit=100),
        lambda s: claim_due(s, now=NOW, limit=100),
    ):
        with session_factory(engine).begin() as s, recording(engine) as sent:
            action(s)
        plans = [explain(engine, sql, parameters) for sql, parameters in sent]
        assert "ix_content_sources_due" in plans[0].searched, plans[0].text
        # The claim's second statement pushes the chosen rows by primary key.
        assert all(p.searched and not p.full_scans and not p.sorts for p in plans), plans
