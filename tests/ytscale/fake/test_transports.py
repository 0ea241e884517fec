import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.ytscale.fake.helpers import async_outcomes, client_of, get, make_fake
from ytscale.fake.faults import FaultConfig
from ytscale.fake.youtube import FakeConfig, FakeYouTube


def test_the_transport_waits_out_the_latency() -> None:
    sleeps: list[float] = []
    slow = make_fake(FakeConfig(seed=1, faults=FaultConfig(slow=1.0, slow_s=3.0)))
    with httpx.Client(base_url="fake://youtube", transport=slow.transport(sleeps.append)) as c:
        assert c.get("/youtube/v3/videos", params={"key": "k", "part": "id", "id": "x"}).is_success
    assert sleeps == [3.0]


def test_an_answer_slower_than_the_read_timeout_times_out_but_was_charged() -> None:
    sleeps: list[float] = []
    slow = make_fake(FakeConfig(seed=1, faults=FaultConfig(slow=1.0, slow_s=30.0)))
    transport = slow.transport(sleeps.append)
    with (
        httpx.Client(base_url="fake://youtube", transport=transport, timeout=2.0) as c,
        pytest.raises(httpx.ReadTimeout),
    ):
        c.get("/youtube/v3/videos", params={"key": "k", "part": "id", "id": "x"})
    assert sleeps == [2.0] and slow.used == 1


def test_threads_share_one_transport_safely(fake: FakeYouTube) -> None:
    barrier = threading.Barrier(8)
    with client_of(fake) as client:

        def burst(_: int) -> list[int]:
            barrier.wait()
            return [get(client, "videos", part="id", id="x").status_code for _ in range(50)]

        with ThreadPoolExecutor(8) as pool:
            statuses = [s for batch in pool.map(burst, range(8)) for s in batch]
    assert statuses == [200] * 400 and fake.used == 400
    assert fake.stats()["outcomes"] == {"ok": 400}


def test_the_async_transport_answers_and_drops() -> None:
    fake = make_fake(FakeConfig(seed=1, faults=FaultConfig(seed=1, drop=0.5)))

    async def run() -> list[str]:
        transport = fake.transport()  # the same class serves httpx.AsyncClient
        async with httpx.AsyncClient(base_url="fake://youtube", transport=transport) as client:
            return await async_outcomes(client)

    outcomes = asyncio.run(run())
    assert set(outcomes) == {"200", "dropped"}
    assert fake.used == outcomes.count("200")


def test_the_async_path_times_out_as_the_sync_one_does() -> None:
    slow = make_fake(FakeConfig(seed=1, faults=FaultConfig(slow=1.0, slow_s=30.0)))

    async def call() -> None:
        transport = slow.transport()
        async with httpx.AsyncClient(
            base_url="fake://youtube", transport=transport, timeout=0.01
        ) as client:
            await client.get("/youtube/v3/videos", params={"key": "k", "part": "id", "id": "x"})

    with pytest.raises(httpx.ReadTimeout):
        asyncio.run(call())
    assert slow.used == 1
