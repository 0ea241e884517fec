import pytest

from ytscale.capacity.params import (
    POLL_COSTS,
    CapacityParams,
    playlist_pages,
    video_batches,
)


@pytest.mark.parametrize(
    ("new", "pages", "batches"), [(0, 1, 0), (1, 1, 1), (49, 1, 1), (50, 2, 1), (51, 2, 2)]
)
def test_paging_reads_one_known_item_past_the_new_ones(new: int, pages: int, batches: int) -> None:
    assert playlist_pages(new) == pages
    assert video_batches(new) == batches


@pytest.mark.parametrize(
    ("strategy", "costs"),
    [
        # channels.list + playlistItems pages + videos.list batches: never below 2 units
        ("api_polling_report", {0: 2, 1: 3, 49: 3, 50: 4, 120: 7}),
        ("api_polling", {0: 1, 1: 2, 50: 3}),
    ],
)
def test_units_per_sync_by_strategy(strategy: str, costs: dict[int, int]) -> None:
    s = POLL_COSTS[strategy]
    assert {n: s.units(n) for n in costs} == costs


def test_derived_figures() -> None:
    p = CapacityParams(workers=10, concurrency=4, sync_interval_s=3_600)
    assert p.slots == 40
    assert p.windows_per_day == 96
    assert p.target_cycle_s == 3_600
    assert CapacityParams().target_cycle_s == 900  # never faster than one window


@pytest.mark.parametrize(
    "bad",
    [
        {"strategy": "carrier_pigeon"},
        {"workers": 0},
        {"cap_per_window": 0},
        {"service_mean_s": 0},
        {"stagger_s": -1},
        {"sources": -1},
    ],
)
def test_nonsense_is_refused(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        CapacityParams(**bad)  # type: ignore[arg-type]
