"""The inputs of the capacity model: one frozen parameter set and what one api_polling sync costs.

Defaults are the P0 report's scenario: 5,000 sources dispatched per 15-minute window, each with a
countdown drawn uniformly from 0–900 s, 10 single-slot Celery workers, 5 s mean task time, a rate
limit of 100 tasks/minute per worker, Redis's default visibility timeout (1 h) and the project's
10,000 units/day.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Final, Literal

from reference.quota.costs import DEFAULT_DAILY_QUOTA, MAX_IDS_PER_CALL, MAX_RESULTS_PER_PAGE, cost

DAY_S: Final = 86_400.0


def playlist_pages(new_videos: int) -> int:
    """``playlistItems.list`` pages read to find ``new_videos`` new uploads.

    Paging stops at the first already-known video, so ``new_videos + 1`` items are read.
    """
    return new_videos // MAX_RESULTS_PER_PAGE + 1


def video_batches(new_videos: int) -> int:
    """``videos.list`` calls that fetch the metadata of ``new_videos`` ids, 50 per call."""
    return math.ceil(new_videos / MAX_IDS_PER_CALL)


@dataclass(frozen=True)
class PollCost:
    """What one source's api_polling sync costs in quota units: the report's version, or ours.

    ``detect(n)`` is the cost of finding ``n`` new videos, ``fetch(n)`` of reading their metadata.
    Every source is synced every cycle. The sync strategies that need no quota to detect
    (:class:`reference.strategies.SyncStrategy`: feed, push), whose detail fetch is batched
    across sources, are modelled in :mod:`ytscale.capacity.strategies`.
    """

    name: str
    detect: Callable[[int], int]
    fetch: Callable[[int], int]

    def units(self, new_videos: int) -> int:
        """Quota units one sync that finds ``new_videos`` new uploads costs."""
        return self.detect(new_videos) + self.fetch(new_videos)


def _fetch(n: int) -> int:
    return video_batches(n) * cost("videos.list")


POLL_COSTS: Final[Mapping[str, PollCost]] = {
    s.name: s
    for s in (
        # The report's sync: channels.list for the uploads playlist on every run, then its pages.
        PollCost(
            "api_polling_report",
            detect=lambda n: cost("channels.list") + playlist_pages(n) * cost("playlistItems.list"),
            fetch=_fetch,
        ),
        # Ours: the uploads playlist id is stored once, so only its pages are read.
        PollCost(
            "api_polling",
            detect=lambda n: playlist_pages(n) * cost("playlistItems.list"),
            fetch=_fetch,
        ),
    )
}

ServiceDistribution = Literal["lognormal", "gamma"]


@dataclass(frozen=True)
class CapacityParams:
    """One scenario of the periodic channel sync.

    A source is *due* ``sync_interval_s`` after its previous sync finished (0: as often as the
    scheduler allows). Every ``window_s`` the scheduler dispatches up to ``cap_per_window`` due
    sources, oldest first, each with a countdown drawn from U(0, ``stagger_s``).
    """

    sources: int = 5_000
    window_s: float = 900.0
    cap_per_window: int = 5_000
    stagger_s: float = 900.0
    sync_interval_s: float = 0.0
    workers: int = 10
    concurrency: int = 1
    service_mean_s: float = 5.0
    #: Coefficient of variation of the task time (1.0: as variable as an exponential).
    service_cv: float = 1.0
    service_dist: ServiceDistribution = "lognormal"
    #: Celery ``rate_limit`` in tasks/minute, enforced by each worker on its own (None: no limit).
    rate_limit_per_min: float | None = 100.0
    visibility_timeout_s: float = 3_600.0
    #: Ack after the task ran (``acks_late``) rather than when it starts.
    acks_late: bool = True
    daily_quota: int = DEFAULT_DAILY_QUOTA
    #: Whose api_polling sync is costed: a key of :data:`POLL_COSTS`.
    strategy: str = "api_polling_report"
    #: Mean uploads per channel per day (an assumption: one a week).
    uploads_per_source_per_day: float = 1 / 7

    def __post_init__(self) -> None:
        if self.strategy not in POLL_COSTS:
            raise ValueError(f"unknown strategy {self.strategy!r}; known: {sorted(POLL_COSTS)}")
        if min(self.window_s, self.service_mean_s, self.visibility_timeout_s) <= 0:
            raise ValueError("window, service time and visibility timeout must be positive")
        if min(self.workers, self.concurrency, self.cap_per_window) < 1 or self.sources < 0:
            raise ValueError("workers, concurrency and cap must be >= 1, sources >= 0")
        if self.stagger_s < 0 or self.sync_interval_s < 0 or self.service_cv < 0:
            raise ValueError("stagger, sync interval and service CV must be >= 0")

    @property
    def slots(self) -> int:
        """Tasks that can run at once: workers × concurrency."""
        return self.workers * self.concurrency

    @property
    def target_cycle_s(self) -> float:
        """How often each source wants a sync: its interval, but no faster than one window."""
        return max(self.window_s, self.sync_interval_s)

    @property
    def windows_per_day(self) -> float:
        return DAY_S / self.window_s

    @property
    def poll_cost(self) -> PollCost:
        return POLL_COSTS[self.strategy]
