"""How content sources learn of new uploads (issue 7), and what each way asks of the deployment.

``api_polling`` pages the Data API's uploads playlist (quota on every sync); ``feed_polling``
reads the channel's public Atom feed (no quota) and leaves the new ids' details to the batched
:func:`reference.pipeline.flush_uploads`; ``push`` takes WebSub notifications into the same
batch, holds a lease per channel, and reads the feed only as the fallback::

    strategy = SyncStrategy.named("push")       # the YTSCALE_SYNC_STRATEGY spelling
    strategy.interval, strategy.flushes, strategy.subscribes
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum


class SyncStrategy(StrEnum):
    API_POLLING = "api_polling"
    FEED_POLLING = "feed_polling"
    PUSH = "push"

    @classmethod
    def named(cls, name: str) -> SyncStrategy:
        """The strategy called ``name``; a ValueError naming the choices if there is none."""
        try:
            return cls(name)
        except ValueError:
            choices = tuple(s.value for s in cls)
            raise ValueError(f"unknown sync strategy {name!r}: choose from {choices}") from None

    @property
    def interval(self) -> timedelta:
        """How often each source's regular sync runs."""
        return _INTERVALS[self]

    @property
    def flushes(self) -> bool:
        """Syncs record new ids for :func:`~reference.pipeline.flush_uploads`, 50 a unit."""
        return self is not SyncStrategy.API_POLLING

    @property
    def subscribes(self) -> bool:
        """Every source holds a WebSub lease that must be renewed before it lapses."""
        return self is SyncStrategy.PUSH


_INTERVALS = {
    # Daily: 100K sources then fall due ~1,042 per 15-minute window, inside the report's cap of
    # 5,000 (its "30-minute cycle" is what ytscale.capacity shows no window cap, worker pool or
    # quota can serve).
    SyncStrategy.API_POLLING: timedelta(hours=24),
    # A feed read costs no quota, so feeds are read hourly.
    SyncStrategy.FEED_POLLING: timedelta(hours=1),
    # The feed read is only the fallback for lost notifications and lapsed leases.
    SyncStrategy.PUSH: timedelta(hours=6),
}
