from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from tests.ytscale.fake.helpers import client_of, get, make_fake
from ytscale.fake.meter import QuotaMeter
from ytscale.fake.youtube import FakeConfig


def test_the_budget_comes_back_at_midnight_pacific() -> None:
    # 08:00 UTC is midnight PST: the quota day turns then, not at midnight UTC.
    now = [datetime(2025, 1, 15, 7, 59, 59, tzinfo=UTC)]
    fake = make_fake(FakeConfig(seed=1, daily_quota=1), quota_clock=lambda: now[0])
    with client_of(fake) as client:
        assert get(client, "videos", part="id", id="x").status_code == 200
        assert get(client, "videos", part="id", id="x").status_code == 403
        now[0] += timedelta(seconds=1)
        assert get(client, "videos", part="id", id="x").status_code == 200
    assert fake.quota.by_day() == {"2025-01-14": 1, "2025-01-15": 1}


def test_concurrent_requests_never_overspend_the_budget() -> None:
    fake = make_fake(FakeConfig(seed=1, daily_quota=250))
    with client_of(fake) as client, ThreadPoolExecutor(8) as pool:
        statuses = list(
            pool.map(lambda _: get(client, "videos", part="id", id="x").status_code, range(400))
        )
    assert statuses.count(200) == 250 and statuses.count(403) == 150
    assert fake.used == 250 and fake.stats()["charged_calls"] == {"videos.list": 250}


def test_a_charge_the_budget_cannot_cover_is_refused_whole() -> None:
    meter = QuotaMeter(budget=5, clock=lambda: datetime(2025, 1, 15, 12, tzinfo=UTC))
    assert meter.charge(3) and not meter.charge(3)
    assert meter.used() == 3 and meter.charge(2) and meter.used() == 5
    assert meter.by_day() == {"2025-01-15": 5} and meter.used("2025-01-14") == 0
    meter.reset()
    assert meter.used() == 0 and meter.by_day() == {}
