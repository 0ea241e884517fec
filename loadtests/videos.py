"""Video and channel URLs for the load: ones a user already has, and ones nobody has.

The seed (:mod:`ytscale.seed`) gives user ``u`` the newest videos of catalogue channel ``u - 1``
as they stood at the seed's instant, so the generator knows, without asking the API, a video each
user holds (its import answers 200 at once) and where to find videos nobody holds (channels past
the population's, whose import is queued and fetched from the fake YouTube)::

    library = Library(users=100_000, seed=1)
    library.url(library.owned(42), rng)    # "https://youtu.be/…": a duplicate for user 42
    library.url(library.fresh(rng), rng)   # a video no seeded user has

A staging that imports real YouTube videos has no such catalogue: :class:`UrlFiles` draws from
the engineer's lists (``--videos-file``, ``--channels-file``) and knows a user's video only once
the scenario has imported it for them. Either is a :class:`Videos` to the scenario, which never
calls YouTube itself.
"""

from __future__ import annotations

import random
from collections import OrderedDict
from datetime import datetime
from pathlib import Path
from typing import Protocol

from ytscale.fake.catalogue import Catalogue
from ytscale.seed import SeedConfig

#: The forms people paste; the API must see through all of them to one video.
URL_FORMS = (
    "https://www.youtube.com/watch?v={}",
    "https://youtu.be/{}",
    "https://m.youtube.com/watch?v={}&t=42",
    "https://www.youtube.com/shorts/{}",
    "youtube.com/watch?feature=share&v={}",
)
#: A URL the API must refuse, as a pasted list sometimes holds one.
NOT_A_VIDEO = "https://vimeo.com/76979871"


class Videos(Protocol):
    """What the scenario draws its URLs from."""

    def fresh_url(self, rng: random.Random) -> str:
        """A video URL the user is unlikely to hold."""
        ...

    def fresh_urls(self, rng: random.Random, count: int) -> list[str]:
        """``count`` of them, for a duplicate check."""
        ...

    def owned_url(self, user_id: int, rng: random.Random) -> str | None:
        """A video URL ``user_id`` holds (None: none known)."""
        ...

    def channel(self, rng: random.Random) -> str:
        """A channel to import."""
        ...

    def imported(self, user_id: int, url: str) -> None:
        """The target accepted ``url`` for ``user_id``."""
        ...


class Library:
    """The catalogue as the seed used it: ``seed`` and ``at`` must be the seed's."""

    def __init__(self, users: int, seed: int = SeedConfig.seed, at: datetime | None = None):
        self.catalogue = Catalogue(seed=seed)
        if not 1 <= users < self.catalogue.n_channels:
            raise ValueError(f"users must be 1..{self.catalogue.n_channels - 1}, not {users}")
        self.users = users
        self.at = at or SeedConfig.now

    def owned(self, user_id: int) -> str | None:
        """A video seeded for ``user_id``: its channel's newest (None: the channel has none)."""
        index = user_id - 1
        count = self.catalogue.video_count(index, self.at)
        return self.catalogue.video_id(index, count - 1) if count else None

    def fresh(self, rng: random.Random) -> str:
        """A video of a channel past the population's, which no seeded user holds."""
        while True:
            index = rng.randrange(self.users, self.catalogue.n_channels)
            count = self.catalogue.video_count(index, self.at)
            if count:
                return self.catalogue.video_id(index, rng.randrange(count))

    def small_channel(self, rng: random.Random, max_videos: int = 50) -> str:
        """The @handle of a channel past the population's with 1..``max_videos`` uploads."""
        while True:
            index = rng.randrange(self.users, self.catalogue.n_channels)
            if 1 <= self.catalogue.video_count(index, self.at) <= max_videos:
                return self.catalogue.channel(index).handle

    @staticmethod
    def url(video_id: str, rng: random.Random) -> str:
        return rng.choice(URL_FORMS).format(video_id)

    def fresh_url(self, rng: random.Random) -> str:
        return self.url(self.fresh(rng), rng)

    def fresh_urls(self, rng: random.Random, count: int) -> list[str]:
        return [self.fresh_url(rng) for _ in range(count)]

    def owned_url(self, user_id: int, rng: random.Random) -> str | None:
        video = self.owned(user_id)
        return None if video is None else self.url(video, rng)

    def channel(self, rng: random.Random) -> str:
        return self.small_channel(rng)

    def imported(self, user_id: int, url: str) -> None:
        """The seed, not the run, decides what a user holds."""


class UrlFiles:
    """URLs from the engineer's files, one a line (``#`` comments and blank lines skipped)."""

    #: Users whose last accepted import is remembered, for duplicates.
    REMEMBERED = 10_000

    def __init__(self, videos: list[str], channels: list[str]) -> None:
        if not videos or not channels:
            raise ValueError("UrlFiles needs at least one video and one channel")
        self.videos, self.channels = videos, channels
        self._held: OrderedDict[int, str] = OrderedDict()

    @classmethod
    def read(cls, videos: Path | str, channels: Path | str) -> UrlFiles:
        return cls(_lines(videos), _lines(channels))

    def fresh_url(self, rng: random.Random) -> str:
        return self.videos[rng.randrange(len(self.videos))]

    def fresh_urls(self, rng: random.Random, count: int) -> list[str]:
        return rng.choices(self.videos, k=count)  # one call: a check asks for 18 at a time

    def owned_url(self, user_id: int, rng: random.Random) -> str | None:
        return self._held.get(user_id)

    def channel(self, rng: random.Random) -> str:
        return self.channels[rng.randrange(len(self.channels))]

    def imported(self, user_id: int, url: str) -> None:
        self._held[user_id] = url
        self._held.move_to_end(user_id)
        if len(self._held) > self.REMEMBERED:
            self._held.popitem(last=False)


def _lines(path: Path | str) -> list[str]:
    with open(path) as f:
        found = [line.strip() for line in f if line.strip() and not line.lstrip().startswith("#")]
    if not found:
        raise ValueError(f"{path}: no URLs (one a line)")
    return found
