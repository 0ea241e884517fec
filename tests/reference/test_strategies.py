from datetime import timedelta

import pytest

from reference.strategies import SyncStrategy


@pytest.mark.parametrize(
    ("name", "interval", "flushes", "subscribes"),
    [
        ("api_polling", timedelta(hours=24), False, False),
        ("feed_polling", timedelta(hours=1), True, False),
        ("push", timedelta(hours=6), True, True),
    ],
)
def test_each_strategy_carries_its_interval_and_its_periodic_work(
    name: str, interval: timedelta, flushes: bool, subscribes: bool
) -> None:
    strategy = SyncStrategy.named(name)
    assert strategy is SyncStrategy(name) and strategy == name
    assert (strategy.interval, strategy.flushes, strategy.subscribes) == (
        interval,
        flushes,
        subscribes,
    )


def test_an_unknown_name_is_refused_naming_every_choice() -> None:
    with pytest.raises(ValueError, match="'carrier_pigeon'.*'api_polling', 'feed_polling', 'push'"):
        SyncStrategy.named("carrier_pigeon")
