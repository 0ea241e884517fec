"""What the fake's tests share: a fake whose clock stands still, a client onto it, and readers
of its answers."""

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from ytscale.fake.catalogue import EPOCH
from ytscale.fake.youtube import FakeConfig, FakeYouTube


class Ticker:
    """A monotonic source the test moves by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def frozen(at: datetime = EPOCH) -> Callable[[], datetime]:
    return lambda: at


def make_fake(config: FakeConfig | None = None, **kwargs: Any) -> FakeYouTube:
    """A fake whose simulated clock stands still unless the test passes another."""
    kwargs.setdefault("clock", frozen())
    return FakeYouTube(config or FakeConfig(seed=1), **kwargs)


def client_of(fake: FakeYouTube, key: str | None = "test-key", **kwargs: Any) -> httpx.Client:
    params = {"key": key} if key else {}
    return httpx.Client(
        base_url="fake://youtube", transport=fake.transport(), params=params, **kwargs
    )


def get(client: httpx.Client, resource: str, **params: Any) -> httpx.Response:
    return client.get(f"/youtube/v3/{resource}", params=params)


def error_of(response: httpx.Response) -> dict[str, Any]:
    """The single entry of YouTube's error envelope, after checking the envelope's shape."""
    error = response.json()["error"]
    assert set(error) == {"code", "message", "errors", "status"}
    assert error["code"] == response.status_code
    (entry,) = error["errors"]
    assert {"message", "domain", "reason"} <= set(entry)
    assert entry["message"] == error["message"]
    return dict(entry)


def big_channel(fake: FakeYouTube, min_videos: int = 1_000) -> int:
    return fake.catalogue.find_channel(min_videos)


async def async_outcomes(
    client: httpx.AsyncClient, dropped: type[Exception] = httpx.RemoteProtocolError, n: int = 40
) -> list[str]:
    """The status of each of ``n`` ``videos.list`` calls, or "dropped" where ``dropped`` rose."""
    outcomes = []
    for _ in range(n):
        try:
            response = await client.get(
                "/youtube/v3/videos", params={"key": "k", "part": "id", "id": "x"}
            )
            outcomes.append(str(response.status_code))
        except dropped:
            outcomes.append("dropped")
    return outcomes
