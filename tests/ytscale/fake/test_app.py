import asyncio

import httpx
import pytest

from tests.ytscale.fake.helpers import async_outcomes
from ytscale.fake.app import create_app
from ytscale.fake.faults import FaultConfig
from ytscale.fake.transports import DroppedConnection
from ytscale.fake.youtube import FakeConfig


def test_the_asgi_app_answers_and_drops_under_asgi_transport() -> None:
    app = create_app(FakeConfig(seed=1, faults=FaultConfig(seed=3, drop=0.5)))

    async def run() -> list[str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(base_url="http://fake", transport=transport) as client:
            return await async_outcomes(client, DroppedConnection)

    outcomes = asyncio.run(run())
    assert set(outcomes) == {"200", "dropped"}
    assert app.fake.used == outcomes.count("200")


def test_create_app_reads_its_options_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YTSCALE_FAKE_ARGS", "--seed 7 --daily-quota 5 --rate-limit 0.25")
    config = create_app().fake.config
    assert (config.seed, config.daily_quota, config.faults.rate_limit) == (7, 5, 0.25)
    assert config.faults.seed == 7
