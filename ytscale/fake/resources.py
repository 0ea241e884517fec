"""The JSON resources the fake answers with, shaped like YouTube's (kinds, etags, thumbnails,
counts as strings, RFC 3339 times)."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime

from reference.youtube.parse import JsonDict, format_duration
from ytscale.fake.catalogue import Catalogue, ChannelSpec, VideoSpec


def video_resource(
    video: VideoSpec, channel: ChannelSpec, parts: frozenset[str], now: datetime
) -> JsonDict:
    live = video.is_live(now)
    item: JsonDict = {
        "kind": "youtube#video",
        "etag": _etag("video", video.id, str(live)),
        "id": video.id,
    }
    if "snippet" in parts:
        snippet: JsonDict = {
            "publishedAt": rfc3339(video.published_at),
            "channelId": channel.id,
            "title": video.title,
            "description": video.description,
            "thumbnails": _video_thumbnails(video),
            "channelTitle": channel.title,
        }
        if video.tags:  # YouTube leaves "tags" out rather than sending an empty list
            snippet["tags"] = list(video.tags)
        item["snippet"] = snippet | {
            "categoryId": video.category_id,
            "liveBroadcastContent": "live" if live else "none",
            "defaultAudioLanguage": "en",
            "localized": {"title": video.title, "description": video.description},
        }
    if "contentDetails" in parts:
        item["contentDetails"] = {
            "duration": format_duration(0 if live else video.duration_s),
            "dimension": "2d",
            "definition": "hd" if video.hd else "sd",
            "caption": "false",
            "licensedContent": False,
            "contentRating": {},
            "projection": "rectangular",
        }
    if "statistics" in parts:
        item["statistics"] = {
            "viewCount": str(video.views),
            "likeCount": str(video.likes),
            "favoriteCount": "0",
            "commentCount": str(video.comments),
        }
    if "status" in parts:
        item["status"] = {
            "uploadStatus": "processed",
            "privacyStatus": "public",
            "license": "youtube",
            "embeddable": True,
            "publicStatsViewable": True,
            "madeForKids": False,
        }
    return item


def channel_resource(
    catalogue: Catalogue, index: int, parts: frozenset[str], now: datetime
) -> JsonDict:
    channel = catalogue.channel(index)
    videos = catalogue.video_count(index, now)
    item: JsonDict = {
        "kind": "youtube#channel",
        "etag": _etag("channel", channel.id, str(videos)),
        "id": channel.id,
    }
    if "snippet" in parts:
        item["snippet"] = {
            "title": channel.title,
            "description": channel.description,
            "customUrl": channel.handle,
            "publishedAt": rfc3339(channel.created_at),
            "thumbnails": _channel_thumbnails(channel),
            "localized": {"title": channel.title, "description": channel.description},
            "country": channel.country,
        }
    if "contentDetails" in parts:
        item["contentDetails"] = {
            "relatedPlaylists": {"likes": "", "uploads": channel.uploads_playlist_id}
        }
    if "statistics" in parts:
        item["statistics"] = {
            "viewCount": str(videos * channel.subscribers * 3),
            "subscriberCount": str(_three_significant(channel.subscribers)),
            "hiddenSubscriberCount": False,
            "videoCount": str(videos),
        }
    if "status" in parts:
        item["status"] = {
            "privacyStatus": "public",
            "isLinked": True,
            "longUploadsStatus": "longUploadsUnspecified",
            "madeForKids": False,
        }
    return item


def playlist_item_resource(
    video: VideoSpec, channel: ChannelSpec, position: int, parts: frozenset[str]
) -> JsonDict:
    playlist_id = channel.uploads_playlist_id
    item_id = base64.b64encode(f"{playlist_id}.{video.id}".encode()).decode()
    item: JsonDict = {
        "kind": "youtube#playlistItem",
        "etag": _etag("playlistItem", item_id, str(position)),
        "id": item_id,
    }
    published = rfc3339(video.published_at)
    if "snippet" in parts:
        item["snippet"] = {
            "publishedAt": published,
            "channelId": channel.id,
            "title": video.title,
            "description": video.description,
            "thumbnails": _video_thumbnails(video),
            "channelTitle": channel.title,
            "playlistId": playlist_id,
            "position": position,
            "resourceId": {"kind": "youtube#video", "videoId": video.id},
            "videoOwnerChannelTitle": channel.title,
            "videoOwnerChannelId": channel.id,
        }
    if "contentDetails" in parts:
        item["contentDetails"] = {"videoId": video.id, "videoPublishedAt": published}
    if "status" in parts:
        item["status"] = {"privacyStatus": "public"}
    return item


def list_response(
    kind: str,
    items: list[JsonDict],
    total: int,
    per_page: int,
    *,
    extra: JsonDict | None = None,
    omit_empty: bool = False,
) -> JsonDict:
    body: JsonDict = {"kind": kind, "etag": _etag(kind, *(i["etag"] for i in items), str(total))}
    body |= extra or {}
    if items or not omit_empty:
        body["items"] = items
    body["pageInfo"] = {"totalResults": total, "resultsPerPage": per_page}
    return body


_VIDEO_THUMBNAILS = (
    ("default", "default", 120, 90),
    ("medium", "mqdefault", 320, 180),
    ("high", "hqdefault", 480, 360),
    ("standard", "sddefault", 640, 480),
    ("maxres", "maxresdefault", 1280, 720),
)


def _video_thumbnails(video: VideoSpec) -> JsonDict:
    sizes = _VIDEO_THUMBNAILS if video.hd else _VIDEO_THUMBNAILS[:4]
    return {
        name: {"url": f"https://i.ytimg.com/vi/{video.id}/{file}.jpg", "width": w, "height": h}
        for name, file, w, h in sizes
    }


def _channel_thumbnails(channel: ChannelSpec) -> JsonDict:
    token = channel.id[2:]
    return {
        name: {
            "url": f"https://yt3.ggpht.com/ytc/{token}=s{size}-c-k-c0x00ffffff-no-rj",
            "width": size,
            "height": size,
        }
        for name, size in (("default", 88), ("medium", 240), ("high", 800))
    }


def _three_significant(n: int) -> int:
    """YouTube rounds public subscriber counts down to three significant figures."""
    drop = max(0, len(str(n)) - 3)
    scale = int(10**drop)
    return n // scale * scale


def _etag(*parts: str) -> str:
    """27 characters of URL-safe base64, the shape of YouTube's etags."""
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=20).digest()
    return base64.urlsafe_b64encode(digest).decode()[:27]


def rfc3339(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%SZ")
