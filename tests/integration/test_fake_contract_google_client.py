"""The fake, served by uvicorn on loopback, read by Google's own client and checked against the
schemas of the discovery document that client ships."""

import json
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from importlib.resources import files
from typing import Any

import httplib2
import httpx
import jsonschema
import pytest
import uvicorn
from googleapiclient.discovery import Resource, build_from_document
from googleapiclient.errors import HttpError

from reference.youtube.parse import Channel, Page, Video
from ytscale.fake.app import FakeApp
from ytscale.fake.catalogue import EPOCH
from ytscale.fake.youtube import QUOTA_MESSAGE, FakeConfig, FakeYouTube

#: Fields the fake must always send when their object is present (the document marks none).
REQUIRED = {
    "VideoListResponse": ["kind", "etag", "items", "pageInfo"],
    "ChannelListResponse": ["kind", "etag", "pageInfo"],
    "PlaylistItemListResponse": ["kind", "etag", "items", "pageInfo"],
    "PageInfo": ["totalResults", "resultsPerPage"],
    "Video": ["kind", "etag", "id"],
    "VideoSnippet": ["publishedAt", "channelId", "title", "description", "thumbnails",
                     "channelTitle", "categoryId", "liveBroadcastContent"],
    "VideoContentDetails": ["duration", "dimension", "definition", "caption", "projection"],
    "VideoStatistics": ["viewCount", "likeCount", "commentCount"],
    "Channel": ["kind", "etag", "id"],
    "ChannelSnippet": ["title", "description", "customUrl", "publishedAt", "thumbnails"],
    "ChannelContentDetails": ["relatedPlaylists"],
    "ChannelStatistics": ["viewCount", "subscriberCount", "hiddenSubscriberCount", "videoCount"],
    "PlaylistItem": ["kind", "etag", "id"],
    "PlaylistItemSnippet": ["publishedAt", "channelId", "title", "thumbnails", "playlistId",
                            "position", "resourceId"],
    "PlaylistItemContentDetails": ["videoId", "videoPublishedAt"],
    "Thumbnail": ["url", "width", "height"],
}  # fmt: skip
_INTEGER_STRINGS = {"int64": r"^-?[0-9]+$", "uint64": r"^[0-9]+$"}


@cache
def discovery() -> dict[str, Any]:
    path = files("googleapiclient") / "discovery_cache" / "documents" / "youtube.v3.json"
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def to_json_schema(node: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    """One discovery schema as JSON Schema: closed objects, ``kind`` pinned, counts as digits."""
    if "$ref" in node:
        return {"$ref": f"#/definitions/{node['$ref']}"}
    schema: dict[str, Any] = {}
    kind, fmt = node.get("type"), node.get("format")
    if kind and kind != "any":
        schema["type"] = kind
    if kind == "string" and fmt in _INTEGER_STRINGS:
        schema["pattern"] = _INTEGER_STRINGS[fmt]
    if kind == "integer" and fmt and fmt.startswith("uint"):
        schema["minimum"] = 0
    if fmt == "date-time":
        schema["format"] = "date-time"
    if "enum" in node:
        schema["enum"] = node["enum"]
    if "items" in node:
        schema["items"] = to_json_schema(node["items"])
    if "properties" in node:
        properties = {k: to_json_schema(v) for k, v in node["properties"].items()}
        kind_default = node["properties"].get("kind", {}).get("default")
        if kind_default:
            properties["kind"] = {"const": kind_default}
        # Closed: a field the real API does not have is a bug in the fake.
        schema |= {"properties": properties, "additionalProperties": False}
        schema["required"] = REQUIRED.get(name or "", [])
    elif "additionalProperties" in node:
        schema["additionalProperties"] = to_json_schema(node["additionalProperties"])
    return schema


@cache
def validator(name: str) -> jsonschema.Draft7Validator:
    definitions = {n: to_json_schema(s, n) for n, s in discovery()["schemas"].items()}
    schema = {"$ref": f"#/definitions/{name}", "definitions": definitions}
    jsonschema.Draft7Validator.check_schema(schema)
    return jsonschema.Draft7Validator(schema, format_checker=jsonschema.FormatChecker())


def assert_valid(name: str, body: dict[str, Any]) -> None:
    errors = sorted(validator(name).iter_errors(body), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:5])


@contextmanager
def serving(config: uvicorn.Config) -> Iterator[str]:
    """Run ``config`` under uvicorn in a thread on a free loopback port; yield its base URL."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@pytest.fixture(scope="module")
def fake() -> FakeYouTube:
    # Frozen simulated time: no upload lands between two pages of a walk.
    return FakeYouTube(FakeConfig(seed=2), clock=lambda: EPOCH)


@pytest.fixture(scope="module")
def base_url(fake: FakeYouTube) -> Iterator[str]:
    config = uvicorn.Config(FakeApp(fake), log_level="warning", lifespan="on")
    with serving(config) as url:
        yield url


@pytest.fixture(scope="module")
def youtube(base_url: str) -> Resource:
    return build_from_document(
        discovery(),
        developerKey="contract-test-key",
        http=httplib2.Http(timeout=10, proxy_info=None),
        client_options={"api_endpoint": base_url},
    )


def test_the_validator_is_strict() -> None:
    """The checks below can fail: the converted schemas refuse what the real API never sends."""
    assert "date-time" in jsonschema.FormatChecker().checkers
    good = {"kind": "youtube#videoListResponse", "etag": "e", "items": [], "pageInfo": {}}
    assert_valid("VideoListResponse", good | {"pageInfo": {"totalResults": 0, "resultsPerPage": 0}})
    bad_bodies = [
        good | {"kind": "youtube#video"},
        good | {"items": [{"kind": "youtube#video", "etag": "e", "id": "x", "invented": 1}]},
        good | {"items": [{"kind": "youtube#video", "etag": "e", "id": "x",
                           "statistics": {"viewCount": 12}}]},
        good | {"items": [{"kind": "youtube#video", "etag": "e", "id": "x",
                           "snippet": {"publishedAt": "yesterday"}}]},
        {"kind": "youtube#videoListResponse", "items": []},
    ]  # fmt: skip
    for body in bad_bodies:
        assert list(validator("VideoListResponse").iter_errors(body)), body


def test_videos_list(youtube: Resource, fake: FakeYouTube) -> None:
    index = fake.catalogue.find_channel(60)
    ids = [v.id for v in fake.catalogue.uploads(index, 0, 50)[1]]
    body = (
        youtube.videos()
        .list(part="snippet,contentDetails,statistics,status", id=[*ids[:49], "dQw4w9WgXcQ"])
        .execute()
    )
    assert_valid("VideoListResponse", body)
    assert [item["id"] for item in body["items"]] == ids[:49]
    assert [Video.from_api(item).id for item in body["items"]] == ids[:49]


def test_channels_list(youtube: Resource, fake: FakeYouTube) -> None:
    spec = fake.catalogue.channel(fake.catalogue.find_channel(10))
    part = "snippet,contentDetails,statistics,status"
    by_handle = youtube.channels().list(part=part, forHandle=spec.handle).execute()
    by_id = youtube.channels().list(part=part, id=spec.id).execute()
    none = youtube.channels().list(part=part, forHandle="@nobody-at-all").execute()
    for body in (by_handle, by_id, none):
        assert_valid("ChannelListResponse", body)
    assert by_handle == by_id and "items" not in none
    channel = Channel.from_api(by_id["items"][0])
    assert (channel.id, channel.handle) == (spec.id, spec.handle)
    assert channel.uploads_playlist_id == spec.uploads_playlist_id


def test_playlist_items_list_pages(youtube: Resource, fake: FakeYouTube) -> None:
    index = fake.catalogue.find_channel(120)
    request = youtube.playlistItems().list(
        part="id,snippet,contentDetails,status",
        playlistId=fake.catalogue.uploads_playlist_id(index),
        maxResults=50,
    )
    video_ids: list[str] = []
    while request is not None:
        body = request.execute()
        assert_valid("PlaylistItemListResponse", body)
        video_ids += [item.video_id for item in Page.from_api(body).items]
        request = youtube.playlistItems().list_next(request, body)
    expected = [v.id for v in fake.catalogue.uploads(index, 0, 10_000)[1]]
    assert video_ids == expected


def test_errors_reach_the_official_client(
    youtube: Resource, fake: FakeYouTube, base_url: str
) -> None:
    with pytest.raises(HttpError) as not_found:
        youtube.playlistItems().list(part="id", playlistId="UU" + "A" * 22).execute()
    assert not_found.value.status_code == 404
    assert not_found.value.error_details[0]["reason"] == "playlistNotFound"

    with pytest.raises(HttpError) as too_many:
        youtube.videos().list(part="id", id=[f"{n:011d}" for n in range(51)]).execute()
    assert too_many.value.status_code == 400

    httpx.post(f"{base_url}_fake/storm", params={"requests": 1}).raise_for_status()
    with pytest.raises(HttpError) as quota:
        youtube.videos().list(part="id", id="x").execute()
    assert quota.value.status_code == 403 and quota.value.reason == QUOTA_MESSAGE
    assert quota.value.error_details[0]["reason"] == "quotaExceeded"
    assert quota.value.error_details[0]["domain"] == "youtube.quota"


def test_the_factory_under_uvicorn_drops_connections_for_real(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YTSCALE_FAKE_ARGS", "--seed 1 --drop 0.5 --fault-seed 3")
    config = uvicorn.Config(
        "ytscale.fake.app:create_app", factory=True, log_level="warning", lifespan="on"
    )
    outcomes = []
    with serving(config) as url, httpx.Client(base_url=url, params={"key": "k"}) as client:
        for _ in range(30):
            try:
                response = client.get("/youtube/v3/videos", params={"part": "id", "id": "x"})
                outcomes.append(str(response.status_code))
            except httpx.RemoteProtocolError:
                outcomes.append("dropped")
        stats = client.get("/_fake/stats").json()
    assert set(outcomes) == {"200", "dropped"}
    assert stats["outcomes"] == {"ok": outcomes.count("200"), "dropped": outcomes.count("dropped")}
    assert stats["used"] == outcomes.count("200")
