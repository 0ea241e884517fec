"""Three ways to learn of new uploads, compared at one deployment's size: quota, freshness, load.

``api_polling`` pages every source's uploads playlist each cycle; ``feed_polling`` reads each
source's Atom feed (0 units) and hands new ids to a pending table that a batcher fetches 50 at a
time for all sources together; ``push`` takes WebSub notifications into the same table and keeps a
slower feed read as a fallback::

    for f in compare_strategies():       # 100,000 sources, one upload a week each
        print(f.strategy, f.units_per_day, f.freshness_mean_s, f.slots_needed)

Modelling choices, all deliberate:

- uploads are Poisson, ``uploads_per_source_per_day`` per source (an assumption: one a week), and
  every source is a distinct channel, so sharing a channel between users never saves a fetch;
- ids reported twice (feed and push, or a hub renotifying a title change) are deduplicated in the
  pending table before any fetch, so they cost nothing extra and are not counted;
- each source's feed reads have their own phase, so by the displacement theorem the ids reaching
  the pending table are again Poisson at the total upload rate: K per tick ~ Poisson(r · tick);
- tasks are served as they arrive: queueing and service times are left out of freshness, which
  holds below saturation (``slots_needed`` says how many slots keep it there);
- a feed read falls back to API paging only when all ``feed_entries`` entries are unknown, i.e.
  N ≥ 15 uploads since the previous read (15 new ones already fill the feed, so the reader cannot
  tell whether it missed any); under push the newest 15 must also all have lost their
  notifications. Both are vanishingly rare at the defaults, and their paging is counted as
  ``playlist_pages(N)``, an upper bound when push has already named some of the N.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Final

from reference.quota.costs import DEFAULT_DAILY_QUOTA, cost
from reference.strategies import SyncStrategy
from ytscale.capacity.analytic import poisson_mean
from ytscale.capacity.params import DAY_S, playlist_pages, video_batches

#: Population above which ``max_sources_in_budget`` stops looking and reports inf.
SOURCE_CAP: Final = 10**9

_POSITIVE: Final = (
    "api_poll_interval_s",
    "feed_poll_interval_s",
    "fallback_interval_s",
    "flush_interval_s",
    "lease_s",
    "max_utilisation",
)
_NON_NEGATIVE: Final = (
    "uploads_per_source_per_day",
    "feed_delay_s",
    "push_delay_s",
    "renew_margin_s",
    "api_request_s",
    "feed_request_s",
    "notification_s",
    "hub_request_s",
)


@dataclass(frozen=True)
class Deployment:
    """One deployment: its population, the three strategies' intervals and the work they cost.

    The intervals default to the pipeline's (:attr:`SyncStrategy.interval`). The service times
    (seconds one worker slot is busy per request or notification) are assumptions, not
    measurements: a 200 ms round trip to YouTube, 10 ms to accept a notification.
    """

    sources: int = 100_000
    uploads_per_source_per_day: float = 1 / 7
    daily_quota: int = DEFAULT_DAILY_QUOTA
    api_poll_interval_s: float = SyncStrategy.API_POLLING.interval.total_seconds()
    feed_poll_interval_s: float = SyncStrategy.FEED_POLLING.interval.total_seconds()
    fallback_interval_s: float = SyncStrategy.PUSH.interval.total_seconds()
    #: How long after an upload the feed lists it.
    feed_delay_s: float = 300.0
    feed_entries: int = 15
    push_delay_s: float = 30.0
    #: Fraction of notifications that never arrive.
    push_loss: float = 0.01
    lease_s: float = 432_000.0
    renew_margin_s: float = DAY_S
    #: The batcher's scheduler tick.
    flush_interval_s: float = 60.0
    api_request_s: float = 0.2
    feed_request_s: float = 0.2
    notification_s: float = 0.01
    hub_request_s: float = 0.2
    max_utilisation: float = 0.8

    def __post_init__(self) -> None:
        # "not x > 0" rather than "x <= 0" so that NaN is refused too.
        for name in _POSITIVE:
            value = getattr(self, name)
            if not (value > 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be positive and finite, got {value!r}")
        for name in _NON_NEGATIVE:
            value = getattr(self, name)
            if not (value >= 0 and math.isfinite(value)):
                raise ValueError(f"{name} must be >= 0 and finite, got {value!r}")
        if self.sources < 0 or self.daily_quota < 0:
            raise ValueError(
                f"sources and daily_quota must be >= 0, got {self.sources}, {self.daily_quota}"
            )
        if self.feed_entries < 1:
            raise ValueError(f"feed_entries must be >= 1, got {self.feed_entries}")
        if not 0 <= self.push_loss <= 1:
            raise ValueError(f"push_loss must be in [0, 1], got {self.push_loss!r}")
        if self.renew_margin_s >= self.lease_s:
            raise ValueError("renew_margin_s must be shorter than lease_s, or renewals never end")
        if self.max_utilisation > 1:
            raise ValueError(f"max_utilisation must be <= 1, got {self.max_utilisation!r}")

    @property
    def upload_rate(self) -> float:
        """Uploads/s across all sources."""
        return self.sources * self.uploads_per_source_per_day / DAY_S


DEFAULT: Final = Deployment()


@dataclass(frozen=True)
class StrategyFigures:
    """One strategy's figures at one deployment."""

    strategy: SyncStrategy
    #: Quota units/day spent at the configured intervals, as if the budget were unlimited.
    units_per_day: float
    #: Of which finding new videos: playlist pages, including a feed's overflow paging.
    units_detect_per_day: float
    #: Of which ``videos.list`` detail fetches.
    units_fetch_per_day: float
    within_budget: bool
    #: How often each source's uploads are looked at: api_polling's interval stretched until the
    #: budget pays for it (inf if none does); the feed interval; push's fallback feed interval.
    effective_interval_s: float
    #: Upload to stored in the project, over uploads.
    freshness_mean_s: float
    freshness_p50_s: float
    freshness_p95_s: float
    #: Requests to YouTube's hosts (API, feeds, hub) at the effective interval: what really runs.
    youtube_requests_per_s: float
    feed_requests_per_s: float
    #: Little's law: slots kept busy, summed over the kinds of work.
    busy_slots: float
    #: Slots that keep ``busy_slots`` at or under ``max_utilisation``.
    slots_needed: int
    #: Largest population whose ``units_per_day`` fits the budget (inf: none binds below 10**9).
    max_sources_in_budget: float


# --- quota -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Calls:
    """API calls/day of one strategy: playlist pages and ``videos.list`` batches."""

    pages: float
    batches: float

    @property
    def detect_units(self) -> float:
        return self.pages * cost("playlistItems.list")

    @property
    def fetch_units(self) -> float:
        return self.batches * cost("videos.list")

    @property
    def units(self) -> float:
        return self.detect_units + self.fetch_units


def _overflow_pages(d: Deployment, read_interval_s: float) -> float:
    """Mean playlist pages one feed read costs: paging only when all its entries are new."""
    mean = d.uploads_per_source_per_day * read_interval_s / DAY_S
    return poisson_mean(lambda n: playlist_pages(n) if n >= d.feed_entries else 0, mean)


def _flush_batches(d: Deployment) -> float:
    """``videos.list`` calls/day of the batcher: ticks/day × E[ceil(K/50)], K ids per tick."""
    return (
        DAY_S / d.flush_interval_s * poisson_mean(video_batches, d.upload_rate * d.flush_interval_s)
    )


def _calls(d: Deployment, strategy: SyncStrategy, api_interval_s: float) -> _Calls:
    if strategy is SyncStrategy.API_POLLING:
        syncs = d.sources * DAY_S / api_interval_s
        mean = d.uploads_per_source_per_day * api_interval_s / DAY_S
        return _Calls(
            syncs * poisson_mean(playlist_pages, mean), syncs * poisson_mean(video_batches, mean)
        )
    if strategy is SyncStrategy.FEED_POLLING:
        reads = d.sources * DAY_S / d.feed_poll_interval_s
        return _Calls(reads * _overflow_pages(d, d.feed_poll_interval_s), _flush_batches(d))
    reads = d.sources * DAY_S / d.fallback_interval_s
    # The fallback read pages only if the newest entries were all missed by push as well.
    unknown = d.push_loss**d.feed_entries
    return _Calls(reads * _overflow_pages(d, d.fallback_interval_s) * unknown, _flush_batches(d))


def _api_interval(d: Deployment) -> float:
    """api_polling's interval, stretched until the budget pays for it (cf. analytic._quota_cycle).

    A longer cycle finds more videos per sync, so each sync costs more: the fixed point of
    cycle = cycle · units/day(cycle) / budget is found by iterating upwards. However long the
    cycle, every upload still costs at least 2/50 units (its share of a page and of a batch): if
    that alone overruns the budget, no interval fits.
    """
    cycle = d.api_poll_interval_s
    units = _calls(d, SyncStrategy.API_POLLING, cycle).units
    if units <= d.daily_quota:
        return cycle
    per_upload = (cost("playlistItems.list") + cost("videos.list")) / 50
    if d.sources * d.uploads_per_source_per_day * per_upload >= d.daily_quota:
        return math.inf
    for _ in range(1_000):
        needed = cycle * units / d.daily_quota
        if needed <= cycle * (1 + 1e-12):
            return needed
        cycle, units = needed, _calls(d, SyncStrategy.API_POLLING, needed).units
    return math.inf


def _max_sources(d: Deployment, strategy: SyncStrategy) -> float:
    """Largest population whose units/day fit the budget: doubling, then bisection on sources.

    Every strategy's units/day rise with the population, so the first misfit bounds the search.
    """

    def fits(n: int) -> bool:
        return _calls(replace(d, sources=n), strategy, d.api_poll_interval_s).units <= d.daily_quota

    lo, hi = 0, 1
    while fits(hi):
        if hi >= SOURCE_CAP:
            return math.inf
        lo, hi = hi, min(2 * hi, SOURCE_CAP)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if fits(mid) else (lo, mid)
    return float(lo)


# --- freshness -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Delay:
    """One branch of the upload-to-stored delay: ``shift`` plus a sum of U(0, w) for w in widths."""

    weight: float
    shift: float
    widths: tuple[float, ...]

    @property
    def mean(self) -> float:
        return self.shift + sum(self.widths) / 2

    @property
    def top(self) -> float:
        return self.shift + sum(self.widths)

    def cdf(self, x: float) -> float:
        """P(delay ≤ x): inclusion–exclusion over the uniforms, exact and piecewise polynomial."""
        y, n = x - self.shift, len(self.widths)
        if y <= 0:
            return 0.0
        if y >= sum(self.widths):
            return 1.0
        total = sum(
            (-1.0 if k % 2 else 1.0) * max(0.0, y - sum(subset)) ** n
            for k in range(n + 1)
            for subset in itertools.combinations(self.widths, k)
        )
        return min(1.0, max(0.0, total / (math.factorial(n) * math.prod(self.widths))))


def _delays(d: Deployment, strategy: SyncStrategy) -> tuple[_Delay, ...]:
    tick = d.flush_interval_s
    if strategy is SyncStrategy.API_POLLING:
        # The sync fetches details itself, so the next sync is the whole wait.
        return (_Delay(1.0, 0.0, (_api_interval(d),)),)
    if strategy is SyncStrategy.FEED_POLLING:
        return (_Delay(1.0, d.feed_delay_s, (d.feed_poll_interval_s, tick)),)
    pushed = _Delay(1 - d.push_loss, d.push_delay_s, (tick,))
    lost = _Delay(d.push_loss, d.feed_delay_s, (d.fallback_interval_s, tick))
    return tuple(part for part in (pushed, lost) if part.weight > 0)


def freshness_quantile(d: Deployment, strategy: str, q: float) -> float:
    """The ``q`` quantile of upload-to-stored delay: the least x with P(delay ≤ x) ≥ q.

    Found by bisection on the mixture's exact CDF, so it is deterministic; inf when api_polling
    finds no interval the budget pays for.
    """
    if not 0 <= q <= 1:
        raise ValueError(f"q must be in [0, 1], got {q!r}")
    parts = _delays(d, SyncStrategy.named(strategy))
    if not all(math.isfinite(part.top) for part in parts):
        return math.inf

    def cdf(x: float) -> float:
        return sum(part.weight * part.cdf(x) for part in parts)

    lo, hi = min(part.shift for part in parts), max(part.top for part in parts)
    if cdf(lo) >= q:
        return lo
    # Halve until no float lies between the ends: exact to the last bit, whatever the scale.
    while lo < (mid := (lo + hi) / 2) < hi:
        lo, hi = (lo, mid) if cdf(mid) >= q else (mid, hi)
    return hi


# --- load and the figures --------------------------------------------------------------------


def figures(d: Deployment, strategy: str) -> StrategyFigures:
    """Quota, freshness and load of ``strategy`` at deployment ``d``."""
    strategy = SyncStrategy.named(strategy)
    planned = _calls(d, strategy, d.api_poll_interval_s)
    interval = {
        SyncStrategy.API_POLLING: _api_interval(d),
        SyncStrategy.FEED_POLLING: d.feed_poll_interval_s,
        SyncStrategy.PUSH: d.fallback_interval_s,
    }[strategy]
    feed_per_s = d.sources / interval if strategy.flushes else 0.0
    if strategy.flushes:
        api_per_s = (planned.pages + planned.batches) / DAY_S
    elif math.isfinite(interval):
        # Load is what actually runs: syncs at the stretched interval.
        running = _calls(d, strategy, interval)
        api_per_s = (running.pages + running.batches) / DAY_S
    else:
        # Falling behind for good, it spends the whole budget at a unit a call.
        api_per_s = d.daily_quota / DAY_S
    hub_per_s = d.sources / (d.lease_s - d.renew_margin_s) if strategy.subscribes else 0.0
    notified_per_s = d.upload_rate * (1 - d.push_loss) if strategy.subscribes else 0.0
    busy = (
        api_per_s * d.api_request_s
        + feed_per_s * d.feed_request_s
        + hub_per_s * d.hub_request_s
        + notified_per_s * d.notification_s
    )
    parts = _delays(d, strategy)
    return StrategyFigures(
        strategy=strategy,
        units_per_day=planned.units,
        units_detect_per_day=planned.detect_units,
        units_fetch_per_day=planned.fetch_units,
        within_budget=planned.units <= d.daily_quota,
        effective_interval_s=interval,
        freshness_mean_s=sum(part.weight * part.mean for part in parts),
        freshness_p50_s=freshness_quantile(d, strategy, 0.5),
        freshness_p95_s=freshness_quantile(d, strategy, 0.95),
        youtube_requests_per_s=api_per_s + feed_per_s + hub_per_s,
        feed_requests_per_s=feed_per_s,
        busy_slots=busy,
        slots_needed=math.ceil(busy / d.max_utilisation - 1e-9),
        max_sources_in_budget=_max_sources(d, strategy),
    )


def compare_strategies(d: Deployment = DEFAULT) -> list[StrategyFigures]:
    """``figures`` for every strategy, in :class:`SyncStrategy` order, all else equal."""
    return [figures(d, strategy) for strategy in SyncStrategy]


def units_series(d: Deployment, sources: Iterable[int]) -> dict[str, list[float]]:
    """Units/day of each strategy at each population size, to plot against the budget."""
    sizes = list(sources)
    return {
        strategy: [
            _calls(replace(d, sources=n), strategy, d.api_poll_interval_s).units for n in sizes
        ]
        for strategy in SyncStrategy
    }
