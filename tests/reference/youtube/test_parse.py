import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.youtube.parse import (
    Channel,
    Page,
    Video,
    best_thumbnail,
    format_duration,
    parse_datetime,
    parse_duration,
)

# YouTube's own form: "P0D", or no zero component and a "T" only before a time component.
NONZERO = "[1-9][0-9]*"
YOUTUBE_FORM = re.compile(
    rf"P0D|P(?:{NONZERO}D)?(?:T(?:{NONZERO}H)?(?:{NONZERO}M)?(?:{NONZERO}S)?)?"
)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT4M13S", 253),
        ("PT1H", 3_600),
        ("PT59S", 59),
        ("P1DT2H3M4S", 93_784),
        ("P1D", 86_400),
        ("P2W", 1_209_600),
        ("P1W1DT1S", 691_201),
        ("PT36H", 129_600),  # components need not be normalised
        ("P0D", 0),  # what YouTube sends for live streams
        ("PT0S", 0),
    ],
)
def test_parse_duration(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    ["", "P", "PT", "P1DT", "1H", "T1H", "PT1.5S", "P1Y", "P1M", "pt1s", "P1D2H", "PT\u0661S"],
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@given(st.integers(min_value=0, max_value=10**9))
def test_format_parse_round_trip(seconds: int) -> None:
    text = format_duration(seconds)
    assert YOUTUBE_FORM.fullmatch(text), text
    assert parse_duration(text) == seconds


components = st.fixed_dictionaries(
    {},
    optional={unit: st.integers(min_value=0, max_value=10**6) for unit in "WDHMS"},
).filter(bool)


@given(components)
def test_parse_sums_any_components(parts: dict[str, int]) -> None:
    date = "".join(f"{parts[u]}{u}" for u in "WD" if u in parts)
    time = "".join(f"{parts[u]}{u}" for u in "HMS" if u in parts)
    text = "P" + date + (f"T{time}" if time else "")
    weights = {"W": 604_800, "D": 86_400, "H": 3_600, "M": 60, "S": 1}
    assert parse_duration(text) == sum(n * weights[u] for u, n in parts.items())


def test_format_rejects_negative() -> None:
    with pytest.raises(ValueError):
        format_duration(-1)


def test_parse_datetime() -> None:
    assert parse_datetime("2024-05-01T12:00:00Z") == datetime(2024, 5, 1, 12, tzinfo=UTC)
    plus2 = parse_datetime("2024-05-01T14:00:00+02:00")
    assert plus2.utcoffset() == timedelta(hours=2)
    assert plus2 == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert parse_datetime("2024-05-01T12:00:00").tzinfo is UTC
    assert parse_datetime("2024-05-01T12:00:00.5Z").microsecond == 500_000


def test_best_thumbnail_takes_the_largest_offered() -> None:
    sizes = {"default": {"url": "d"}, "high": {"url": "h"}, "medium": {"url": "m"}}
    assert best_thumbnail(sizes) == "h"
    assert best_thumbnail({**sizes, "maxres": {"url": "x"}}) == "x"
    assert best_thumbnail({}) is None


def video_item(**overrides: object) -> dict[str, object]:
    item: dict[str, object] = {
        "id": "dQw4w9WgXcQ",
        "snippet": {
            "title": "Never Gonna Give You Up",
            "channelId": "UCuAXFkgsw1L7xaCfnd5JJOw",
            "publishedAt": "2009-10-25T06:57:33Z",
            "tags": ["rick astley", "Never gonna give you up"],
            "thumbnails": {"default": {"url": "https://i.ytimg.com/vi/dQw4w9WgXcQ/default.jpg"}},
        },
        "contentDetails": {"duration": "PT3M33S"},
        "statistics": {"viewCount": "1234567890"},
    }
    item.update(overrides)
    return item


def test_video_from_api() -> None:
    video = Video.from_api(video_item())
    assert video == Video(
        id="dQw4w9WgXcQ",
        title="Never Gonna Give You Up",
        channel_id="UCuAXFkgsw1L7xaCfnd5JJOw",
        published_at=datetime(2009, 10, 25, 6, 57, 33, tzinfo=UTC),
        duration_s=213,
        view_count=1_234_567_890,
        tags=("rick astley", "Never gonna give you up"),
        thumbnail_url="https://i.ytimg.com/vi/dQw4w9WgXcQ/default.jpg",
    )


def test_video_parts_left_out_are_none() -> None:
    item = video_item()
    del item["contentDetails"], item["statistics"]
    del item["snippet"]["tags"]  # type: ignore[attr-defined]
    video = Video.from_api(item)
    assert (video.duration_s, video.view_count, video.tags) == (None, None, ())


@pytest.mark.parametrize(
    "bad",
    [
        {"snippet": {}},
        {"contentDetails": {"duration": "3:33"}},
        {"statistics": {"viewCount": "many"}},
    ],
)
def test_video_rejects_undocumented_shapes(bad: dict[str, object]) -> None:
    with pytest.raises((KeyError, ValueError)):
        Video.from_api(video_item(**bad))


def test_channel_from_api() -> None:
    channel = Channel.from_api(
        {
            "id": "UCHnyfMqiRRG1u-2MsSQLbXA",
            "snippet": {"title": "Veritasium", "customUrl": "@veritasium"},
            "contentDetails": {"relatedPlaylists": {"uploads": "UUHnyfMqiRRG1u-2MsSQLbXA"}},
            "statistics": {"videoCount": "412"},
        }
    )
    assert channel == Channel(
        id="UCHnyfMqiRRG1u-2MsSQLbXA",
        title="Veritasium",
        handle="@veritasium",
        uploads_playlist_id="UUHnyfMqiRRG1u-2MsSQLbXA",
        video_count=412,
    )


def test_page_from_api() -> None:
    page = Page.from_api(
        {
            "nextPageToken": "CDIQAA",
            "pageInfo": {"totalResults": 2, "resultsPerPage": 50},
            "items": [
                {
                    "contentDetails": {
                        "videoId": "a" * 11,
                        "videoPublishedAt": "2024-05-01T12:00:00Z",
                    },
                },
                {
                    "contentDetails": {"videoId": "b" * 11},
                },
            ],
        }
    )
    assert page.next_page_token == "CDIQAA" and page.total_results == 2
    assert [i.video_id for i in page.items] == ["a" * 11, "b" * 11]
    assert page.items[0].published_at == datetime(2024, 5, 1, 12, tzinfo=UTC)
    assert page.items[1].published_at is None


def test_last_page_has_no_token() -> None:
    page = Page.from_api({"items": [], "nextPageToken": ""})
    assert page == Page(items=(), next_page_token=None, total_results=None)
