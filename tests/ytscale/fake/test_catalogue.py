import random
import re
import statistics
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.ytscale.fake.helpers import Ticker
from ytscale.fake.catalogue import (
    CATEGORY_WORDS,
    EPOCH,
    FILLER_WORDS,
    MAX_CHANNELS,
    MAX_VIDEOS_PER_CHANNEL,
    TAG_WORDS,
    TOOL_WORDS,
    Catalogue,
    SimClock,
    VideoSpec,
)

CHANNEL_ID = re.compile(r"UC[A-Za-z0-9_-]{21}[AQgw]")
VIDEO_ID = re.compile(r"[A-Za-z0-9_-]{10}[AEIMQUYcgkosw048]")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue(seed=1, clock=lambda: EPOCH)


def test_ids_have_youtubes_shapes(catalogue: Catalogue) -> None:
    for index in (0, 1, 42, catalogue.n_channels - 1):
        channel = catalogue.channel(index)
        assert CHANNEL_ID.fullmatch(channel.id)
        assert channel.uploads_playlist_id == "UU" + channel.id[2:]
        assert channel.handle == f"@chan{index}"
        assert VIDEO_ID.fullmatch(catalogue.video_id(index, 0))


def test_same_seed_same_catalogue_other_seed_other_ids() -> None:
    one, again, other = Catalogue(seed=5), Catalogue(seed=5), Catalogue(seed=6)
    assert one.channel(77) == again.channel(77)
    assert one.video(77, 3) == again.video(77, 3)
    assert one.channel_id(77) != other.channel_id(77)
    assert other.locate_channel(one.channel_id(77)) is None


def test_channel_ids_round_trip_and_are_distinct(catalogue: Catalogue) -> None:
    indices = [*range(0, 2_000), catalogue.n_channels - 1]
    ids = [catalogue.channel_id(i) for i in indices]
    assert len(set(ids)) == len(ids)
    assert [catalogue.locate_channel(i) for i in ids] == indices
    assert catalogue.locate_channel(catalogue.uploads_playlist_id(9)) == 9


def test_foreign_or_malformed_channel_ids_are_unknown(catalogue: Catalogue) -> None:
    real_world = "UC_x5XG1OV2P6uZZ5FSM9Ttw"  # Google for Developers
    own = catalogue.channel_id(3)
    tampered = own[:-2] + ("B" if own[-2] != "B" else "C") + own[-1]
    for text in (real_world, tampered, own[:-1], own + "A", "UC" + "!" * 22, "PL" + own[2:]):
        assert catalogue.locate_channel(text) is None


def test_video_ids_round_trip(catalogue: Catalogue) -> None:
    index = catalogue.find_channel(200)
    count = catalogue.video_count(index)
    ids = [catalogue.video_id(index, k) for k in range(count)]
    assert len(set(ids)) == count
    assert all(VIDEO_ID.fullmatch(i) for i in ids)
    assert [catalogue.locate_video(i) for i in ids] == [(index, k) for k in range(count)]


def test_video_ids_are_video_id_for_whole_arrays() -> None:
    catalogue = Catalogue(seed=7, n_channels=MAX_CHANNELS)
    rng = random.Random(0)
    pairs = [(0, 0), (MAX_CHANNELS - 1, MAX_VIDEOS_PER_CHANNEL)] + [
        (rng.randrange(MAX_CHANNELS), rng.randrange(MAX_VIDEOS_PER_CHANNEL)) for _ in range(500)
    ]
    index, number = (np.array(column, dtype=np.int64) for column in zip(*pairs, strict=True))
    assert catalogue.video_ids(index, number) == [catalogue.video_id(*p) for p in pairs]


def test_video_ids_refuse_what_video_id_refuses(catalogue: Catalogue) -> None:
    none = np.array([], dtype=np.int64)
    assert catalogue.video_ids(none, none) == []
    for index, number in ((-1, 0), (catalogue.n_channels, 0), (0, -1), (0, 1 << 24)):
        with pytest.raises(IndexError):
            catalogue.video_id(index, number)
        with pytest.raises(IndexError):
            catalogue.video_ids(np.array([0, index]), np.array([0, number]))


@given(st.text(alphabet=st.sampled_from("ABCabc019-_Qgw"), min_size=11, max_size=11))
def test_any_id_is_unknown_or_names_itself(text: str) -> None:
    catalogue = Catalogue(seed=1, clock=lambda: EPOCH)
    found = catalogue.locate_video(text)
    assert found is None or catalogue.video_id(*found) == text


def test_only_the_canonical_spelling_of_an_id_decodes(catalogue: Catalogue) -> None:
    # An 11th character carries 4 bits and 2 zero bits: of its 64 spellings, one is the id.
    video_id = catalogue.video_id(catalogue.find_channel(1), 0)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    spellings = [video_id[:-1] + last for last in alphabet]
    assert [s for s in spellings if catalogue.locate_video(s) is not None] == [video_id]


def test_unpublished_and_made_up_videos_are_unknown(catalogue: Catalogue) -> None:
    index = catalogue.find_channel(1)
    count = catalogue.video_count(index)
    assert catalogue.locate_video(catalogue.video_id(index, count)) is None
    assert catalogue.locate_video("dQw4w9WgXcQ") is None
    assert catalogue.locate_video("short") is None


@pytest.mark.parametrize(
    ("handle", "expected"),
    [("@chan42", 42), ("chan42", 42), ("@CHAN42", 42), ("@chan0", 0), ("@chan042", None),
     ("@chan", None), ("@chan1000000", None), ("@other42", None)],
)  # fmt: skip
def test_handles(handle: str, expected: int | None) -> None:
    assert Catalogue(seed=1, n_channels=1_000_000).locate_handle(handle) == expected


def test_user_i_owns_channel_i(catalogue: Catalogue) -> None:
    assert catalogue.user_channel_id(12) == catalogue.channel_id(12)
    with pytest.raises(IndexError):
        catalogue.user_channel_id(catalogue.n_channels)


def test_video_counts_have_a_long_tail() -> None:
    catalogue = Catalogue(seed=1, n_channels=20_000, clock=lambda: EPOCH)
    counts = [catalogue.video_count(i) for i in range(catalogue.n_channels)]
    assert 10 <= statistics.median(counts) <= 30
    assert 40 <= statistics.mean(counts) <= 90
    assert 0.002 <= sum(c >= 1_000 for c in counts) / len(counts) <= 0.01
    assert 0.005 <= counts.count(0) / len(counts) <= 0.05
    assert max(counts) <= 20_001
    big = catalogue.find_channel(1_000)
    assert counts[big] >= 1_000 and all(c < 1_000 for c in counts[:big])


def test_find_channel_says_when_there_is_none() -> None:
    with pytest.raises(LookupError):
        Catalogue(seed=1, n_channels=10).find_channel(1_000_000)


def test_a_video_goes_public_at_its_published_at(catalogue: Catalogue) -> None:
    index = catalogue.find_channel(50)
    for number in (0, 10, 49):
        published = catalogue.video(index, number).published_at
        assert catalogue.video_count(index, published) == number + 1
        assert catalogue.video_count(index, published - timedelta(seconds=1)) == number
        assert catalogue.locate_video(catalogue.video_id(index, number), published) is not None


def test_uploads_are_newest_first_and_pages_tile(catalogue: Catalogue) -> None:
    index = catalogue.find_channel(120)
    total, everything = catalogue.uploads(index, 0, 10_000)
    assert total == catalogue.video_count(index) == len(everything)
    times = [v.published_at for v in everything]
    assert times == sorted(times, reverse=True) and len(set(times)) == len(times)
    assert [v.number for v in everything] == list(range(total - 1, -1, -1))
    pages = [catalogue.uploads(index, offset, 50)[1] for offset in range(0, total, 50)]
    assert [v for page in pages for v in page] == everything
    assert catalogue.uploads(index, total, 50) == (total, [])


def test_channels_gain_uploads_as_time_passes() -> None:
    ticker = Ticker()
    clock = SimClock(start=EPOCH, scale=3_600.0, source=ticker)  # one real second = one hour
    catalogue = Catalogue(seed=1, clock=clock)
    index = catalogue.find_channel(500)
    before_total, before = catalogue.uploads(index, 0, 10_000)
    ticker.now = 30 * 24.0  # thirty simulated days later
    after_total, after = catalogue.uploads(index, 0, 10_000)
    gained = after_total - before_total
    assert gained > 0
    assert after[gained:] == before  # the new uploads come first; the old keep their order
    assert all(v.published_at > EPOCH for v in after[:gained])
    assert sum(catalogue.video_count(i) for i in range(300)) > sum(
        catalogue.video_count(i, EPOCH) for i in range(300)
    )


def test_sim_clock_scales_and_advances() -> None:
    ticker = Ticker()
    clock = SimClock(start=datetime(2025, 6, 1, tzinfo=UTC), scale=100.0, source=ticker)
    ticker.now = 2.5
    assert clock() == datetime(2025, 6, 1, 0, 4, 10, tzinfo=UTC)
    clock.advance(timedelta(days=1))
    assert clock() == datetime(2025, 6, 2, 0, 4, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="back in time"):
        clock.advance(timedelta(seconds=-1))
    with pytest.raises(ValueError, match="naive"):
        SimClock(start=datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="positive"):
        SimClock(scale=0)


def test_tags_come_from_the_vocabulary_in_varied_spellings(catalogue: Catalogue) -> None:
    def key(word: str) -> str:
        return word.casefold().replace("-", " ")

    index = catalogue.find_channel(300)
    videos = catalogue.uploads(index, 0, 300)[1]
    tags = [t for v in videos for t in v.tags]
    assert tags and {key(t) for t in tags} <= {key(w) for w in TAG_WORDS + FILLER_WORDS}
    assert sum(key(t) in {key(w) for w in TAG_WORDS} for t in tags) > len(tags) / 2
    assert any(t not in TAG_WORDS + FILLER_WORDS for t in tags)  # "PYTHON", "machine-learning"
    assert any(not v.tags for v in videos)
    assert set(TOOL_WORDS).isdisjoint(CATEGORY_WORDS) and len(set(TAG_WORDS)) == len(TAG_WORDS)


def test_durations_range_from_shorts_to_day_long_live_streams(catalogue: Catalogue) -> None:
    videos: list[VideoSpec] = []
    for index in range(catalogue.n_channels):
        videos += catalogue.uploads(index, 0, 10_000)[1]
        if len(videos) >= 6_000:
            break
    durations = [v.duration_s for v in videos]
    assert min(durations) <= 60 and max(durations) >= 86_400
    assert 0.1 <= sum(d <= 60 for d in durations) / len(durations) <= 0.3
    live = [v for v in videos if v.live]
    assert 0.001 <= len(live) / len(videos) <= 0.01
    stream = live[0]
    assert stream.is_live(stream.published_at)
    assert not stream.is_live(stream.published_at + timedelta(seconds=stream.duration_s))


def test_bounds_are_checked() -> None:
    with pytest.raises(ValueError):
        Catalogue(n_channels=0)
    catalogue = Catalogue(n_channels=10)
    with pytest.raises(IndexError):
        catalogue.channel(10)
    with pytest.raises(IndexError):
        catalogue.video_id(0, -1)
    assert catalogue.locate_handle("@chan10") is None


def test_find_busy_channel_uploads_often_and_has_a_video() -> None:
    catalogue = Catalogue(seed=1)
    first = catalogue.find_busy_channel(2.0, at=EPOCH)
    spacing = catalogue.channel(first).spacing_s
    assert spacing is not None and spacing <= 43_200 and catalogue.video_count(first, EPOCH)
    assert all(
        (catalogue.channel(i).spacing_s or float("inf")) > 43_200
        or not catalogue.video_count(i, EPOCH)
        for i in range(first)
    )
    assert catalogue.find_busy_channel(2.0, first + 1, EPOCH) > first
    with pytest.raises(LookupError, match="uploads 1000000"):
        Catalogue(seed=1, n_channels=5).find_busy_channel(1_000_000)
