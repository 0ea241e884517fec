from datetime import UTC, date, datetime, timedelta

import pytest

from reference.quota.days import KEY_GRACE, PACIFIC, ManualClock, QuotaDay


def pt(
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
    *,
    fold: int = 0,
) -> datetime:
    """Wall-clock time in Pacific Time; ``fold=1`` is the second 01:xx of a fall-back night."""
    return datetime(year, month, day, hour, minute, second, tzinfo=PACIFIC, fold=fold)


def test_one_minute_either_side_of_midnight_pt_are_different_days() -> None:
    before, after = QuotaDay.at(pt(2025, 6, 15, 23, 59)), QuotaDay.at(pt(2025, 6, 16, 0, 1))
    assert (before.key, after.key) == ("2025-06-15", "2025-06-16")
    assert before.resets_at == after.starts_at == pt(2025, 6, 16)


def test_the_day_is_pacific_whatever_zone_the_instant_is_given_in() -> None:
    # 06:59 UTC on 1 July is 23:59 PDT on 30 June; 07:00 UTC is midnight PDT.
    assert QuotaDay.at(datetime(2025, 7, 1, 6, 59, tzinfo=UTC)).date == date(2025, 6, 30)
    assert QuotaDay.at(datetime(2025, 7, 1, 7, 0, tzinfo=UTC)).date == date(2025, 7, 1)
    # In winter midnight PST is 08:00 UTC.
    assert QuotaDay.at(datetime(2025, 12, 1, 7, 59, tzinfo=UTC)).date == date(2025, 11, 30)
    assert QuotaDay.at(datetime(2025, 12, 1, 8, 0, tzinfo=UTC)).date == date(2025, 12, 1)


@pytest.mark.parametrize(
    ("day", "hours"),
    [
        (date(2025, 3, 9), 23),  # DST starts: 02:00 PST jumps to 03:00 PDT
        (date(2025, 11, 2), 25),  # DST ends: 02:00 PDT falls back to 01:00 PST
        (date(2025, 6, 15), 24),
    ],
)
def test_days_last_23_or_25_hours_when_dst_changes(day: date, hours: int) -> None:
    assert QuotaDay(day).length == timedelta(hours=hours)


def test_reset_instants_follow_dst() -> None:
    assert QuotaDay(date(2025, 3, 9)).resets_at.astimezone(UTC) == datetime(
        2025, 3, 10, 7, tzinfo=UTC
    )
    assert QuotaDay(date(2025, 11, 2)).resets_at.astimezone(UTC) == datetime(
        2025, 11, 3, 8, tzinfo=UTC
    )


def test_24_hours_after_a_first_call_is_not_the_reset() -> None:
    # Fall back: 24 h after 00:30 PDT is 23:30 PST, still the same quota day.
    first = pt(2025, 11, 2, 0, 30)
    assert QuotaDay.at(first.astimezone(UTC) + timedelta(hours=24)).key == "2025-11-02"
    # Spring forward: 23 h after 00:30 PST is already the next quota day.
    first = pt(2025, 3, 9, 0, 30)
    assert QuotaDay.at(first.astimezone(UTC) + timedelta(hours=23)).key == "2025-03-10"


def test_both_one_thirties_of_the_fall_back_night_belong_to_that_day() -> None:
    assert QuotaDay.at(pt(2025, 11, 2, 1, 30, fold=0)).key == "2025-11-02"
    assert QuotaDay.at(pt(2025, 11, 2, 1, 30, fold=1)).key == "2025-11-02"


def test_ttl_runs_to_the_end_of_the_day_plus_grace_in_elapsed_seconds() -> None:
    day = QuotaDay(date(2025, 11, 2))
    grace = int(KEY_GRACE.total_seconds())
    assert day.ttl(day.starts_at) == 25 * 3600 + grace
    assert day.ttl(pt(2025, 11, 2, 23, 59, 59)) == 1 + grace
    almost = datetime(2025, 11, 3, 7, 59, 59, 500_000, tzinfo=UTC)
    assert day.ttl(almost) == 1 + grace  # rounded up, never 0


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        QuotaDay.at(datetime(2025, 6, 15, 12))


def test_manual_clock_advances_elapsed_time_across_dst() -> None:
    clock = ManualClock(pt(2025, 11, 2, 0, 30))
    clock.advance(timedelta(hours=2))
    assert clock() == pt(2025, 11, 2, 1, 30, fold=1)
    assert clock().utcoffset() == timedelta(hours=-8)
