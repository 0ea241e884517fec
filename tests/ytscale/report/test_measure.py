"""The measurements behind the claims, on the test's backends, read back through their rules."""

from __future__ import annotations

from reference.settings import Settings
from ytscale.instruments.interleave import SCHEDULES
from ytscale.report import measure
from ytscale.report.claims import c3_atomic


def test_contention_runs_every_schedule_and_on_real_redis_the_free_race(
    redis_url: str, key_prefix: str
) -> None:
    found = measure.contention(Settings(redis_url=redis_url, key_prefix=key_prefix))
    assert set(found["schedules"]) == set(SCHEDULES)
    hold_one = found["schedules"]["hold-one"]["variants"]
    assert (hold_one["after"]["lost"], hold_one["after"]["over_granted"]) == (8, 1)
    assert (hold_one["ours"]["lost"], hold_one["ours"]["over_granted"]) == (0, 0)
    assert hold_one["after"]["order"][:3] == ["A:EXISTS", "B:EXISTS", "B:SET"]
    if found["store"] == "fakeredis":
        assert found["race"] is None
    else:
        assert set(found["race"]["variants"]) == {"before", "after", "ours"}
    verdict, text = c3_atomic({"contention": found})
    assert verdict == "fails"
    assert f"deterministic schedule hold-one on {found['store']}" in text
