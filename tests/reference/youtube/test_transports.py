"""YOUTUBE_URL's scheme picks the transport: the network, a registered plugin, or a clear error."""

import httpx
import pytest

from reference.settings import Settings
from reference.youtube.transports import transport_for


@pytest.mark.parametrize("url", ["https://www.googleapis.com", "http://127.0.0.1:8001"])
def test_http_urls_use_the_network(url: str) -> None:
    assert transport_for(Settings(youtube_url=url)) is None


def test_the_fake_scheme_is_served_by_the_harness_plugin() -> None:
    transport = transport_for(Settings(youtube_url="fake://youtube"))
    assert isinstance(transport, httpx.BaseTransport)
    with httpx.Client(transport=transport, base_url="fake://youtube") as client:
        answer = client.get("/youtube/v3/videos", params={"id": "x", "part": "id", "key": "k"})
    assert answer.status_code == 200 and answer.json()["kind"] == "youtube#videoListResponse"


def test_a_scheme_nothing_serves_is_named_with_what_to_do() -> None:
    with pytest.raises(ValueError, match=r"'gopher':// .*Use http\(s\)://"):
        transport_for(Settings(youtube_url="gopher://youtube"))
