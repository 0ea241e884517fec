"""Canonical YouTube video ids from any URL form a user pastes.

``watch?v=``, ``youtu.be/``, ``/shorts/``, ``/embed/``, ``/live/``, ``/v/``, on ``www.``, ``m.`` and
``music.`` hosts, with or without scheme and extra query parameters, and the bare 11-character
id, all name the same video::

    >>> canonical_video_id("https://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ&t=42")
    'dQw4w9WgXcQ'

Anything else raises :class:`InvalidVideoURL`, whose message names the input.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_YOUTUBE_HOSTS = {"youtube.com", "m.youtube.com", "music.youtube.com", "youtube-nocookie.com"}
_PATH_PREFIXES = ("shorts", "embed", "live", "v", "e")


class InvalidVideoURL(ValueError):
    """The input is not a URL of a single YouTube video."""

    def __init__(self, url: str, why: str) -> None:
        super().__init__(f"not a YouTube video URL: {url!r} ({why})")
        self.url = url
        self.why = why


def canonical_video_id(url: str) -> str:
    """Return the 11-character video id that ``url`` points at."""
    text = url.strip() if isinstance(url, str) else ""
    if not text:
        raise InvalidVideoURL(str(url), "empty")
    if len(text) > 2048:
        raise InvalidVideoURL(text[:80] + "...", "longer than 2048 characters")
    if VIDEO_ID.fullmatch(text):
        return text  # a bare id, as users copy it from a share sheet
    if "://" not in text:
        text = "https://" + text
    try:
        parts = urlsplit(text)
        host = (parts.hostname or "").lower()
    except ValueError as exc:
        raise InvalidVideoURL(url, f"unparseable: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise InvalidVideoURL(url, f"scheme {parts.scheme!r} is not http(s)")
    if host.startswith("www."):
        host = host[4:]
    segments = [s for s in parts.path.split("/") if s]
    if host == "youtu.be":
        candidate = segments[0] if segments else ""
    elif host in _YOUTUBE_HOSTS:
        if segments == ["watch"]:
            values = parse_qs(parts.query).get("v", [])
            candidate = values[0] if values else ""
        elif len(segments) >= 2 and segments[0] in _PATH_PREFIXES:
            candidate = segments[1]
        else:
            raise InvalidVideoURL(url, f"path {parts.path or '/'!r} names no single video")
    else:
        raise InvalidVideoURL(url, f"host {host or '(none)'!r} is not YouTube")
    if not VIDEO_ID.fullmatch(candidate):
        raise InvalidVideoURL(url, f"video id {candidate!r} is not 11 characters of [A-Za-z0-9_-]")
    return candidate


def watch_url(video_id: str) -> str:
    """The canonical watch URL for a video id."""
    return f"https://www.youtube.com/watch?v={video_id}"


_CHANNEL_ID = re.compile(r"UC[A-Za-z0-9_-]{22}")
_HANDLE = re.compile(r"@[A-Za-z0-9._-]{3,30}")


class InvalidChannelRef(ValueError):
    """The input names no YouTube channel."""

    def __init__(self, text: str, why: str) -> None:
        super().__init__(f"not a YouTube channel: {text!r} ({why})")
        self.text = text
        self.why = why


def channel_ref(text: str) -> tuple[str, str]:
    """``("id", "UC...")`` or ``("handle", "@name")`` for a channel id, handle or channel URL.

    >>> channel_ref("https://www.youtube.com/@SomeChannel/videos")
    ('handle', '@SomeChannel')
    """
    value = text.strip() if isinstance(text, str) else ""
    if not value:
        raise InvalidChannelRef(str(text), "empty")
    if "/" in value:
        try:
            parts = urlsplit(value if "://" in value else "https://" + value)
            host = (parts.hostname or "").lower().removeprefix("www.")
        except ValueError as exc:  # "https://[youtube.com/@a": an unclosed IPv6 bracket
            raise InvalidChannelRef(text, f"unparseable: {exc}") from None
        if host not in _YOUTUBE_HOSTS:
            raise InvalidChannelRef(text, f"host {host or '(none)'!r} is not YouTube")
        segments = [s for s in parts.path.split("/") if s]
        if len(segments) >= 2 and segments[0] == "channel":
            value = segments[1]
        elif segments and segments[0].startswith("@"):
            value = segments[0]
        else:
            raise InvalidChannelRef(text, f"path {parts.path or '/'!r} names no channel")
    if _CHANNEL_ID.fullmatch(value):
        return ("id", value)
    if _HANDLE.fullmatch(value):
        return ("handle", value)
    raise InvalidChannelRef(text, "expected a channel id (UC + 22 characters) or an @handle")
