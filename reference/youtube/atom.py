"""YouTube's Atom documents: the public channel feed and WebSub push notifications.

The feed at ``https://www.youtube.com/feeds/videos.xml?channel_id=UC…`` lists a channel's latest
:data:`FEED_ENTRIES` uploads, costs no Data API quota, and is what a poller reads; the hub pushes
the same kind of entry to subscribers of :func:`topic_url` (``ytscale.fake.hub``)::

    feed = parse_feed(response.content)      # AtomError on anything that is not a video feed
    [entry.video_id for entry in feed.entries]   # newest first in the channel feed
    feed.deleted                             # tombstones, from a deleted-entry notification
    channel_id_of_topic(feed.self_url or "") # which channel a push notification is about

Parsing goes through ``defusedxml`` (network input: no DTDs, no entity expansion) and matches
elements by namespace URI, so a document with other prefixes parses the same. Rendering them is
the fake's job (``ytscale.fake.atom``).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final
from urllib.parse import parse_qsl, urlsplit

import defusedxml
import defusedxml.ElementTree

__all__ = [
    "ATOM_NS",
    "FEED_ENTRIES",
    "MEDIA_NS",
    "TOMBSTONE_NS",
    "YT_NS",
    "AtomError",
    "Deleted",
    "Entry",
    "Feed",
    "channel_id_of_topic",
    "parse_feed",
    "topic_url",
]

ATOM_NS: Final = "http://www.w3.org/2005/Atom"
YT_NS: Final = "http://www.youtube.com/xml/schemas/2015"
MEDIA_NS: Final = "http://search.yahoo.com/mrss/"
TOMBSTONE_NS: Final = "http://purl.org/atompub/tombstones/1.0"
#: The public channel feed lists the latest 15 uploads.
FEED_ENTRIES: Final = 15

#: The host YouTube names in its documents and topics.
YOUTUBE: Final = "https://www.youtube.com"
# RFC 3339 with any number of fraction digits: YouTube sends nine, fromisoformat takes six.
_TIMESTAMP = re.compile(
    r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)", re.IGNORECASE
)
# Both paths work as topics: the guide's "/xml/feeds/…" and, in its newer wording, the feed's own.
_TOPIC_PATHS = ("/xml/feeds/videos.xml", "/feeds/videos.xml")


class AtomError(ValueError):
    """Not a YouTube video feed: malformed or refused XML, a missing element, a bad date."""


@dataclass(frozen=True, slots=True)
class Entry:
    video_id: str
    channel_id: str
    title: str
    #: Aware, UTC.
    published_at: datetime
    #: Aware, UTC; YouTube moves it on every title or description change.
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Deleted:
    video_id: str
    deleted_at: datetime


@dataclass(frozen=True, slots=True)
class Feed:
    #: The feed-level ``yt:channelId``: in the channel feed, not in push notifications.
    channel_id: str | None
    title: str
    #: Document order: newest first in the channel feed.
    entries: tuple[Entry, ...]
    deleted: tuple[Deleted, ...]
    self_url: str | None
    hub_url: str | None


# -- parsing ------------------------------------------------------------------------------------


def parse_feed(data: bytes | str) -> Feed:
    """A channel feed or push notification; :class:`AtomError` naming what is wrong otherwise."""
    try:
        root = defusedxml.ElementTree.fromstring(data, forbid_dtd=True)
    except defusedxml.DefusedXmlException as exc:
        raise AtomError(f"refused XML ({type(exc).__name__}): {exc}") from exc
    except ET.ParseError as exc:
        raise AtomError(f"malformed XML: {exc}") from exc
    if root.tag != _atom("feed"):
        raise AtomError(f"the root is {root.tag!r}, not an Atom <feed>")
    links = {link.get("rel"): link.get("href") for link in root.findall(_atom("link"))}
    return Feed(
        channel_id=_text(root, _yt("channelId")),
        title=_text(root, _atom("title")) or "",
        entries=tuple(_entry(element) for element in root.findall(_atom("entry"))),
        deleted=tuple(_deleted(element) for element in root.findall(_tomb("deleted-entry"))),
        self_url=links.get("self"),
        hub_url=links.get("hub"),
    )


def _entry(element: ET.Element) -> Entry:
    video_id = _text(element, _yt("videoId"))
    if not video_id:
        raise AtomError(f"an entry has no <yt:videoId> (id {_text(element, _atom('id'))!r})")
    channel_id = _text(element, _yt("channelId"))
    if not channel_id:
        raise AtomError(f"entry {video_id} has no <yt:channelId>")
    return Entry(
        video_id=video_id,
        channel_id=channel_id,
        title=_text(element, _atom("title")) or "",
        published_at=_required_date(element, "published", video_id),
        updated_at=_required_date(element, "updated", video_id),
    )


def _deleted(element: ET.Element) -> Deleted:
    ref = element.get("ref", "")
    if not ref.startswith("yt:video:") or ref == "yt:video:":
        raise AtomError(f"a deleted-entry refers to {ref!r}, not to a yt:video:ID")
    when = element.get("when")
    if when is None:
        raise AtomError(f"the deleted-entry of {ref} has no 'when'")
    return Deleted(video_id=ref.removeprefix("yt:video:"), deleted_at=_date(when))


def _required_date(element: ET.Element, name: str, video_id: str) -> datetime:
    text = _text(element, _atom(name))
    if text is None:
        raise AtomError(f"entry {video_id} has no <{name}>")
    return _date(text)


def _date(text: str) -> datetime:
    match = _TIMESTAMP.fullmatch(text.strip())
    if match is None:
        raise AtomError(f"bad date {text!r}: expected RFC 3339 with an offset")
    whole, fraction, offset = match.groups()
    micro = f".{fraction[:6]}" if fraction else ""
    zone = "+00:00" if offset.upper() == "Z" else offset
    try:
        return datetime.fromisoformat(f"{whole}{micro}{zone}").astimezone(UTC)
    except ValueError as exc:
        raise AtomError(f"bad date {text!r}: {exc}") from exc


def _text(parent: ET.Element, tag: str) -> str | None:
    child = parent.find(tag)
    return None if child is None else (child.text or "").strip()


def _atom(name: str) -> str:
    return f"{{{ATOM_NS}}}{name}"


def _yt(name: str) -> str:
    return f"{{{YT_NS}}}{name}"


def _tomb(name: str) -> str:
    return f"{{{TOMBSTONE_NS}}}{name}"


# -- topics -------------------------------------------------------------------------------------


def topic_url(channel_id: str, base: str = YOUTUBE) -> str:
    """The WebSub topic YouTube documents for a channel's uploads."""
    return f"{base}/xml/feeds/videos.xml?channel_id={channel_id}"


def channel_id_of_topic(topic: str) -> str | None:
    """The ``channel_id`` of a topic URL (any http(s) host), ``None`` if ``topic`` is not one."""
    try:
        parts = urlsplit(topic)
    except ValueError:  # "http://[...": an unclosed IPv6 bracket
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.fragment:
        return None
    if parts.path not in _TOPIC_PATHS:
        return None
    query = parse_qsl(parts.query, keep_blank_values=True)
    if len(query) != 1 or query[0][0] != "channel_id" or not query[0][1]:
        return None
    return query[0][1]
