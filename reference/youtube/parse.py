"""YouTube Data API JSON → small typed records, and ISO-8601 durations.

Parsers take one resource (an item of a list response) and raise ``KeyError``, ``TypeError`` or
``ValueError`` on a shape the API does not document; the client turns those into
``MalformedResponse``. Fields a request's ``part`` list may leave out are ``None``.

```python
parse_duration("P1DT2H3M4S")   # 93784
format_duration(93784)         # "P1DT2H3M4S"
```
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: A JSON object as read: parsers and the client only look.
Json = Mapping[str, Any]
#: A JSON object being built: the fake's response bodies, the report's results.
JsonDict = dict[str, Any]

# Weeks through seconds; years and months have no fixed length and YouTube never sends them.
# The lookaheads refuse "P", "PT" and "P1DT": at least one component, and one after any "T".
_DURATION = re.compile(
    r"P(?=[0-9]|T[0-9])(?:(?P<w>[0-9]+)W)?(?:(?P<d>[0-9]+)D)?"
    r"(?:T(?=[0-9])(?:(?P<h>[0-9]+)H)?(?:(?P<m>[0-9]+)M)?(?:(?P<s>[0-9]+)S)?)?"
)
_SECONDS = {"w": 7 * 86_400, "d": 86_400, "h": 3_600, "m": 60, "s": 1}
#: Largest first: the first size a resource has is the one the pipeline stores.
THUMBNAIL_SIZES = ("maxres", "standard", "high", "medium", "default")


def parse_duration(value: str) -> int:
    """Seconds in an ISO-8601 duration as YouTube writes them ("PT4M13S", "P1DT2H", "P0D")."""
    match = _DURATION.fullmatch(value)
    if match is None:
        raise ValueError(f"not an ISO-8601 duration of weeks to seconds: {value!r}")
    return sum(int(n) * _SECONDS[unit] for unit, n in match.groupdict().items() if n)


def format_duration(seconds: int) -> str:
    """YouTube's form of a duration: "P0D" for zero, "P#DT#H#M#S" without zero components."""
    if seconds < 0:
        raise ValueError(f"a duration cannot be negative: {seconds}")
    if seconds == 0:
        return "P0D"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    date = f"{days}D" if days else ""
    time = "".join(f"{n}{unit}" for n, unit in ((hours, "H"), (minutes, "M"), (secs, "S")) if n)
    return f"P{date}T{time}" if time else f"P{date}"


def parse_datetime(value: str) -> datetime:
    """An RFC 3339 timestamp ("2024-05-01T12:00:00Z") as an aware datetime (UTC if no offset)."""
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def best_thumbnail(thumbnails: Json) -> str | None:
    """URL of the largest thumbnail offered, or ``None`` when there is none."""
    for size in THUMBNAIL_SIZES:
        if size in thumbnails:
            url: str = thumbnails[size]["url"]
            return url
    return None


def _optional_int(value: Any) -> int | None:
    # YouTube sends counts as decimal strings ("viewCount": "1234") and omits hidden ones.
    return None if value is None else int(value)


@dataclass(frozen=True, slots=True)
class Video:
    id: str
    title: str
    channel_id: str
    published_at: datetime
    #: ``None`` without the ``contentDetails`` part.
    duration_s: int | None
    #: ``None`` without the ``statistics`` part.
    view_count: int | None
    tags: tuple[str, ...]
    thumbnail_url: str | None

    @classmethod
    def from_api(cls, item: Json) -> Video:
        """One item of a ``videos.list`` response (the ``snippet`` part is required)."""
        snippet = item["snippet"]
        details = item.get("contentDetails")
        return cls(
            id=item["id"],
            title=snippet["title"],
            channel_id=snippet["channelId"],
            published_at=parse_datetime(snippet["publishedAt"]),
            duration_s=parse_duration(details["duration"]) if details else None,
            view_count=_optional_int(item.get("statistics", {}).get("viewCount")),
            tags=tuple(snippet.get("tags", ())),
            thumbnail_url=best_thumbnail(snippet.get("thumbnails", {})),
        )


@dataclass(frozen=True, slots=True)
class Channel:
    id: str
    title: str
    #: The channel's ``@handle`` (``snippet.customUrl``), when it has one.
    handle: str | None
    #: The playlist holding every public upload: what channel import and sync page through.
    uploads_playlist_id: str | None
    #: Public videos, for planning the pages (and quota) an import will take.
    video_count: int | None

    @classmethod
    def from_api(cls, item: Json) -> Channel:
        """One item of a ``channels.list`` response with ``snippet,contentDetails,statistics``."""
        related = item.get("contentDetails", {}).get("relatedPlaylists", {})
        return cls(
            id=item["id"],
            title=item["snippet"]["title"],
            handle=item["snippet"].get("customUrl"),
            uploads_playlist_id=related.get("uploads"),
            video_count=_optional_int(item.get("statistics", {}).get("videoCount")),
        )


@dataclass(frozen=True, slots=True)
class PlaylistItem:
    video_id: str
    #: When the video was published; ``None`` for private and deleted videos.
    published_at: datetime | None

    @classmethod
    def from_api(cls, item: Json) -> PlaylistItem:
        """One item of a ``playlistItems.list`` response with ``contentDetails``."""
        details = item["contentDetails"]
        published = details.get("videoPublishedAt")
        return cls(
            video_id=details["videoId"],
            published_at=parse_datetime(published) if published else None,
        )


@dataclass(frozen=True, slots=True)
class Page:
    """One page of a playlist; ``next_page_token`` is ``None`` on the last."""

    items: tuple[PlaylistItem, ...]
    next_page_token: str | None
    total_results: int | None

    @classmethod
    def from_api(cls, body: Json) -> Page:
        return cls(
            items=tuple(PlaylistItem.from_api(item) for item in body.get("items", ())),
            next_page_token=body.get("nextPageToken") or None,
            total_results=_optional_int(body.get("pageInfo", {}).get("totalResults")),
        )
