import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference.videos import (
    InvalidChannelRef,
    InvalidVideoURL,
    canonical_video_id,
    channel_ref,
    watch_url,
)

VID = "dQw4w9WgXcQ"


@pytest.mark.parametrize(
    "url",
    [
        f"https://www.youtube.com/watch?v={VID}",
        f"http://youtube.com/watch?v={VID}&t=42s",
        f"https://m.youtube.com/watch?feature=share&v={VID}",
        f"https://music.youtube.com/watch?v={VID}&list=RDAMVM",
        f"https://youtu.be/{VID}",
        f"youtu.be/{VID}?si=abc",
        f"https://www.youtube.com/shorts/{VID}",
        f"https://www.youtube.com/embed/{VID}?autoplay=1",
        f"https://www.youtube-nocookie.com/embed/{VID}",
        f"https://www.youtube.com/live/{VID}",
        f"  www.youtube.com/watch?v={VID}  ",
        f"HTTPS://WWW.YOUTUBE.COM/watch?v={VID}",
        VID,
    ],
)
def test_every_form_names_the_same_video(url: str) -> None:
    assert canonical_video_id(url) == VID


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("", "empty"),
        ("https://vimeo.com/12345", "host 'vimeo.com'"),
        ("https://www.youtube.com/watch?v=short", "video id 'short'"),
        ("https://www.youtube.com/channel/UC123", "names no single video"),
        ("https://www.youtube.com/watch", "video id ''"),
        ("ftp://youtube.com/watch?v=dQw4w9WgXcQ", "scheme 'ftp'"),
        ("https://youtu.be/", "video id ''"),
        ("https://evil.com/youtube.com/watch?v=dQw4w9WgXcQ", "host 'evil.com'"),
        ("https://[youtube.com/watch?v=dQw4w9WgXcQ", "unparseable"),
    ],
)
def test_anything_else_is_rejected_naming_the_input(url: str, why: str) -> None:
    with pytest.raises(InvalidVideoURL) as info:
        canonical_video_id(url)
    assert repr(url.strip()) in str(info.value) or repr(url) in str(info.value)
    assert why in str(info.value)


@given(st.from_regex(r"[A-Za-z0-9_-]{11}", fullmatch=True))
def test_watch_url_round_trips(video_id: str) -> None:
    assert canonical_video_id(watch_url(video_id)) == video_id


@given(st.text(max_size=300))
def test_arbitrary_text_either_parses_or_raises_invalid(text: str) -> None:
    try:
        vid = canonical_video_id(text)
    except InvalidVideoURL:
        return
    assert len(vid) == 11


CID = "UC" + "a" * 22


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (CID, ("id", CID)),
        (f"https://www.youtube.com/channel/{CID}", ("id", CID)),
        (f"youtube.com/channel/{CID}/videos", ("id", CID)),
        ("@SomeChannel", ("handle", "@SomeChannel")),
        ("https://m.youtube.com/@SomeChannel/videos", ("handle", "@SomeChannel")),
    ],
)
def test_channel_refs(text: str, expected: tuple[str, str]) -> None:
    assert channel_ref(text) == expected


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "empty"),
        ("UCshort", "expected a channel id"),
        ("https://vimeo.com/@x", "host 'vimeo.com'"),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "names no channel"),
        ("https://[youtube.com/@a", "unparseable"),
    ],
)
def test_bad_channel_refs_are_rejected(text: str, why: str) -> None:
    with pytest.raises(InvalidChannelRef, match=why):
        channel_ref(text)


@given(st.text(max_size=300))
def test_arbitrary_text_either_names_a_channel_or_raises_invalid(text: str) -> None:
    try:
        kind, _ = channel_ref(text)
    except InvalidChannelRef:
        return
    assert kind in ("id", "handle")
