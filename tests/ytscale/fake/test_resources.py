import re
from collections.abc import Iterator
from datetime import timedelta

import httpx

from reference.youtube.parse import format_duration, parse_datetime, parse_duration
from tests.ytscale.fake.helpers import big_channel, client_of, get, make_fake
from ytscale.fake.catalogue import EPOCH, Catalogue, VideoSpec
from ytscale.fake.resources import channel_resource
from ytscale.fake.youtube import FakeYouTube

ETAG = re.compile(r"[A-Za-z0-9_-]{27}")


VIDEO_PARTS = "snippet,contentDetails,statistics"


def test_videos_list_is_shaped_like_youtubes(fake: FakeYouTube, client: httpx.Client) -> None:
    index = big_channel(fake, 100)
    specs = fake.catalogue.uploads(index, 0, 3)[1]
    ids = [v.id for v in specs]
    body = get(client, "videos", part=VIDEO_PARTS, id=",".join([*ids, "dQw4w9WgXcQ"])).json()
    assert body["kind"] == "youtube#videoListResponse" and ETAG.fullmatch(body["etag"])
    assert body["pageInfo"] == {"totalResults": 3, "resultsPerPage": 3}
    assert [item["id"] for item in body["items"]] == ids  # the unknown id is simply absent
    channel = fake.catalogue.channel(index)
    for item, spec in zip(body["items"], specs, strict=True):
        assert item["kind"] == "youtube#video" and ETAG.fullmatch(item["etag"])
        snippet = item["snippet"]
        assert snippet["channelId"] == channel.id and snippet["channelTitle"] == channel.title
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", snippet["publishedAt"])
        assert parse_datetime(snippet["publishedAt"]) == spec.published_at
        assert snippet.get("tags", []) == list(spec.tags)
        assert {"default", "medium", "high"} <= set(snippet["thumbnails"])
        assert parse_duration(item["contentDetails"]["duration"]) == spec.duration_s
        statistics_ = item["statistics"]
        assert all(isinstance(v, str) and v.isdigit() for v in statistics_.values())
        assert int(statistics_["viewCount"]) == spec.views
    assert fake.used == 1


def test_part_decides_what_is_rendered(client: httpx.Client, fake: FakeYouTube) -> None:
    video_id = fake.catalogue.video_id(big_channel(fake, 1), 0)
    (only_id,) = get(client, "videos", part="id", id=video_id).json()["items"]
    assert set(only_id) == {"kind", "etag", "id"}
    (stats,) = get(client, "videos", part="statistics, status", id=video_id).json()["items"]
    assert set(stats) == {"kind", "etag", "id", "statistics", "status"}
    # A part YouTube has but the fake does not render is accepted and left out.
    (player,) = get(client, "videos", part="player", id=video_id).json()["items"]
    assert set(player) == {"kind", "etag", "id"}


def test_live_streams_last_p0d_until_they_end() -> None:
    catalogue = Catalogue(seed=1)
    stream = next(v for v in uploads_of(catalogue) if v.live and v.duration_s >= 86_400)
    now = [stream.published_at + timedelta(minutes=1)]
    fake = make_fake(clock=lambda: now[0])
    with client_of(fake) as client:

        def details() -> tuple[str, str]:
            (item,) = get(client, "videos", part="snippet,contentDetails", id=stream.id).json()[
                "items"
            ]
            return item["contentDetails"]["duration"], item["snippet"]["liveBroadcastContent"]

        assert details() == ("P0D", "live")
        now[0] = stream.published_at + timedelta(seconds=stream.duration_s)
        duration, state = details()
    assert state == "none" and duration == format_duration(stream.duration_s)
    assert re.fullmatch(r"P\d+D(T(\d+H)?(\d+M)?(\d+S)?)?", duration)  # "P1DT2H", days and all


def uploads_of(catalogue: Catalogue) -> Iterator[VideoSpec]:
    for index in range(catalogue.n_channels):
        yield from catalogue.uploads(index, 0, 10_000, at=EPOCH)[1]


def test_public_subscriber_counts_keep_three_significant_figures_rounded_down() -> None:
    catalogue = Catalogue(seed=1, clock=lambda: EPOCH)
    counts = []
    for index in range(200):
        subscribers = catalogue.channel(index).subscribers
        resource = channel_resource(catalogue, index, frozenset({"statistics"}), EPOCH)
        shown = int(resource["statistics"]["subscriberCount"])
        assert shown <= subscribers < shown + 10 ** max(0, len(str(subscribers)) - 3)
        assert len(str(shown).rstrip("0") or "0") <= 3
        counts.append(subscribers)
    assert max(counts) >= 10_000  # so the rounding was put to work
