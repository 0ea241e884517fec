import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.strategies import SyncStrategy
from ytscale.capacity import strategies as s

D = s.Deployment()  # 100K sources, one upload a week each, 10K units/day
DAY = 86_400


def poisson_at_least(k: int, mean: float) -> float:
    return 1 - sum(math.exp(-mean) * mean**n / math.factorial(n) for n in range(k))


def test_api_polling_units_for_1000_daily_sources() -> None:
    # One playlist page per sync, one videos.list whenever anything is new.
    f = s.figures(replace(D, sources=1_000), "api_polling")
    new = 1 - math.exp(-1 / 7)
    assert f.units_per_day == pytest.approx(1_000 * (1 + new))
    assert (f.units_detect_per_day, f.units_fetch_per_day) == pytest.approx((1_000, 1_000 * new))
    assert f.within_budget
    assert f.effective_interval_s == DAY
    assert f.youtube_requests_per_s == pytest.approx(1_000 * (1 + new) / DAY)


def test_feeds_and_push_cost_a_tiny_fraction_of_api_polling_at_100k() -> None:
    api, feed, push = s.compare_strategies()
    assert [f.strategy for f in (api, feed, push)] == list(SyncStrategy)
    # K ~ Poisson(9.92) per 60 s tick: almost every tick fetches one batch, never two.
    per_tick = 100_000 / 7 / 1_440
    assert feed.units_per_day == pytest.approx(1_440 * (1 - math.exp(-per_tick)))
    assert push.units_per_day == pytest.approx(feed.units_per_day)
    assert feed.units_detect_per_day < 1e-30
    assert api.units_per_day > 75 * feed.units_per_day
    assert feed.within_budget and push.within_budget and not api.within_budget


def test_api_polling_at_100k_is_stretched_until_it_meets_the_budget() -> None:
    f = s.figures(D, "api_polling")
    assert f.units_per_day == pytest.approx(100_000 * (2 - math.exp(-1 / 7)))  # 113K, 11x over
    # Days x between syncs: x = 100K × (1 + P(N ≥ 1)) / 10K with N ~ Poisson(x/7).
    days = 1.0
    for _ in range(100):
        days = 10 * (2 - math.exp(-days / 7))
    assert f.effective_interval_s == pytest.approx(days * DAY)
    assert 19 < days < 20
    at_stretch = s.figures(replace(D, api_poll_interval_s=f.effective_interval_s), "api_polling")
    assert at_stretch.units_per_day == pytest.approx(10_000, rel=1e-9)
    # What runs is what the budget pays for: 10K calls/day.
    assert f.youtube_requests_per_s == pytest.approx(10_000 / DAY)
    assert f.freshness_mean_s == pytest.approx(f.effective_interval_s / 2)
    assert f.freshness_p95_s == pytest.approx(0.95 * f.effective_interval_s)


def test_no_interval_fits_when_full_pages_and_batches_alone_overrun_the_budget() -> None:
    # 10M sources upload 1.43M videos/day: 2/50 unit each is 57K units/day.
    f = s.figures(replace(D, sources=10_000_000), "api_polling")
    assert f.effective_interval_s == math.inf
    assert f.freshness_mean_s == f.freshness_p95_s == math.inf
    assert f.youtube_requests_per_s == pytest.approx(10_000 / DAY)


def test_freshness_push_beats_feeds_beats_api_polling() -> None:
    api, feed, push = s.compare_strategies()
    assert push.freshness_mean_s < feed.freshness_mean_s < api.freshness_mean_s
    assert push.freshness_p95_s < feed.freshness_p95_s < api.freshness_p95_s
    assert feed.freshness_mean_s == pytest.approx(300 + 3_600 / 2 + 60 / 2)
    assert push.freshness_mean_s == pytest.approx(0.99 * (30 + 30) + 0.01 * (300 + 10_800 + 30))
    # 95% of all uploads is 0.95/0.99 of the pushed ones: 30 + U(0, 60).
    assert push.freshness_p95_s == pytest.approx(30 + 60 * 0.95 / 0.99)
    assert push.freshness_p50_s == pytest.approx(30 + 60 * 0.5 / 0.99)
    # 300 + U(0, 3600) + U(0, 60): flat in the middle, quadratic in the first 60 s.
    assert feed.freshness_p95_s == pytest.approx(300 + 30 + 0.95 * 3_600)
    assert s.freshness_quantile(D, "feed_polling", 1e-4) == pytest.approx(
        300 + math.sqrt(2 * 60 * 3_600 * 1e-4)
    )
    assert s.freshness_quantile(D, "feed_polling", 1 - 1e-4) == pytest.approx(
        300 + 3_660 - math.sqrt(2 * 60 * 3_600 * 1e-4)
    )


def test_a_single_uniforms_quantiles() -> None:
    small = replace(D, sources=1_000)
    assert s.freshness_quantile(small, "api_polling", 0.5) == pytest.approx(DAY / 2)
    assert s.freshness_quantile(small, "api_polling", 0.0) == 0
    assert s.freshness_quantile(small, "api_polling", 1.0) == pytest.approx(DAY)


@pytest.mark.parametrize("strategy", list(SyncStrategy))
def test_freshness_quantiles_rise_with_q(strategy: str) -> None:
    qs = [i / 40 for i in range(41)]
    values = [s.freshness_quantile(replace(D, sources=1_000), strategy, q) for q in qs]
    assert values == sorted(values)
    assert values[0] < values[20] < values[-1]


def test_push_with_every_notification_lost_is_feed_polling_at_the_fallback_interval() -> None:
    lossy = replace(D, push_loss=1.0, fallback_interval_s=D.feed_poll_interval_s)
    push, feed = s.figures(lossy, "push"), s.figures(lossy, "feed_polling")
    assert push.freshness_mean_s == pytest.approx(feed.freshness_mean_s)
    assert push.freshness_p95_s == pytest.approx(feed.freshness_p95_s)
    lossless = s.figures(replace(D, push_loss=0.0), "push")
    assert lossless.freshness_p95_s == pytest.approx(30 + 0.95 * 60)


def test_feed_overflow_pages_only_when_all_15_entries_are_new() -> None:
    # Ten uploads an hour per source: a read finds N ~ Poisson(10) new ones.
    busy = replace(D, sources=100, uploads_per_source_per_day=240)
    reads = 100 * 24
    feed = s.figures(busy, "feed_polling")
    assert feed.units_detect_per_day == pytest.approx(reads * poisson_at_least(15, 10))
    assert feed.units_detect_per_day < reads * poisson_at_least(14, 10) * 0.8
    # Under push the newest 15 must also have lost their notifications.
    lossy = replace(busy, push_loss=0.5, fallback_interval_s=3_600)
    push, feed = s.figures(lossy, "push"), s.figures(lossy, "feed_polling")
    assert push.units_detect_per_day == pytest.approx(feed.units_detect_per_day * 0.5**15)


def test_batched_fetches_approach_one_call_per_50_uploads_as_sources_grow() -> None:
    ratios = []
    for n in (10**6, 10**7, 10**8):
        units = s.figures(replace(D, sources=n), "feed_polling").units_per_day
        ratios.append(units / (n / 7 / 50))
    assert ratios == sorted(ratios, reverse=True)
    assert 1 < ratios[-1] < 1.01


def test_rare_uploads_cost_a_call_per_busy_tick() -> None:
    rare = replace(D, sources=10)
    per_tick = 10 / 7 / 1_440
    units = s.figures(rare, "push").units_per_day
    assert units == pytest.approx(1_440 * (1 - math.exp(-per_tick)), rel=1e-9)
    assert units == pytest.approx(10 / 7, rel=1e-3)  # each upload a batch of its own


def test_max_sources_in_budget() -> None:
    api = s.figures(D, "api_polling")
    assert api.max_sources_in_budget == math.floor(10_000 / (2 - math.exp(-1 / 7)))  # 8,825
    at = replace(D, sources=int(api.max_sources_in_budget))
    assert s.figures(at, "api_polling").within_budget
    assert not s.figures(replace(at, sources=int(at.sources * 1.01)), "api_polling").within_budget
    feed = s.figures(D, "feed_polling")
    assert 3_000_000 < feed.max_sources_in_budget < 3_500_000  # ~6.9 calls per 60 s tick
    edge = replace(D, sources=int(feed.max_sources_in_budget))
    assert s.figures(edge, "feed_polling").within_budget
    assert not s.figures(replace(edge, sources=edge.sources + 1), "feed_polling").within_budget
    assert s.figures(replace(D, uploads_per_source_per_day=0), "push").max_sources_in_budget == (
        math.inf
    )
    assert s.figures(replace(D, daily_quota=0), "api_polling").max_sources_in_budget == 0


def test_load_at_defaults() -> None:
    api, feed, push = s.compare_strategies()
    assert feed.feed_requests_per_s == pytest.approx(100_000 / 3_600)
    feed_api = feed.units_per_day / DAY  # every call is one unit
    assert feed.youtube_requests_per_s == pytest.approx(100_000 / 3_600 + feed_api)
    assert feed.busy_slots == pytest.approx(0.2 * feed.youtube_requests_per_s)
    hub = 100_000 / (432_000 - 86_400)
    assert push.youtube_requests_per_s == pytest.approx(100_000 / 21_600 + hub + feed_api)
    notified = 100_000 / 7 / DAY * 0.99
    assert push.busy_slots == pytest.approx(0.2 * push.youtube_requests_per_s + 0.01 * notified)
    assert (api.slots_needed, feed.slots_needed, push.slots_needed) == (1, 7, 2)


def test_units_series_per_strategy() -> None:
    series = s.units_series(D, iter([1_000, 100_000]))
    assert list(series) == list(SyncStrategy)
    assert series["api_polling"] == pytest.approx([1_000 * (2 - math.exp(-1 / 7)), 113_312.21])
    assert series["feed_polling"][1] == pytest.approx(s.figures(D, "feed_polling").units_per_day)


@settings(max_examples=30, deadline=None)
@given(
    sizes=st.lists(st.integers(0, 2_000_000), min_size=2, max_size=5),
    uploads=st.floats(0, 5),
    interval=st.floats(600, 7 * DAY),
)
def test_units_are_non_negative_and_rise_with_sources(
    sizes: list[int], uploads: float, interval: float
) -> None:
    d = replace(D, uploads_per_source_per_day=uploads, api_poll_interval_s=interval)
    series = s.units_series(d, sorted(sizes))
    for values in series.values():
        assert all(v >= 0 for v in values)
        assert all(a <= b * (1 + 1e-12) for a, b in zip(values, values[1:], strict=False))


@settings(max_examples=30, deadline=None)
@given(
    sources=st.integers(0, 300_000), uploads=st.floats(0, 3), strategy=st.sampled_from(SyncStrategy)
)
def test_figures_hold_together(sources: int, uploads: float, strategy: str) -> None:
    f = s.figures(replace(D, sources=sources, uploads_per_source_per_day=uploads), strategy)
    assert f.units_per_day == pytest.approx(f.units_detect_per_day + f.units_fetch_per_day)
    assert f.within_budget == (f.units_per_day <= 10_000)
    assert f.within_budget == (sources <= f.max_sources_in_budget)
    assert f.freshness_p50_s <= f.freshness_p95_s
    assert f.slots_needed >= f.busy_slots / 0.8 - 1e-9


@pytest.mark.parametrize(
    "bad",
    [
        {"sources": -1},
        {"flush_interval_s": 0},
        {"feed_delay_s": -1},
        {"push_loss": 1.5},
        {"feed_entries": 0},
        {"renew_margin_s": 432_000},
        {"max_utilisation": 1.2},
        {"api_poll_interval_s": math.nan},
    ],
)
def test_invalid_deployments_are_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        replace(D, **bad)


def test_unknown_strategy_and_quantile_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown sync strategy 'api_polling_report'"):
        s.figures(D, "api_polling_report")
    with pytest.raises(ValueError, match="q must be"):
        s.freshness_quantile(D, "push", 1.5)
