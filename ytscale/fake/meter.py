"""The fake's quota meter: what YouTube charged, per Pacific-Time day."""

from __future__ import annotations

import threading
from collections import Counter

from reference.clock import Clock, utc_now
from reference.quota.costs import DEFAULT_DAILY_QUOTA
from reference.quota.days import QuotaDay


class QuotaMeter:
    """Units charged per Pacific-Time day against a daily budget; safe to share between threads."""

    def __init__(self, budget: int = DEFAULT_DAILY_QUOTA, clock: Clock = utc_now) -> None:
        self.budget = budget
        self._clock = clock
        self._lock = threading.Lock()
        self._by_day: Counter[str] = Counter()

    def today(self) -> str:
        return QuotaDay.at(self._clock()).key

    def charge(self, units: int) -> bool:
        """Charge ``units`` to today if the budget allows; ``False`` (nothing charged) if not."""
        day = self.today()
        with self._lock:
            if self._by_day[day] + units > self.budget:
                return False
            self._by_day[day] += units
            return True

    def used(self, day: str | None = None) -> int:
        with self._lock:
            return self._by_day[day or self.today()]

    def by_day(self) -> dict[str, int]:
        with self._lock:
            return {day: units for day, units in self._by_day.items() if units}

    def reset(self) -> None:
        with self._lock:
            self._by_day.clear()
