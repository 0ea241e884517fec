from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from reference.quota import AtomicLedger
from reference.settings import Settings
from reference.youtube.client import YouTubeClient
from reference.youtube.parse import parse_datetime
from tests.ytscale.fake.helpers import Ticker, big_channel, client_of, error_of, get, make_fake
from ytscale.fake.catalogue import EPOCH, Catalogue, SimClock
from ytscale.fake.faults import FaultConfig
from ytscale.fake.youtube import QUOTA_MESSAGE, FakeConfig, FakeYouTube

# -- videos.list --------------------------------------------------------------------------------


def test_repeated_and_duplicate_ids_are_read_once(client: httpx.Client, fake: FakeYouTube) -> None:
    a, b = (fake.catalogue.video_id(big_channel(fake, 2), k) for k in (0, 1))
    response = client.get(
        "/youtube/v3/videos", params=[("part", "id"), ("id", a), ("id", f"{b},{a}")]
    )
    assert [item["id"] for item in response.json()["items"]] == [a, b]


def test_fifty_ids_is_the_limit(client: httpx.Client, fake: FakeYouTube) -> None:
    ids = [fake.catalogue.video_id(0, k) for k in range(51)]
    assert get(client, "videos", part="id", id=",".join(ids[:50])).status_code == 200
    too_many = get(client, "videos", part="id", id=",".join(ids))
    assert too_many.status_code == 400
    assert error_of(too_many)["reason"] == "invalidFilters"
    assert fake.used == 2  # invalid requests cost their unit too


# -- invalid requests ---------------------------------------------------------------------------


PLAYLIST = Catalogue(seed=1).uploads_playlist_id(0)


@pytest.mark.parametrize(
    ("resource", "params", "status", "reason", "domain"),
    [
        ("videos", {"id": "x"}, 400, "required", "global"),
        ("videos", {"part": "snippets", "id": "x"}, 400, "unknownPart", "youtube.part"),
        ("videos", {"part": "id"}, 400, "missingRequiredParameter", "youtube.parameter"),
        ("videos", {"part": "id", "id": "x", "chart": "mostPopular"}, 400,
         "incompatibleParameters", "youtube.parameter"),
        ("videos", {"part": "id", "chart": "mostPopular"}, 400, "unsupportedFilter",
         "youtube.parameter"),
        ("videos", {"part": "id", "id": "x", "maxResults": "0"}, 400, "invalidParameter",
         "global"),
        ("channels", {"part": "id", "forUsername": "x"}, 400, "unsupportedFilter",
         "youtube.parameter"),
        ("channels", {"part": "id", "id": "x", "maxResults": "51"}, 400, "invalidParameter",
         "global"),
        ("playlistItems", {"part": "id", "playlistId": PLAYLIST, "maxResults": "-1"}, 400,
         "invalidParameter", "global"),
        ("playlistItems", {"part": "id", "playlistId": PLAYLIST, "maxResults": "ten"}, 400,
         "invalidParameter", "global"),
        ("playlistItems", {"part": "id", "playlistId": PLAYLIST, "pageToken": "bogus"}, 400,
         "invalidPageToken", "youtube.parameter"),
        ("playlistItems", {"part": "id", "playlistId": "UU" + "A" * 22}, 404, "playlistNotFound",
         "youtube.playlistItem"),
        ("playlistItems", {"part": "id", "playlistId": "UC" + PLAYLIST[2:]}, 404,
         "playlistNotFound", "youtube.playlistItem"),
        ("playlistItems", {"part": "snippet,statistics", "playlistId": PLAYLIST}, 400,
         "unknownPart", "youtube.part"),
    ],
)  # fmt: skip
def test_invalid_requests_get_youtubes_envelope_and_cost_a_unit(
    client: httpx.Client,
    fake: FakeYouTube,
    resource: str,
    params: dict[str, str],
    status: int,
    reason: str,
    domain: str,
) -> None:
    response = get(client, resource, **params)
    assert response.status_code == status
    entry = error_of(response)
    assert (entry["reason"], entry["domain"]) == (reason, domain)
    assert response.json()["error"]["status"] == (
        "NOT_FOUND" if status == 404 else "INVALID_ARGUMENT"
    )
    assert fake.used == 1


def test_a_request_without_key_is_refused_and_not_charged(fake: FakeYouTube) -> None:
    with client_of(fake, key=None) as keyless:
        response = get(keyless, "videos", part="id", id="x")
    assert response.status_code == 403
    entry = error_of(response)
    assert entry == {
        "message": "The request is missing a valid API key.",
        "domain": "global",
        "reason": "forbidden",
    }
    assert fake.used == 0


def test_the_key_may_come_in_the_x_goog_api_key_header(fake: FakeYouTube) -> None:
    with client_of(fake, key=None, headers={"X-Goog-Api-Key": "test-key"}) as client:
        assert get(client, "videos", part="id", id="x").status_code == 200


def test_unknown_methods_are_404_and_not_charged(client: httpx.Client, fake: FakeYouTube) -> None:
    assert get(client, "search", part="snippet", q="x").status_code == 404
    assert client.post("/youtube/v3/videos", params={"part": "id"}).status_code == 404
    assert fake.used == 0


# -- channels.list ------------------------------------------------------------------------------


def test_channels_by_id_and_by_handle(client: httpx.Client, fake: FakeYouTube) -> None:
    index = big_channel(fake, 10)
    spec = fake.catalogue.channel(index)
    part = "snippet,contentDetails,statistics"
    by_id = get(client, "channels", part=part, id=spec.id).json()
    by_handle = get(client, "channels", part=part, forHandle=spec.handle).json()
    assert by_id == by_handle
    assert by_id["kind"] == "youtube#channelListResponse"
    assert by_id["pageInfo"] == {"totalResults": 1, "resultsPerPage": 5}
    (item,) = by_id["items"]
    assert item["kind"] == "youtube#channel" and item["id"] == spec.id
    assert item["snippet"]["customUrl"] == spec.handle
    assert item["contentDetails"]["relatedPlaylists"]["uploads"] == "UU" + spec.id[2:]
    assert item["statistics"]["videoCount"] == str(fake.catalogue.video_count(index))
    assert item["statistics"]["subscriberCount"].isdigit()
    handle_without_at = get(client, "channels", part="id", forHandle=spec.handle[1:]).json()
    assert handle_without_at["items"][0]["id"] == spec.id


def test_unknown_channels_are_absent_and_items_left_out(
    client: httpx.Client, fake: FakeYouTube
) -> None:
    nobody = get(client, "channels", part="id", forHandle="@nobody").json()
    assert "items" not in nobody and nobody["pageInfo"]["totalResults"] == 0
    known = fake.catalogue.channel_id(3)
    uploads = fake.catalogue.uploads_playlist_id(4)  # a playlist id is not a channel id
    some = get(client, "channels", part="id", id=f"{known},{uploads},UC_x5XG1OV2P6uZZ5FSM9Ttw")
    assert [item["id"] for item in some.json()["items"]] == [known]


# -- playlistItems.list -------------------------------------------------------------------------


def walk(client: httpx.Client, playlist_id: str, max_results: int = 50) -> list[dict[str, Any]]:
    pages, token = [], None
    while True:
        params = {"part": "snippet,contentDetails", "playlistId": playlist_id}
        params["maxResults"] = str(max_results)
        if token:
            params["pageToken"] = token
        page = get(client, "playlistItems", **params).json()
        pages.append(page)
        token = page.get("nextPageToken")
        if token is None:
            return pages


def test_a_thousand_video_channel_pages_through_completely(
    client: httpx.Client, fake: FakeYouTube
) -> None:
    index = big_channel(fake)
    playlist = fake.catalogue.uploads_playlist_id(index)
    total = fake.catalogue.video_count(index)
    pages = walk(client, playlist)
    items = [item for page in pages for item in page["items"]]
    assert len(pages) == -(-total // 50) and fake.used == len(pages)
    assert all(page["pageInfo"] == {"totalResults": total, "resultsPerPage": 50} for page in pages)
    assert "prevPageToken" not in pages[0] and all("prevPageToken" in p for p in pages[1:])
    ids = [item["contentDetails"]["videoId"] for item in items]
    assert len(ids) == len(set(ids)) == total
    assert [item["snippet"]["position"] for item in items] == list(range(total))
    published = [parse_datetime(item["contentDetails"]["videoPublishedAt"]) for item in items]
    assert published == sorted(published, reverse=True)  # newest first
    assert items[0]["kind"] == "youtube#playlistItem"
    assert items[0]["snippet"]["resourceId"] == {"kind": "youtube#video", "videoId": ids[0]}


def test_page_size_defaults_to_five_and_may_be_zero(
    client: httpx.Client, fake: FakeYouTube
) -> None:
    index = big_channel(fake, 20)
    playlist = fake.catalogue.uploads_playlist_id(index)
    default = get(client, "playlistItems", part="id", playlistId=playlist).json()
    assert len(default["items"]) == 5 and default["pageInfo"]["resultsPerPage"] == 5
    empty = get(client, "playlistItems", part="id", playlistId=playlist, maxResults=0).json()
    assert empty["items"] == [] and "nextPageToken" not in empty
    assert empty["pageInfo"]["totalResults"] == fake.catalogue.video_count(index)


def test_an_empty_channel_has_an_empty_playlist(client: httpx.Client, fake: FakeYouTube) -> None:
    index = next(i for i in range(10_000) if fake.catalogue.channel(i).spacing_s is None)
    page = get(
        client, "playlistItems", part="id", playlistId=fake.catalogue.uploads_playlist_id(index)
    ).json()
    assert page["items"] == [] and page["pageInfo"]["totalResults"] == 0


def test_a_later_sync_finds_the_uploads_published_since() -> None:
    fake = FakeYouTube(FakeConfig(seed=1), monotonic=Ticker())
    with client_of(fake) as client:
        index = big_channel(fake, 300)
        playlist = fake.catalogue.uploads_playlist_id(index)

        def first_page() -> list[str]:
            page = get(client, "playlistItems", part="contentDetails", playlistId=playlist)
            return [item["contentDetails"]["videoId"] for item in page.json()["items"]]

        before = first_page()
        assert client.post("/_fake/advance", params={"seconds": 90 * 86_400}).status_code == 200
        after = first_page()
    assert before[0] not in after[:1] and after != before
    new = fake.catalogue.video_count(index) - fake.catalogue.video_count(index, EPOCH)
    assert new > 0 and after[min(new, 5) :] == before[: 5 - min(new, 5)]


# -- what is charged ----------------------------------------------------------------------------


def test_quota_exceeded_answers_exactly_like_youtube() -> None:
    fake = make_fake(FakeConfig(seed=1, daily_quota=3))
    with client_of(fake) as client:
        statuses = [get(client, "videos", part="id", id="x").status_code for _ in range(5)]
        refused = get(client, "videos", part="id", id="x")
    assert statuses == [200, 200, 200, 403, 403]
    assert refused.json() == {
        "error": {
            "code": 403,
            "message": QUOTA_MESSAGE,
            "errors": [{"message": QUOTA_MESSAGE, "domain": "youtube.quota",
                        "reason": "quotaExceeded"}],
            "status": "PERMISSION_DENIED",
        }
    }  # fmt: skip
    assert "exceeded your <a href=" in QUOTA_MESSAGE and QUOTA_MESSAGE.endswith("quota</a>.")
    assert fake.used == 3 and fake.stats()["outcomes"] == {"ok": 3, "quotaExceeded": 3}


@pytest.mark.parametrize(
    ("faults", "reason", "domain", "once_spent"),
    [
        (FaultConfig(rate_limit=1.0), "rateLimitExceeded", "usageLimits", "quotaExceeded"),
        (FaultConfig(server_error=1.0), "backendError", "global", "backendError"),
    ],
)
def test_injected_errors_are_charged_while_the_budget_lasts(
    faults: FaultConfig, reason: str, domain: str, once_spent: str
) -> None:
    fake = make_fake(FakeConfig(seed=1, daily_quota=15, faults=faults))
    with client_of(fake) as client:
        responses = [get(client, "videos", part="id", id="x") for _ in range(20)]
        with client_of(fake, key=None) as keyless:
            assert error_of(get(keyless, "videos", part="id", id="x"))["reason"] == "forbidden"
    errors = [(error_of(r)["reason"], error_of(r)["domain"]) for r in responses]
    assert set(errors[:15]) == {(reason, domain)}
    assert {reason for reason, _ in errors[15:]} == {once_spent}
    assert fake.used == 15 and fake.stats()["charged_calls"] == {"videos.list": 15}


def test_dropped_connections_raise_and_are_not_charged() -> None:
    fake = make_fake(FakeConfig(seed=1, faults=FaultConfig(drop=1.0)))
    with client_of(fake) as client, pytest.raises(httpx.RemoteProtocolError):
        get(client, "videos", part="id", id="x")
    assert fake.used == 0 and fake.stats()["outcomes"] == {"dropped": 1}


def test_a_storm_forces_quota_exceeded_for_n_requests(
    client: httpx.Client, fake: FakeYouTube
) -> None:
    assert client.post("/_fake/storm", params={"requests": 3}).json()["storming"] is True
    responses = [get(client, "videos", part="id", id="x") for _ in range(4)]
    assert [r.status_code for r in responses] == [403, 403, 403, 200]
    assert {error_of(r)["reason"] for r in responses[:3]} == {"quotaExceeded"}
    assert fake.used == 1


# -- admin and clock ----------------------------------------------------------------------------


def test_admin_endpoints_are_free(client: httpx.Client, fake: FakeYouTube) -> None:
    get(client, "videos", part="id", id="x")
    stats = client.get("/_fake/stats").json()
    assert (stats["used"], stats["budget"], stats["remaining"]) == (1, 10_000, 9_999)
    assert stats["requests"] == 1 and stats["charged_calls"] == {"videos.list": 1}
    assert client.post("/_fake/reset").json()["used"] == 0
    assert client.get("/_fake/reset").status_code == 405
    assert client.post("/_fake/nothing").status_code == 404
    assert client.post("/_fake/storm", params={"requests": "many"}).status_code == 400
    # This fake's clock was injected (frozen): only a SimClock can be advanced.
    assert client.post("/_fake/advance", params={"seconds": 1}).status_code == 400
    assert fake.used == 0


def test_the_simulated_clock_starts_where_configured() -> None:
    ticker = Ticker()
    start = datetime(2025, 6, 1, tzinfo=UTC)
    fake = FakeYouTube(FakeConfig(start=start, time_scale=60.0), monotonic=ticker)
    ticker.now = 60.0
    assert isinstance(fake.clock, SimClock) and fake.clock() == start + timedelta(hours=1)


# -- with the pipeline's own client -------------------------------------------------------------


def test_our_client_and_ledger_agree_with_the_fakes_count(redis_url: str, key_prefix: str) -> None:
    """5xx, rate limits and read timeouts are charged on both sides: the counts match exactly."""
    faults = FaultConfig(seed=5, rate_limit=0.1, server_error=0.1, slow=0.1, slow_s=60.0)
    fake = make_fake(FakeConfig(seed=1, faults=faults))
    ledger = AtomicLedger.from_settings(Settings(redis_url=redis_url), prefix=key_prefix)
    index = big_channel(fake)
    transport = fake.transport(sleep=lambda _: None)  # timeouts fire without waiting them out
    with YouTubeClient(
        "fake://youtube", "k", ledger, transport=transport, sleep=lambda _: None
    ) as youtube:
        channel = youtube.channel(handle=fake.catalogue.channel(index).handle)
        assert channel is not None and channel.uploads_playlist_id
        pages = list(youtube.playlist_pages(channel.uploads_playlist_id))
        videos = youtube.videos(item.video_id for page in pages for item in page.items)
    assert len(videos) == channel.video_count == fake.catalogue.video_count(index)
    outcomes = fake.stats()["outcomes"]
    assert outcomes["rateLimitExceeded"] and outcomes["serverError"]
    # Answers the client timed out on were processed (and charged) all the same: more "ok"s
    # than the calls the client completed.
    assert outcomes["ok"] > 1 + len(pages) + -(-len(videos) // 50)
    assert ledger.used() == fake.used
