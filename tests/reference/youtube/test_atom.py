import re
from datetime import UTC, datetime

import pytest

from reference.youtube.atom import (
    AtomError,
    Deleted,
    Entry,
    channel_id_of_topic,
    parse_feed,
    topic_url,
)

HUB = "https://pubsubhubbub.appspot.com"
CHANNEL = "UCXuqSBlHAE6Xw-yeJA0Tunw"

# The public channel feed, as https://www.youtube.com/feeds/videos.xml?channel_id=… serves it.
CHANNEL_FEED = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015" xmlns:media="http://search.yahoo.com/mrss/" xmlns="http://www.w3.org/2005/Atom">
 <link rel="self" href="http://www.youtube.com/feeds/videos.xml?channel_id={CHANNEL}"/>
 <id>yt:channel:{CHANNEL}</id>
 <yt:channelId>{CHANNEL}</yt:channelId>
 <title>Linus Tech Tips</title>
 <link rel="alternate" href="https://www.youtube.com/channel/{CHANNEL}"/>
 <author>
  <name>Linus Tech Tips</name>
  <uri>https://www.youtube.com/channel/{CHANNEL}</uri>
 </author>
 <published>2008-11-25T00:46:52+00:00</published>
 <entry>
  <id>yt:video:dQw4w9WgXcQ</id>
  <yt:videoId>dQw4w9WgXcQ</yt:videoId>
  <yt:channelId>{CHANNEL}</yt:channelId>
  <title>I built a PC &amp; it &lt;almost&gt; worked</title>
  <link rel="alternate" href="https://www.youtube.com/watch?v=dQw4w9WgXcQ"/>
  <author>
   <name>Linus Tech Tips</name>
   <uri>https://www.youtube.com/channel/{CHANNEL}</uri>
  </author>
  <published>2024-05-01T16:00:15+00:00</published>
  <updated>2024-05-02T03:12:44+00:00</updated>
  <media:group>
   <media:title>I built a PC &amp; it &lt;almost&gt; worked</media:title>
   <media:content url="https://www.youtube.com/v/dQw4w9WgXcQ?version=3" type="application/x-shockwave-flash" width="640" height="390"/>
   <media:thumbnail url="https://i1.ytimg.com/vi/dQw4w9WgXcQ/hqdefault.jpg" width="480" height="360"/>
   <media:description>Sponsored by nobody.</media:description>
   <media:community>
    <media:starRating count="30012" average="5.00" min="1" max="5"/>
    <media:statistics views="1234567"/>
   </media:community>
  </media:group>
 </entry>
 <entry>
  <id>yt:video:9bZkp7q19f0</id>
  <yt:videoId>9bZkp7q19f0</yt:videoId>
  <yt:channelId>{CHANNEL}</yt:channelId>
  <title>Older upload</title>
  <link rel="alternate" href="https://www.youtube.com/watch?v=9bZkp7q19f0"/>
  <author>
   <name>Linus Tech Tips</name>
   <uri>https://www.youtube.com/channel/{CHANNEL}</uri>
  </author>
  <published>2024-04-30T16:00:00+00:00</published>
  <updated>2024-04-30T18:00:00+00:00</updated>
 </entry>
</feed>
"""  # noqa: E501 (YouTube's lines, as long as YouTube writes them)

# A push notification, as the Google push-notifications guide shows it.
NOTIFICATION = """<feed xmlns:yt="http://www.youtube.com/xml/schemas/2015"
         xmlns="http://www.w3.org/2005/Atom">
  <link rel="hub" href="https://pubsubhubbub.appspot.com"/>
  <link rel="self" href="https://www.youtube.com/xml/feeds/videos.xml?channel_id=CHANNEL_ID"/>
  <title>YouTube video feed</title>
  <updated>2015-04-01T19:05:24.552394234+00:00</updated>
  <entry>
    <id>yt:video:VIDEO_ID</id>
    <yt:videoId>VIDEO_ID</yt:videoId>
    <yt:channelId>CHANNEL_ID</yt:channelId>
    <title>Video title</title>
    <link rel="alternate" href="http://www.youtube.com/watch?v=VIDEO_ID"/>
    <author>
     <name>Channel title</name>
     <uri>http://www.youtube.com/channel/CHANNEL_ID</uri>
    </author>
    <published>2015-03-06T21:40:57+00:00</published>
    <updated>2015-03-09T19:05:24.552394234+00:00</updated>
  </entry>
</feed>"""

# The same notification under other prefixes: the default namespace is YouTube's, Atom is "a".
REPREFIXED = """<a:feed xmlns:a="http://www.w3.org/2005/Atom"
        xmlns="http://www.youtube.com/xml/schemas/2015">
  <a:link rel="hub" href="https://pubsubhubbub.appspot.com"/>
  <a:link rel="self" href="https://www.youtube.com/xml/feeds/videos.xml?channel_id=CHANNEL_ID"/>
  <a:title>YouTube video feed</a:title>
  <a:updated>2015-04-01T19:05:24.552394234+00:00</a:updated>
  <a:entry>
    <a:id>yt:video:VIDEO_ID</a:id>
    <videoId>VIDEO_ID</videoId>
    <channelId>CHANNEL_ID</channelId>
    <a:title>Video title</a:title>
    <a:published>2015-03-06T21:40:57+00:00</a:published>
    <a:updated>2015-03-09T19:05:24.552394234+00:00</a:updated>
  </a:entry>
</a:feed>"""

DELETED = """<feed xmlns:at="http://purl.org/atompub/tombstones/1.0" xmlns="http://www.w3.org/2005/Atom">
  <at:deleted-entry ref="yt:video:VIDEO_ID" when="2015-03-09T19:05:24.552394234+00:00">
    <link href="https://www.youtube.com/watch?v=VIDEO_ID"/>
    <at:by>
     <name>Channel title</name>
     <uri>https://www.youtube.com/channel/CHANNEL_ID</uri>
    </at:by>
  </at:deleted-entry>
</feed>"""

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&lol4;</title></feed>"""


# -- parsing ------------------------------------------------------------------------------------


def test_a_channel_feed_parses_newest_first() -> None:
    feed = parse_feed(CHANNEL_FEED.encode())
    assert feed.channel_id == CHANNEL and feed.title == "Linus Tech Tips"
    assert feed.self_url == f"http://www.youtube.com/feeds/videos.xml?channel_id={CHANNEL}"
    assert feed.hub_url is None and feed.deleted == ()
    first, second = feed.entries
    assert first == Entry(
        video_id="dQw4w9WgXcQ",
        channel_id=CHANNEL,
        title="I built a PC & it <almost> worked",
        published_at=datetime(2024, 5, 1, 16, 0, 15, tzinfo=UTC),
        updated_at=datetime(2024, 5, 2, 3, 12, 44, tzinfo=UTC),
    )
    assert second.video_id == "9bZkp7q19f0" and second.published_at < first.published_at


def test_a_push_notification_parses_with_nanosecond_times() -> None:
    feed = parse_feed(NOTIFICATION)
    assert feed.channel_id is None and feed.title == "YouTube video feed"
    assert feed.hub_url == HUB
    assert channel_id_of_topic(feed.self_url or "") == "CHANNEL_ID"
    (entry,) = feed.entries
    assert (entry.video_id, entry.channel_id, entry.title) == (
        "VIDEO_ID",
        "CHANNEL_ID",
        "Video title",
    )
    assert entry.published_at == datetime(2015, 3, 6, 21, 40, 57, tzinfo=UTC)
    # Nine fraction digits, truncated to the six a datetime holds.
    assert entry.updated_at == datetime(2015, 3, 9, 19, 5, 24, 552394, tzinfo=UTC)


def test_prefixes_do_not_matter_only_namespaces() -> None:
    plain, reprefixed = parse_feed(NOTIFICATION), parse_feed(REPREFIXED)
    assert reprefixed == plain


def test_a_deleted_entry_is_a_tombstone() -> None:
    feed = parse_feed(DELETED)
    assert feed.entries == ()
    assert feed.deleted == (
        Deleted("VIDEO_ID", datetime(2015, 3, 9, 19, 5, 24, 552394, tzinfo=UTC)),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-05-01T12:00:00Z", datetime(2024, 5, 1, 12, tzinfo=UTC)),
        ("2015-03-06T21:40:57+00:00", datetime(2015, 3, 6, 21, 40, 57, tzinfo=UTC)),
        ("2024-05-01T14:00:00.5+02:00", datetime(2024, 5, 1, 12, 0, 0, 500_000, tzinfo=UTC)),
    ],
)
def test_timestamps_come_out_aware_in_utc(text: str, expected: datetime) -> None:
    (entry,) = parse_feed(NOTIFICATION.replace("2015-03-06T21:40:57+00:00", text)).entries
    assert entry.published_at == expected and entry.published_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("<feed xmlns='http://www.w3.org/2005/Atom'><entry>", "malformed XML"),
        ("not xml at all", "malformed XML"),
        ("<rss version='2.0'><channel/></rss>", "not an Atom <feed>"),
        ("<feed><title>no namespace</title></feed>", "not an Atom <feed>"),
        (NOTIFICATION.replace("<yt:videoId>VIDEO_ID</yt:videoId>", ""), "no <yt:videoId>"),
        (NOTIFICATION.replace("<yt:channelId>CHANNEL_ID</yt:channelId>", ""), "no <yt:channelId>"),
        (NOTIFICATION.replace("2015-03-06T21:40:57+00:00", "yesterday"), "bad date 'yesterday'"),
        (NOTIFICATION.replace("2015-03-06T21:40:57+00:00", "2015-03-06T21:40:57"), "bad date"),
        (NOTIFICATION.replace("2015-03-06T21:40:57+00:00", "2015-02-30T21:40:57Z"), "bad date"),
        (DELETED.replace("yt:video:VIDEO_ID", "yt:channel:X"), "not to a yt:video:ID"),
        (BILLION_LAUGHS, "refused XML"),
    ],
)
def test_what_is_not_a_youtube_video_feed_is_an_atom_error(document: str, message: str) -> None:
    with pytest.raises(AtomError, match=re.escape(message)):
        parse_feed(document)


def test_an_atom_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_feed(b"\xff\xfe")


# -- topics -------------------------------------------------------------------------------------


def test_topics_name_their_channel() -> None:
    topic = topic_url(CHANNEL)
    assert topic == f"https://www.youtube.com/xml/feeds/videos.xml?channel_id={CHANNEL}"
    assert channel_id_of_topic(topic) == CHANNEL
    assert channel_id_of_topic(topic_url(CHANNEL, base="http://127.0.0.1:8001")) == CHANNEL
    # The feed's own URL works as a topic too, as the guide's newer wording has it.
    assert channel_id_of_topic(f"https://www.youtube.com/feeds/videos.xml?channel_id={CHANNEL}")
    for not_a_topic in (
        "",
        "https://www.youtube.com/xml/feeds/videos.xml",
        "https://www.youtube.com/xml/feeds/videos.xml?channel_id=",
        f"https://www.youtube.com/xml/feeds/videos.xml?channel_id={CHANNEL}&user=x",
        f"https://www.youtube.com/channel/{CHANNEL}",
        f"ftp://www.youtube.com/xml/feeds/videos.xml?channel_id={CHANNEL}",
        f"/xml/feeds/videos.xml?channel_id={CHANNEL}",
        f"http://[www.youtube.com/xml/feeds/videos.xml?channel_id={CHANNEL}",
    ):
        assert channel_id_of_topic(not_a_topic) is None, not_a_topic
