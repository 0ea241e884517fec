"""Video URLs for the load: ones a seeded user already has, and ones no seeded user has.

The seed (:mod:`ytscale.seed`) gives user ``u`` the newest videos of catalogue channel ``u - 1``
as they stood at the seed's instant, so the generator knows, without asking the API, a video each
user holds (its import answers 200 at once) and where to find videos nobody holds (channels past
the population's, whose import is queued and fetched from the fake YouTube)::

    library = Library(users=100_000, seed=1)
    library.url(library.owned(42), rng)    # "https://youtu.be/…": a duplicate for user 42
    library.url(library.fresh(rng), rng)   # a video no seeded user has
"""

from __future__ import annotations

import random
from datetime import datetime

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
