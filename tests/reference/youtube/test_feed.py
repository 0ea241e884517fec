"""The feed reader: parsed entries from the fake, retries on 5xx, clear errors otherwise."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest

from reference.youtube.atom import FEED_ENTRIES
from reference.youtube.errors import MalformedResponse, NotFound, YouTubeUnavailable
from reference.youtube.feed import FeedReader
from ytscale.fake.catalogue import EPOCH
from ytscale.fake.youtube import FakeConfig, FakeYouTube


def reader(transport: httpx.BaseTransport, max_attempts: int = 3) -> FeedReader:
    return FeedReader(
        "fake://youtube", transport=transport, max_attempts=max_attempts, sleep=lambda _: None
    )


def test_the_feed_lists_the_newest_uploads_the_delay_lets_through() -> None:
    at = EPOCH + timedelta(days=30)
    fake = FakeYouTube(FakeConfig(seed=1), clock=lambda: at)
    channel = fake.catalogue.find_channel(FEED_ENTRIES + 5, at=at)
    feed = reader(fake.transport()).channel(fake.catalogue.channel_id(channel))
    cutoff = at - timedelta(seconds=fake.config.feed_delay_s)
    visible = fake.catalogue.video_count(channel, cutoff)
    expected = [fake.catalogue.video_id(channel, n) for n in range(visible - 1, visible - 16, -1)]
    assert [e.video_id for e in feed.entries] == expected
    assert feed.channel_id == fake.catalogue.channel_id(channel)
    assert fake.used == 0


def test_server_errors_are_retried_then_raised_as_unavailable() -> None:
    answers = iter([httpx.Response(503), httpx.Response(500), httpx.Response(503)])
    calls: list[int] = []

    def feed(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return next(answers)

    with pytest.raises(YouTubeUnavailable, match="HTTP 503"):
        reader(httpx.MockTransport(feed), max_attempts=3).channel("UCx")
    assert len(calls) == 3


def test_a_timeout_then_success_returns_the_feed() -> None:
    fake = FakeYouTube(FakeConfig(seed=1))
    channel_id = fake.catalogue.channel_id(fake.catalogue.find_channel(3))
    inner = fake.transport()
    attempts: list[int] = []

    def flaky(request: httpx.Request) -> httpx.Response:
        attempts.append(1)
        if len(attempts) == 1:
            raise httpx.ReadTimeout("slow", request=request)
        return inner.handle_request(request)

    assert reader(httpx.MockTransport(flaky)).channel(channel_id).entries
    assert len(attempts) == 2


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (httpx.Response(404), NotFound),
        (httpx.Response(200, text="<html>not atom</html>"), MalformedResponse),
        (httpx.Response(200, text="<feed xmlns='http://www.w3.org/2005/Atom'><entry/></feed>"),
         MalformedResponse),
    ],
    ids=["unknown-channel", "not-atom", "entry-without-video-id"],
)  # fmt: skip
def test_other_answers_are_clear_errors_and_not_retried(
    answer: httpx.Response, error: type[Exception]
) -> None:
    calls: list[int] = []

    def feed(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return answer

    with pytest.raises(error):
        reader(httpx.MockTransport(feed)).channel("UCx")
    assert len(calls) == 1
