from collections.abc import Iterator
from contextlib import suppress
from datetime import timedelta

import httpx
import pytest

from reference.youtube.atom import FEED_ENTRIES, parse_feed
from tests.ytscale.fake.helpers import Ticker
from ytscale.fake.catalogue import EPOCH, SimClock
from ytscale.fake.faults import FaultConfig
from ytscale.fake.youtube import ATOM_TYPE, FakeConfig, FakeYouTube


def make_fake(config: FakeConfig | None = None) -> FakeYouTube:
    return FakeYouTube(config or FakeConfig(seed=1, channels=2_000), monotonic=Ticker())


@pytest.fixture
def fake() -> FakeYouTube:
    return make_fake()


@pytest.fixture
def client(fake: FakeYouTube) -> Iterator[httpx.Client]:
    # No API key: the feed needs none.
    with httpx.Client(base_url="http://fake", transport=fake.transport()) as c:
        yield c


def feed(client: httpx.Client, **params: str) -> httpx.Response:
    return client.get("/feeds/videos.xml", params=params)


def busy_channel(fake: FakeYouTube) -> int:
    catalogue = fake.catalogue
    return min(range(2_000), key=lambda i: catalogue.channel(i).spacing_s or float("inf"))


def test_the_feed_lists_the_latest_fifteen_newest_first(
    fake: FakeYouTube, client: httpx.Client
) -> None:
    index = fake.catalogue.find_channel(FEED_ENTRIES * 3, at=EPOCH)
    channel = fake.catalogue.channel(index)
    response = feed(client, channel_id=channel.id)
    assert response.status_code == 200 and response.headers["content-type"] == ATOM_TYPE
    parsed = parse_feed(response.content)
    assert parsed.channel_id == channel.id and parsed.title == channel.title
    published = [entry.published_at for entry in parsed.entries]
    assert len(parsed.entries) == FEED_ENTRIES and published == sorted(published, reverse=True)
    delayed = EPOCH - timedelta(seconds=fake.config.feed_delay_s)
    expected = fake.catalogue.uploads(index, 0, FEED_ENTRIES, delayed)[1]
    assert [entry.video_id for entry in parsed.entries] == [v.id for v in expected]
    # The uploads playlist's id names the same feed, as on YouTube.
    by_playlist = feed(client, playlist_id=channel.uploads_playlist_id)
    assert by_playlist.content == response.content


def test_the_feed_lags_uploads_by_the_feed_delay(fake: FakeYouTube, client: httpx.Client) -> None:
    index = busy_channel(fake)
    channel_id = fake.catalogue.channel_id(index)
    upload = fake.catalogue.video(index, fake.catalogue.video_count(index))
    assert isinstance(fake.clock, SimClock)
    delay = timedelta(seconds=fake.config.feed_delay_s)
    assert delay == timedelta(minutes=5)  # the default

    def latest() -> str:
        return parse_feed(feed(client, channel_id=channel_id).content).entries[0].video_id

    fake.clock.advance(upload.published_at + delay - timedelta(seconds=1) - fake.clock())
    assert fake.catalogue.video_count(index) == upload.number + 1  # public on the API already
    assert latest() != upload.id
    fake.clock.advance(timedelta(seconds=1))
    assert latest() == upload.id


def test_a_channel_without_uploads_has_an_empty_feed(
    fake: FakeYouTube, client: httpx.Client
) -> None:
    index = next(i for i in range(2_000) if fake.catalogue.channel(i).spacing_s is None)
    parsed = parse_feed(feed(client, channel_id=fake.catalogue.channel_id(index)).content)
    assert parsed.entries == () and parsed.channel_id == fake.catalogue.channel_id(index)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({}, 400),
        ({"user": "someone"}, 400),
        ({"channel_id": "UC" + "A" * 22, "playlist_id": "UU" + "A" * 22}, 400),
        ({"channel_id": "UC" + "A" * 22}, 404),
        ({"channel_id": "not-a-channel"}, 404),
        ({"playlist_id": "PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf"}, 404),
    ],
)
def test_bad_requests_and_unknown_channels(
    client: httpx.Client, params: dict[str, str], status: int
) -> None:
    assert client.get("/feeds/videos.xml", params=params).status_code == status


def test_a_channel_id_must_be_one_and_a_playlist_id_a_playlist(
    fake: FakeYouTube, client: httpx.Client
) -> None:
    channel = fake.catalogue.channel(3)
    assert feed(client, channel_id=channel.uploads_playlist_id).status_code == 404
    assert feed(client, playlist_id=channel.id).status_code == 404
    assert client.post("/feeds/videos.xml", params={"channel_id": channel.id}).status_code == 405


def test_the_feed_costs_no_quota_even_in_a_storm(fake: FakeYouTube, client: httpx.Client) -> None:
    channel_id = fake.catalogue.channel_id(3)
    fake.faults.start_storm(requests=2)
    statuses = [feed(client, channel_id=channel_id).status_code for _ in range(20)]
    assert statuses == [200] * 20
    assert fake.used == 0 and fake.stats()["charged_calls"] == {}
    assert fake.faults.storming  # the storm is the API's: feed reads do not use it up
    stats = fake.stats()
    assert stats["feed"] == {"requests": 20, "outcomes": {"ok": 20}}
    assert stats["requests"] == 0  # the API's own count is untouched


def test_rate_limits_do_not_apply_nor_an_exhausted_budget() -> None:
    fake = make_fake(FakeConfig(seed=1, daily_quota=0, faults=FaultConfig(rate_limit=1.0)))
    with httpx.Client(base_url="http://fake", transport=fake.transport()) as client:
        assert feed(client, channel_id=fake.catalogue.channel_id(0)).status_code == 200
    assert fake.used == 0


def test_drops_and_server_errors_do_apply() -> None:
    dropping = make_fake(FakeConfig(seed=1, faults=FaultConfig(drop=1.0)))
    with (
        httpx.Client(base_url="http://fake", transport=dropping.transport()) as client,
        pytest.raises(httpx.RemoteProtocolError),
    ):
        feed(client, channel_id=dropping.catalogue.channel_id(0))
    assert dropping.stats()["feed"]["outcomes"] == {"dropped": 1}

    failing = make_fake(FakeConfig(seed=1, faults=FaultConfig(server_error=1.0)))
    with httpx.Client(base_url="http://fake", transport=failing.transport()) as client:
        response = feed(client, channel_id=failing.catalogue.channel_id(0))
    assert response.status_code in (500, 503) and failing.used == 0
    assert failing.stats()["feed"]["outcomes"] == {"serverError": 1}


def test_latency_applies_to_the_feed() -> None:
    sleeps: list[float] = []
    slow = make_fake(FakeConfig(seed=1, faults=FaultConfig(slow=1.0, slow_s=3.0)))
    with httpx.Client(base_url="http://fake", transport=slow.transport(sleeps.append)) as client:
        assert feed(client, channel_id=slow.catalogue.channel_id(0)).status_code == 200
    assert sleeps == [3.0]


def test_feed_reads_leave_the_apis_fault_sequence_alone() -> None:
    faults = FaultConfig(seed=4, drop=0.2, server_error=0.2, rate_limit=0.2)

    def api_statuses(read_feeds: bool) -> list[str]:
        fake = make_fake(FakeConfig(seed=1, faults=faults))
        out = []
        with httpx.Client(base_url="http://fake", transport=fake.transport()) as client:
            for _ in range(60):
                if read_feeds:
                    with suppress(httpx.RemoteProtocolError):
                        feed(client, channel_id=fake.catalogue.channel_id(0))
                try:
                    response = client.get(
                        "/youtube/v3/videos", params={"key": "k", "part": "id", "id": "x"}
                    )
                    out.append(str(response.status_code))
                except httpx.RemoteProtocolError:
                    out.append("dropped")
        return out

    assert api_statuses(read_feeds=True) == api_statuses(read_feeds=False)
