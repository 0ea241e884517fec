"""A deterministic synthetic YouTube: a million channels and their uploads, computed on demand.

Nothing is stored per channel or per video. Every attribute is a pure function of ``(seed, channel
index[, video number])``, and ids are *reversible*: a video id decrypts back to its channel and
number, so ``videos.list`` on any id costs O(1) and a page of a playlist costs O(page).

```python
catalogue = Catalogue(seed=1, clock=SimClock(scale=100))   # simulated time runs 100x faster
channel = catalogue.channel(42)          # channel.id "UC…", channel.handle "@chan42"
catalogue.user_channel_id(42)            # user i owns channel i: the seed and the sync agree
big = catalogue.find_channel(min_videos=1000)            # for the channel-import test
total, page = catalogue.uploads(big, offset=0, limit=50) # newest first, like the uploads playlist
catalogue.locate_video(page[0].id)                       # (big, total - 1)
```

**Time.** Channel ``i`` was created ``age`` days before :data:`EPOCH` and uploads about every
``spacing`` seconds, forever; video ``k`` goes public at ``created + (k + u_k) * spacing`` with
``u_k`` in [0, 1) drawn from the hash. The number of videos public at instant ``t`` is therefore
O(1) to compute, grows as the (injectable, scalable) clock advances, and a sync run later finds the
videos published since. About 2 % of channels never upload at all.

**Shapes.** Videos per channel at the epoch are lognormal (median 20, mean ~60, ~0.4 % of channels
with 1,000 or more, capped at 20,000); durations mix Shorts, ordinary videos, hour-long ones and
live streams (~0.3 %, 1-48 h, ``P0D`` while live); tags come from :data:`TAG_WORDS` plus filler,
in the spellings people type ("Machine-Learning", "PYTHON").
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import math
import random
import re
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from statistics import NormalDist
from typing import Final

import numpy as np
import numpy.typing as npt

from reference.clock import Clock

#: The instant at which channel ``i`` has about its drawn number of videos; the default sim start.
EPOCH: Final = datetime(2025, 1, 1, tzinfo=UTC)
DEFAULT_CHANNELS: Final = 1_000_000
#: Channel indices and video numbers are packed into 24 bits each inside the ids.
MAX_CHANNELS: Final = 1 << 24
MAX_VIDEOS_PER_CHANNEL: Final = (1 << 24) - 1

#: Tool-like tag words: what a seed can turn into tools (and aliases) so matching finds them.
TOOL_WORDS: Final = (
    "python", "javascript", "typescript", "rust", "go", "java", "kotlin", "swift", "c++", "c#",
    "ruby", "php", "django", "flask", "fastapi", "react", "vue", "angular", "svelte", "next.js",
    "node.js", "deno", "docker", "kubernetes", "terraform", "ansible", "aws", "azure", "gcp",
    "postgresql", "mysql", "sqlite", "redis", "mongodb", "kafka", "celery", "git", "github",
    "gitlab", "vs code", "vim", "neovim", "emacs", "intellij", "pycharm", "jupyter", "pandas",
    "numpy", "pytorch", "tensorflow", "scikit-learn", "hugging face", "langchain", "chatgpt",
    "stable diffusion", "blender", "unity", "unreal engine", "godot", "figma", "photoshop",
    "illustrator", "premiere pro", "davinci resolve", "after effects", "final cut pro",
    "obs studio", "ableton live", "fl studio", "logic pro", "audacity", "arduino", "raspberry pi",
    "esp32", "linux", "ubuntu", "arch linux", "windows", "macos", "android studio", "xcode",
    "flutter", "react native", "tailwind css", "bootstrap", "wordpress", "shopify", "notion",
    "obsidian", "excel", "power bi", "tableau", "selenium", "playwright", "postman", "nginx",
    "grafana", "prometheus", "elasticsearch", "apache spark", "airflow", "dbt", "snowflake", "bash",
    "powershell", "homebrew", "autocad", "fusion 360", "solidworks", "kicad", "matlab", "latex",
)  # fmt: skip
#: Category-like tag words.
CATEGORY_WORDS: Final = (
    "web development", "machine learning", "data science", "game development", "devops",
    "mobile apps", "cybersecurity", "embedded systems", "music production", "video editing",
    "3d modelling", "productivity", "cloud computing", "databases", "artificial intelligence",
    "ui design", "electronics", "home automation", "networking", "open source",
)  # fmt: skip
#: Every word a video tag may be that is meant to match something.
TAG_WORDS: Final = TOOL_WORDS + CATEGORY_WORDS
#: Tags that match nothing, as real tags mostly do.
FILLER_WORDS: Final = (
    "tutorial", "how to", "beginner", "tips", "2025", "full course", "review", "vlog",
    "explained", "crash course", "project", "setup", "shorts", "q&a", "step by step",
)  # fmt: skip
_TITLE_SUFFIXES = (
    "in 100 seconds", "crash course", "tutorial for beginners", "tips and tricks", "deep dive",
    "full project walkthrough", "explained", "vs the rest", "setup guide", "live coding",
)  # fmt: skip
_CHANNEL_NOUNS = ("Lab", "Academy", "Studio", "Workshop", "Garage", "Hub", "Dojo", "Notes", "TV")
_COUNTRIES = ("US", "GB", "IN", "DE", "FR", "BR", "CA", "JP", "ES", "NL", "PL", "AU")
#: YouTube's video categories: Science & Technology, Education, Gaming, Music, People & Blogs.
_CATEGORY_IDS = ("28", "28", "28", "27", "27", "20", "10", "22")

_PACK = struct.Struct("<4Q").pack
_M32, _M64 = (1 << 32) - 1, (1 << 64) - 1
_HANDLE = re.compile(r"@?chan(0|[1-9][0-9]{0,7})", re.IGNORECASE)
_NORMAL = NormalDist()
# Salts keep the hash streams of unrelated draws apart.
(
    _S_CHANNEL,
    _S_VIDEO,
    _S_PHASE,
    _S_VIDEO_KEY,
    _S_CHANNEL_KEY,
    _S_CHECK,
    _S_AGE,
    _S_VIDEOS,
    _S_TAG,
) = range(9)


class SimClock:
    """Simulated time: starts at ``start`` and runs ``scale`` times faster than ``source``.

    ``source`` is a monotonic seconds counter (``time.monotonic``); tests pass their own, or call
    :meth:`advance` to jump ahead ("a week later, sync again").
    """

    def __init__(
        self,
        start: datetime = EPOCH,
        scale: float = 1.0,
        source: Callable[[], float] = time.monotonic,
    ) -> None:
        if start.tzinfo is None:
            raise ValueError(f"naive start {start!r}: pass an aware datetime")
        if scale <= 0:
            raise ValueError(f"scale must be positive, not {scale}")
        self.scale = scale
        self._start = start
        self._source = source
        self._origin = source()
        self._offset = 0.0
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        elapsed = (self._source() - self._origin) * self.scale + self._offset
        return self._start + timedelta(seconds=elapsed)

    def advance(self, delta: timedelta) -> None:
        """Jump ``delta`` of simulated time ahead (never back: uploads do not unpublish)."""
        if delta < timedelta(0):
            raise ValueError(f"cannot go back in time: {delta}")
        with self._lock:
            self._offset += delta.total_seconds()


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    index: int
    id: str
    #: "UU" + the same 22 characters as the channel id, as on YouTube.
    uploads_playlist_id: str
    handle: str
    title: str
    description: str
    created_at: datetime
    country: str
    subscribers: int
    #: Tag words the channel keeps coming back to.
    themes: tuple[str, ...]
    #: Seconds between uploads on average; ``None`` for a channel that never uploads.
    spacing_s: float | None


@dataclass(frozen=True, slots=True)
class VideoSpec:
    id: str
    channel: int
    #: 0 for the channel's first upload.
    number: int
    title: str
    description: str
    published_at: datetime
    duration_s: int
    #: A live stream: live (duration ``P0D``) until ``published_at + duration_s``.
    live: bool
    tags: tuple[str, ...]
    category_id: str
    hd: bool
    views: int
    likes: int
    comments: int

    def is_live(self, now: datetime) -> bool:
        return self.live and now < self.published_at + timedelta(seconds=self.duration_s)


class Catalogue:
    """``n_channels`` channels derived from ``seed``; ``clock`` says how far their uploads got."""

    def __init__(
        self,
        seed: int = 0,
        n_channels: int = DEFAULT_CHANNELS,
        clock: Clock | None = None,
    ) -> None:
        if not 1 <= n_channels <= MAX_CHANNELS:
            raise ValueError(f"n_channels must be 1..{MAX_CHANNELS}, not {n_channels}")
        self.seed = seed
        self.n_channels = n_channels
        self.clock: Clock = clock or SimClock()
        self._video_keys = tuple(_hash(seed, _S_VIDEO_KEY, r) for r in range(4))
        self._channel_keys = tuple(_hash(seed, _S_CHANNEL_KEY, r) for r in range(4))
        # Ids of another seed (or made up) fail this check with probability 1 - 2**-16.
        self._check = _hash(seed, _S_TAG) & 0xFFFF

    # -- channels --------------------------------------------------------------------------

    def channel_id(self, index: int) -> str:
        self._check_index(index)
        return "UC" + self._channel_body(index)

    def uploads_playlist_id(self, index: int) -> str:
        self._check_index(index)
        return "UU" + self._channel_body(index)

    def user_channel_id(self, user_index: int) -> str:
        """The channel seeded user ``user_index`` (0-based) owns: user ``i`` owns channel ``i``."""
        return self.channel_id(user_index)

    def channel(self, index: int) -> ChannelSpec:
        self._check_index(index)
        created_at, spacing_s, videos = self._timeline(index)
        rng = random.Random(_hash(self.seed, _S_CHANNEL, index))
        body = self._channel_body(index)
        themes = tuple(rng.sample(TOOL_WORDS, 3)) + (rng.choice(CATEGORY_WORDS),)
        title = f"{_pretty(themes[0])} {rng.choice(_CHANNEL_NOUNS)} {index}"
        return ChannelSpec(
            index=index,
            id="UC" + body,
            uploads_playlist_id="UU" + body,
            handle=f"@chan{index}",
            title=title,
            description=f"{title}: videos about {', '.join(themes)}.",
            created_at=created_at,
            country=rng.choice(_COUNTRIES),
            subscribers=int(math.exp(rng.gauss(math.log(200 + 40 * videos), 1.2))),
            themes=themes,
            spacing_s=spacing_s,
        )

    def locate_channel(self, channel_id: str) -> int | None:
        """The index of ``channel_id`` (or of its uploads playlist ``UU…``), ``None`` if foreign."""
        if len(channel_id) != 24 or channel_id[:2] not in ("UC", "UU"):
            return None
        value = _decode(channel_id[2:], 16)
        if value is None:
            return None
        high, low = value >> 64, value & _M64
        block = _unfeistel(high, self._channel_keys)
        index = block & _M32
        if block >> 32 != self._check or index >= self.n_channels:
            return None
        return index if low == _hash(self.seed, _S_CHECK, index) else None

    def locate_handle(self, handle: str) -> int | None:
        """The index of ``@chanN`` (with or without "@", any case), ``None`` if there is none."""
        match = _HANDLE.fullmatch(handle)
        index = int(match.group(1)) if match else self.n_channels
        return index if index < self.n_channels else None

    def find_channel(self, min_videos: int, start: int = 0, at: datetime | None = None) -> int:
        """The first channel index from ``start`` with at least ``min_videos`` public videos."""
        for index in range(start, self.n_channels):
            if self.video_count(index, at) >= min_videos:
                return index
        raise LookupError(f"no channel from index {start} has {min_videos} videos")

    def find_busy_channel(
        self, min_uploads_per_day: float, start: int = 0, at: datetime | None = None
    ) -> int:
        """The first channel index from ``start`` that uploads at least ``min_uploads_per_day``
        on average and has a public video by ``at``: what a short simulated run needs."""
        longest = 86_400 / min_uploads_per_day
        for index in range(start, self.n_channels):
            spacing = self.channel(index).spacing_s
            if spacing is not None and spacing <= longest and self.video_count(index, at):
                return index
        raise LookupError(f"no channel from index {start} uploads {min_uploads_per_day}/day")

    # -- videos ----------------------------------------------------------------------------

    def video_count(self, index: int, at: datetime | None = None) -> int:
        """Videos channel ``index`` has published by ``at`` (default: the clock's now)."""
        self._check_index(index)
        created_at, spacing_s, _ = self._timeline(index)
        return self._count(index, created_at, spacing_s, at)

    def video_id(self, index: int, number: int) -> str:
        self._check_index(index)
        if not 0 <= number <= MAX_VIDEOS_PER_CHANNEL:
            raise IndexError(f"video number {number} out of range")
        block = _feistel((self._check << 48) | (index << 24) | number, self._video_keys)
        # 64 bits in 11 characters leave 2 zero bits at the end, as in real ids ("…Q", "…w").
        return _encode(block, 8)

    def video_ids(
        self, indices: npt.NDArray[np.int64], numbers: npt.NDArray[np.int64]
    ) -> list[str]:
        """:meth:`video_id` for whole arrays of channel indices and video numbers, pairwise: the
        same Feistel network, vectorised (~0.5 µs an id, for the seed's millions)."""
        if indices.size and (indices.min() < 0 or indices.max() >= self.n_channels):
            raise IndexError(f"channel indices out of range 0..{self.n_channels - 1}")
        if numbers.size and (numbers.min() < 0 or numbers.max() > MAX_VIDEOS_PER_CHANNEL):
            raise IndexError("video numbers out of range")
        u64 = np.uint64
        check = u64(self._check) << u64(48)
        block = check | (indices.astype(u64) << u64(24)) | numbers.astype(u64)
        left, right = block >> u64(32), block & u64(_M32)
        # Numpy's uint64 arithmetic wraps as the ``& _M64`` masks of ``_mix`` do.
        for key in self._video_keys:
            left, right = right, left ^ (_mix_array(right ^ u64(key)) & u64(_M32))
        # Nine bytes (the id's eight and a zero) are twelve base64 characters, the first eleven
        # of which are the id: one encode call for the whole array.
        padded = np.zeros((len(block), 9), dtype=np.uint8)
        padded[:, :8] = ((left << u64(32)) | right).astype(">u8").view(np.uint8).reshape(-1, 8)
        encoded = base64.urlsafe_b64encode(padded.tobytes())
        ids: list[str] = np.frombuffer(encoded, dtype="S12").astype("U11").tolist()
        return ids

    def locate_video(self, video_id: str, at: datetime | None = None) -> tuple[int, int] | None:
        """``(channel index, number)`` of a video public at ``at``; ``None`` for any other id."""
        value = _decode(video_id, 8) if len(video_id) == 11 else None
        if value is None:
            return None
        block = _unfeistel(value, self._video_keys)
        index, number = (block >> 24) & 0xFFFFFF, block & 0xFFFFFF
        if block >> 48 != self._check or index >= self.n_channels:
            return None
        return (index, number) if number < self.video_count(index, at) else None

    def video(self, channel: int | ChannelSpec, number: int) -> VideoSpec:
        """Video ``number`` of a channel (index or spec), whether or not it is public yet."""
        index = channel.index if isinstance(channel, ChannelSpec) else channel
        self._check_index(index)
        return _cached_video(self.seed, self.n_channels, index, number)

    def _video(self, index: int, number: int) -> VideoSpec:
        spec = self.channel(index)
        if spec.spacing_s is None:
            raise IndexError(f"channel {spec.index} never uploads")
        rng = random.Random(_hash(self.seed, _S_VIDEO, spec.index, number))
        offset = math.floor((number + self._phase(spec.index, number)) * spec.spacing_s)
        duration, live = _duration(rng)
        topic = rng.choice(spec.themes)
        tags = _tags(rng, spec.themes)
        title = f"{_pretty(topic)} {rng.choice(_TITLE_SUFFIXES)} #{number + 1}"
        views = int(math.exp(rng.gauss(math.log(1 + spec.subscribers), 1.0)))
        likes = int(views * rng.uniform(0.005, 0.06))
        return VideoSpec(
            id=self.video_id(spec.index, number),
            channel=spec.index,
            number=number,
            title=title,
            description=f"{title}. In this video: {', '.join(tags) or topic}.",
            published_at=spec.created_at + timedelta(seconds=offset),
            duration_s=duration,
            live=live,
            tags=tags,
            category_id=rng.choice(_CATEGORY_IDS),
            hd=rng.random() < 0.9,
            views=views,
            likes=likes,
            comments=int(likes * rng.uniform(0.02, 0.2)),
        )

    def uploads(
        self, index: int, offset: int, limit: int, at: datetime | None = None
    ) -> tuple[int, list[VideoSpec]]:
        """``(total, page)``: the uploads playlist at ``at``, newest first, from ``offset`` on."""
        channel = self.channel(index)
        total = self._count(index, channel.created_at, channel.spacing_s, at)
        stop = min(total, offset + limit)
        return total, [self.video(channel, total - 1 - p) for p in range(offset, stop)]

    # -- internals -------------------------------------------------------------------------

    def _check_index(self, index: int) -> None:
        if not 0 <= index < self.n_channels:
            raise IndexError(f"channel index {index} out of range 0..{self.n_channels - 1}")

    def _timeline(self, index: int) -> tuple[datetime, float | None, int]:
        """``(created_at, spacing_s, videos at the epoch)``: all that counting uploads needs."""
        # Whole seconds, so a video goes public exactly at its (whole-second) publishedAt.
        age_s = 30 * 86_400 + _hash(self.seed, _S_AGE, index) % (3_970 * 86_400)
        videos = _lognormal_count(_hash(self.seed, _S_VIDEOS, index) / 2**64)
        return EPOCH - timedelta(seconds=age_s), (age_s / videos if videos else None), videos

    def _count(
        self, index: int, created_at: datetime, spacing_s: float | None, at: datetime | None
    ) -> int:
        if spacing_s is None:
            return 0
        # Video k is public from the whole second floor(p_k), p_k = created + (k + u_k) * spacing.
        whole = math.floor(((at or self.clock()) - created_at).total_seconds()) + 1
        if whole <= 0:
            return 0
        x = whole / spacing_s
        m = math.floor(x)
        count = m + (self._phase(index, m) < x - m)
        return min(count, MAX_VIDEOS_PER_CHANNEL)

    def _channel_body(self, index: int) -> str:
        high = _feistel((self._check << 32) | index, self._channel_keys)
        low = _hash(self.seed, _S_CHECK, index)
        # 128 bits in 22 characters leave 4 zero bits at the end, as in real ids ("…A", "…w").
        return _encode((high << 64) | low, 16)

    def _phase(self, index: int, number: int) -> float:
        return _hash(self.seed, _S_PHASE, index, number) / 2**64


def _mix(x: int) -> int:
    """SplitMix64's finaliser: a cheap, well-spread 64-bit hash step."""
    x = (x + 0x9E3779B97F4A7C15) & _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def _mix_array(x: npt.NDArray[np.uint64]) -> npt.NDArray[np.uint64]:
    """``_mix`` for a whole array."""
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def _hash(seed: int, salt: int, a: int = 0, b: int = 0) -> int:
    """64 well-mixed bits from four integers (blake2b: C speed, unlike chained ``_mix``)."""
    data = _PACK(seed & _M64, salt, a, b)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def _feistel(block: int, keys: tuple[int, ...]) -> int:
    """A keyed permutation of 64-bit blocks: ids look random yet decode back to their indices."""
    left, right = block >> 32, block & _M32
    for key in keys:
        left, right = right, left ^ (_mix(right ^ key) & _M32)
    return (left << 32) | right


def _unfeistel(block: int, keys: tuple[int, ...]) -> int:
    left, right = block >> 32, block & _M32
    for key in reversed(keys):
        left, right = right ^ (_mix(left ^ key) & _M32), left
    return (left << 32) | right


def _encode(value: int, n_bytes: int) -> str:
    """URL-safe base64 of ``n_bytes`` bytes, unpadded: 8 bytes → 11 characters, 16 → 22."""
    return base64.urlsafe_b64encode(value.to_bytes(n_bytes, "big")).rstrip(b"=").decode()


def _decode(text: str, n_bytes: int) -> int | None:
    """The inverse of ``_encode``; ``None`` unless ``text`` is exactly what it would produce."""
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, binascii.Error):
        return None
    value = int.from_bytes(raw, "big")
    # The round trip rejects stray characters and non-zero trailing bits alike.
    return value if len(raw) == n_bytes and _encode(value, n_bytes) == text else None


def _lognormal_count(u: float) -> int:
    """Videos at the epoch: lognormal, median 20, sigma 1.5, capped at 20,000."""
    z = _NORMAL.inv_cdf(min(max(u, 1e-12), 1 - 1e-12))
    return min(20_000, math.floor(20 * math.exp(1.5 * z)))


def _duration(rng: random.Random) -> tuple[int, bool]:
    """``(seconds, live)``: Shorts, ordinary videos, long-form, and live streams up to 30 h."""
    kind = rng.random()
    if kind < 0.003:
        return rng.randint(3_600, 48 * 3_600), True
    if kind < 0.2:
        return rng.randint(5, 60), False
    if kind < 0.97:
        return min(3 * 3_600, max(61, int(math.exp(rng.gauss(math.log(600), 0.8))))), False
    return rng.randint(3_600, 12 * 3_600), False


def _tags(rng: random.Random, themes: tuple[str, ...]) -> tuple[str, ...]:
    """0-12 tags: mostly the channel's themes and popular words, some filler, varied spelling."""
    if rng.random() < 0.15:
        return ()
    words: dict[str, None] = {}
    for _ in range(rng.randint(1, 12)):
        draw = rng.random()
        if draw < 0.45:
            word = rng.choice(themes)
        elif draw < 0.8:
            # Squaring skews the pick to the front of the list: a few words are popular.
            word = TAG_WORDS[int(len(TAG_WORDS) * rng.random() ** 2)]
        else:
            word = rng.choice(FILLER_WORDS)
        words.setdefault(_spelling(rng, word))
    return tuple(words)


def _spelling(rng: random.Random, word: str) -> str:
    style = rng.random()
    if style < 0.7:
        return word
    if style < 0.85:
        return word.title()
    if style < 0.92:
        return word.upper()
    return word.replace(" ", "-")


def _pretty(word: str) -> str:
    return word[:1].upper() + word[1:]


# A video is a pure function of (seed, channels, index, number) and building one costs ~0.1 ms:
# every playlist page and video read builds dozens, so the fake's own CPU would otherwise compete
# with the pipeline it serves (the capacity windows read 5,000 channels per window). Bounded at
# ~180 MB (about 700 B a video).
@functools.lru_cache(maxsize=1 << 18)
def _cached_video(seed: int, n_channels: int, index: int, number: int) -> VideoSpec:
    return _canonical(seed, n_channels)._video(index, number)


@functools.cache
def _canonical(seed: int, n_channels: int) -> Catalogue:
    return Catalogue(seed, n_channels)
