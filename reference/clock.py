"""What "now" is: one wall-clock type for every schedule, lease, quota day and timestamp.

Everything that needs the time takes a ``Clock`` defaulting to :func:`utc_now`, so a test or the
report's simulated days can stand at any instant (a midnight PT, a lease's expiry) without waiting.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

#: Returns "now" as an aware datetime.
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)
