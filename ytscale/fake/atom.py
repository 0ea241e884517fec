"""YouTube's Atom documents as the fake serves them: the channel feed and WebSub notifications.

Built with ElementTree (text is escaped) under YouTube's own prefixes, in YouTube's order; the
pipeline's parser (``reference.youtube.atom``) reads them back.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from datetime import UTC, datetime

from reference.youtube.atom import ATOM_NS, MEDIA_NS, TOMBSTONE_NS, YOUTUBE, YT_NS
from ytscale.fake.catalogue import ChannelSpec, VideoSpec

__all__ = ["render_deleted", "render_feed", "render_notification"]

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def render_feed(channel: ChannelSpec, videos: Sequence[VideoSpec], *, base: str = YOUTUBE) -> bytes:
    """The public channel feed listing ``videos`` (pass them newest first, as YouTube lists)."""
    root = ET.Element("feed", {"xmlns:yt": YT_NS, "xmlns:media": MEDIA_NS, "xmlns": ATOM_NS})
    _link(root, "self", f"{base}/feeds/videos.xml?channel_id={channel.id}")
    _sub(root, "id", f"yt:channel:{channel.id}")
    _sub(root, "yt:channelId", channel.id)
    _sub(root, "title", channel.title)
    _link(root, "alternate", f"{base}/channel/{channel.id}")
    _author(root, channel, base)
    _sub(root, "published", _seconds(channel.created_at))
    for video in videos:
        entry = _entry_element(root, video, channel, _seconds(video.published_at), base)
        group = ET.SubElement(entry, "media:group")
        _sub(group, "media:title", video.title)
        ET.SubElement(
            group,
            "media:content",
            {
                "url": f"{base}/v/{video.id}?version=3",
                "type": "application/x-shockwave-flash",
                "width": "640",
                "height": "390",
            },
        )
        ET.SubElement(
            group,
            "media:thumbnail",
            {
                "url": f"https://i1.ytimg.com/vi/{video.id}/hqdefault.jpg",
                "width": "480",
                "height": "360",
            },
        )
        _sub(group, "media:description", video.description)
        community = ET.SubElement(group, "media:community")
        rating = {"count": str(video.likes), "average": "5.00", "min": "1", "max": "5"}
        ET.SubElement(community, "media:starRating", rating)
        ET.SubElement(community, "media:statistics", {"views": str(video.views)})
    return _document(root)


def render_notification(
    entries: Sequence[tuple[VideoSpec, ChannelSpec]], *, updated: datetime, hub: str, topic: str
) -> bytes:
    """A push notification: new or changed videos, each entry ``updated`` at that instant."""
    root = ET.Element("feed", {"xmlns:yt": YT_NS, "xmlns": ATOM_NS})
    _link(root, "hub", hub)
    _link(root, "self", topic)
    _sub(root, "title", "YouTube video feed")
    _sub(root, "updated", _nanoseconds(updated))
    for video, channel in entries:
        _entry_element(root, video, channel, _nanoseconds(updated), YOUTUBE)
    return _document(root)


def render_deleted(
    video_id: str,
    channel_id: str,
    *,
    when: datetime,
    topic: str,
    hub: str,
    channel_title: str = "",
) -> bytes:
    """A deleted-entry notification (RFC 6721 tombstone) for ``video_id``."""
    root = ET.Element("feed", {"xmlns:at": TOMBSTONE_NS, "xmlns": ATOM_NS})
    # Google's guide shows no links here; they are kept so a subscriber can tell the topic.
    _link(root, "hub", hub)
    _link(root, "self", topic)
    tombstone = ET.SubElement(
        root, "at:deleted-entry", {"ref": f"yt:video:{video_id}", "when": _nanoseconds(when)}
    )
    ET.SubElement(tombstone, "link", {"href": f"{YOUTUBE}/watch?v={video_id}"})
    by = ET.SubElement(tombstone, "at:by")
    _sub(by, "name", channel_title)
    _sub(by, "uri", f"{YOUTUBE}/channel/{channel_id}")
    return _document(root)


def _entry_element(
    root: ET.Element, video: VideoSpec, channel: ChannelSpec, updated: str, base: str
) -> ET.Element:
    entry = ET.SubElement(root, "entry")
    _sub(entry, "id", f"yt:video:{video.id}")
    _sub(entry, "yt:videoId", video.id)
    _sub(entry, "yt:channelId", channel.id)
    _sub(entry, "title", video.title)
    _link(entry, "alternate", f"{base}/watch?v={video.id}")
    _author(entry, channel, base)
    _sub(entry, "published", _seconds(video.published_at))
    _sub(entry, "updated", updated)
    return entry


def _author(parent: ET.Element, channel: ChannelSpec, base: str) -> None:
    author = ET.SubElement(parent, "author")
    _sub(author, "name", channel.title)
    _sub(author, "uri", f"{base}/channel/{channel.id}")


def _sub(parent: ET.Element, tag: str, text: str) -> None:
    ET.SubElement(parent, tag).text = text


def _link(parent: ET.Element, rel: str, href: str) -> None:
    ET.SubElement(parent, "link", {"rel": rel, "href": href})


def _document(root: ET.Element) -> bytes:
    # Prefixed tag names written as they are: YouTube's prefixes, without ElementTree's global
    # namespace registry.
    ET.indent(root, space=" ")
    body: bytes = ET.tostring(root, encoding="utf-8")
    return _DECLARATION + body + b"\n"


def _seconds(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _nanoseconds(instant: datetime) -> str:
    """YouTube's nine fraction digits (the last three are always zero here)."""
    utc = instant.astimezone(UTC)
    return f"{utc:%Y-%m-%dT%H:%M:%S}.{utc.microsecond:06d}000+00:00"
