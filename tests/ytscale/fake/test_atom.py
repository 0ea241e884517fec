"""The fake's Atom documents: shaped like YouTube's, and read back by the pipeline's parser."""

import dataclasses
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from reference.youtube.atom import (
    ATOM_NS,
    FEED_ENTRIES,
    MEDIA_NS,
    TOMBSTONE_NS,
    YT_NS,
    Deleted,
    Entry,
    channel_id_of_topic,
    parse_feed,
    topic_url,
)
from ytscale.fake.atom import render_deleted, render_feed, render_notification
from ytscale.fake.catalogue import EPOCH, Catalogue, VideoSpec

CATALOGUE = Catalogue(seed=1, n_channels=5_000, clock=lambda: EPOCH)
HUB = "https://pubsubhubbub.appspot.com"
CHANNEL = "UCXuqSBlHAE6Xw-yeJA0Tunw"


def uploads(index: int) -> list[VideoSpec]:
    return CATALOGUE.uploads(index, 0, FEED_ENTRIES, EPOCH)[1]


BUSY = CATALOGUE.find_channel(FEED_ENTRIES + 5)


def children(element: ET.Element) -> list[str]:
    return [child.tag for child in element]


def attributes(parent: ET.Element, tag: str) -> dict[str, str]:
    child = parent.find(tag)
    assert child is not None, tag
    return dict(child.attrib)


def test_the_feed_is_shaped_like_youtubes() -> None:
    channel, videos = CATALOGUE.channel(BUSY), uploads(BUSY)
    document = render_feed(channel, videos)
    assert document.startswith(
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" '
        b'xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">'
    )
    root = ET.fromstring(document)
    a, yt, media = (f"{{{ns}}}" for ns in (ATOM_NS, YT_NS, MEDIA_NS))
    assert children(root) == [
        f"{a}link", f"{a}id", f"{yt}channelId", f"{a}title", f"{a}link", f"{a}author",
        f"{a}published", *[f"{a}entry"] * FEED_ENTRIES,
    ]  # fmt: skip
    assert root.findtext(f"{a}id") == f"yt:channel:{channel.id}"
    alternate = root.findall(f"{a}link")[1].attrib
    assert alternate == {
        "rel": "alternate",
        "href": f"https://www.youtube.com/channel/{channel.id}",
    }
    entry, video = root.findall(f"{a}entry")[0], videos[0]
    assert children(entry) == [
        f"{a}id", f"{yt}videoId", f"{yt}channelId", f"{a}title", f"{a}link", f"{a}author",
        f"{a}published", f"{a}updated", f"{media}group",
    ]  # fmt: skip
    group = entry.find(f"{media}group")
    assert group is not None
    assert children(group) == [
        f"{media}title", f"{media}content", f"{media}thumbnail", f"{media}description",
        f"{media}community",
    ]  # fmt: skip
    assert attributes(group, f"{media}content") == {
        "url": f"https://www.youtube.com/v/{video.id}?version=3",
        "type": "application/x-shockwave-flash",
        "width": "640",
        "height": "390",
    }
    assert attributes(group, f"{media}thumbnail") == {
        "url": f"https://i1.ytimg.com/vi/{video.id}/hqdefault.jpg",
        "width": "480",
        "height": "360",
    }
    statistics = group.find(f"{media}community/{media}statistics")
    assert statistics is not None and statistics.get("views") == str(video.views)
    assert entry.findtext(f"{a}published") == video.published_at.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def test_the_notification_is_shaped_like_the_guides() -> None:
    channel = CATALOGUE.channel(BUSY)
    video = uploads(BUSY)[0]
    updated = datetime(2025, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    document = render_notification(
        [(video, channel)], updated=updated, hub=HUB, topic=topic_url(channel.id)
    )
    root_tag = b'<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns="http://www.w3.org/2005/Atom">'
    assert root_tag in document
    root = ET.fromstring(document)
    a, yt = f"{{{ATOM_NS}}}", f"{{{YT_NS}}}"
    assert children(root) == [f"{a}link", f"{a}link", f"{a}title", f"{a}updated", f"{a}entry"]
    assert [link.attrib for link in root.findall(f"{a}link")] == [
        {"rel": "hub", "href": HUB},
        {"rel": "self", "href": topic_url(channel.id)},
    ]
    assert root.findtext(f"{a}title") == "YouTube video feed"
    assert root.findtext(f"{a}updated") == "2025-01-02T03:04:05.123456000+00:00"
    entry = root.find(f"{a}entry")
    assert entry is not None
    assert children(entry) == [
        f"{a}id", f"{yt}videoId", f"{yt}channelId", f"{a}title", f"{a}link", f"{a}author",
        f"{a}published", f"{a}updated",
    ]  # fmt: skip
    assert entry.findtext(f"{a}author/{a}name") == channel.title


def test_a_deleted_notification_round_trips() -> None:
    when = datetime(2025, 3, 1, 12, tzinfo=UTC)
    document = render_deleted(
        "VIDEO_ID", CHANNEL, when=when, topic=topic_url(CHANNEL), hub=HUB, channel_title="LTT"
    )
    assert b'<feed xmlns:at="http://purl.org/atompub/tombstones/1.0" ' in document
    root = ET.fromstring(document)
    tombstone = root.find(f"{{{TOMBSTONE_NS}}}deleted-entry")
    assert tombstone is not None and tombstone.get("ref") == "yt:video:VIDEO_ID"
    assert tombstone.findtext(f"{{{TOMBSTONE_NS}}}by/{{{ATOM_NS}}}name") == "LTT"
    feed = parse_feed(document)
    assert feed.deleted == (Deleted("VIDEO_ID", when),)
    assert channel_id_of_topic(feed.self_url or "") == CHANNEL and feed.hub_url == HUB


def test_text_is_escaped_not_formatted_in() -> None:
    channel = dataclasses.replace(CATALOGUE.channel(BUSY), title='Tom & "Jerry" <script>')
    video = dataclasses.replace(uploads(BUSY)[0], title="a < b && c > d ]]> 'end'")
    feed = parse_feed(render_feed(channel, [video]))
    assert feed.title == channel.title and feed.entries[0].title == video.title
    pushed = parse_feed(
        render_notification([(video, channel)], updated=EPOCH, hub=HUB, topic=topic_url("UC"))
    )
    assert pushed.entries[0].title == video.title


@settings(max_examples=40, deadline=None)
@given(index=st.integers(0, CATALOGUE.n_channels - 1))
def test_catalogue_feeds_round_trip(index: int) -> None:
    channel, videos = CATALOGUE.channel(index), uploads(index)
    feed = parse_feed(render_feed(channel, videos))
    assert feed.channel_id == channel.id and feed.title == channel.title
    assert feed.self_url == f"https://www.youtube.com/feeds/videos.xml?channel_id={channel.id}"
    assert feed.entries == tuple(
        Entry(v.id, channel.id, v.title, v.published_at, v.published_at) for v in videos
    )
    if videos:
        updated = EPOCH + timedelta(microseconds=index)
        topic = topic_url(channel.id)
        pushed = parse_feed(
            render_notification([(videos[0], channel)], updated=updated, hub=HUB, topic=topic)
        )
        assert pushed.entries == (
            Entry(videos[0].id, channel.id, videos[0].title, videos[0].published_at, updated),
        )
        assert (pushed.self_url, pushed.hub_url) == (topic, HUB)


def test_rendering_converts_other_offsets_to_utc() -> None:
    channel, video = CATALOGUE.channel(BUSY), uploads(BUSY)[0]
    updated = datetime(2025, 1, 1, 9, tzinfo=timezone(timedelta(hours=9)))
    document = render_notification([(video, channel)], updated=updated, hub=HUB, topic="t")
    assert b"<updated>2025-01-01T00:00:00.000000000+00:00</updated>" in document
    assert parse_feed(document).entries[0].updated_at == EPOCH
