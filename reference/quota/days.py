"""The quota day: a calendar day in Pacific Time, which is when YouTube's daily quotas reset.

```python
day = QuotaDay.at(datetime.now(UTC))     # the PT calendar day that instant falls in
day.key, day.resets_at                   # "2025-11-02", 2025-11-03 00:00 PST
```

A quota day lasts 23 or 25 hours on the days DST starts or ends, so the budget comes back at the
next midnight PT, never "24 h after the first call".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from reference.quota.costs import RESET_TIMEZONE

PACIFIC: Final = ZoneInfo(RESET_TIMEZONE)
#: How long a day's keys outlive it: long enough that a worker whose clock lags a little, or a
#: refund just after midnight, still finds them; short enough that old days do not pile up.
KEY_GRACE: Final = timedelta(hours=1)


@dataclass(frozen=True)
class QuotaDay:
    """One PT calendar day, the unit every quota counter is kept per."""

    date: date

    @classmethod
    def at(cls, instant: datetime) -> QuotaDay:
        """The quota day ``instant`` (an aware datetime, any zone) falls in."""
        if instant.tzinfo is None:
            raise ValueError(f"naive datetime {instant!r}: pass an aware one, e.g. in UTC")
        return cls(instant.astimezone(PACIFIC).date())

    @property
    def key(self) -> str:
        """The day as it appears in key names: ``2025-11-02``."""
        return self.date.isoformat()

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.date, time(), PACIFIC)

    @property
    def resets_at(self) -> datetime:
        """The next midnight PT, when this day's budget is replaced by a fresh one."""
        return datetime.combine(self.date + timedelta(days=1), time(), PACIFIC)

    @property
    def length(self) -> timedelta:
        # Subtracting two datetimes that share a tzinfo ignores the offset change; go through UTC.
        return self.resets_at.astimezone(UTC) - self.starts_at.astimezone(UTC)

    def ttl(self, now: datetime) -> int:
        """Whole seconds from ``now`` until this day's keys may expire: its end + ``KEY_GRACE``."""
        left = self.resets_at.astimezone(UTC) + KEY_GRACE - now.astimezone(UTC)
        return max(1, math.ceil(left.total_seconds()))


class ManualClock:
    """A ``Clock`` that moves only when told: for tests and simulations that stand at a midnight."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        """Move on by ``delta`` of elapsed time (across a DST change, not wall-clock time)."""
        self.now = (self.now.astimezone(UTC) + delta).astimezone(self.now.tzinfo)
