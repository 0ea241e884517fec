"""The population's rows, computed from the catalogue in vectorised chunks.

The population is the fake YouTube catalogue's (:mod:`ytscale.fake.catalogue`) as it stands at
``config.now``: user ``u`` (ids start at 1) owns channel ``u - 1``, its content source points at
that channel with ``last_video_id`` its newest public video, and its projects are that channel's
newest ``M`` videos; a channel with fewer fills the rest with videos of bigger channels, as users
also import other people's videos. A later sync of a source therefore pages until a known video
and finds exactly what the channel uploaded after ``now``. Sources fall due evenly over
``sync_interval``: at ``now`` (and in every ``window`` after) ``window / sync_interval`` of them
are due, as in a steady state.

Every row is a pure function of ``config``: the same config gives the same rows. Video and
channel ids are the catalogue's exactly; ``published_at`` is the start of the video's upload slot
(the catalogue adds a hashed fraction of a slot) and duration, views and titles are cheap stand-ins,
because a per-video hash would double the build time.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt

from reference import pipeline
from reference.models import Base
from reference.videos import watch_url
from ytscale.fake.catalogue import DEFAULT_CHANNELS, EPOCH, Catalogue

Ints = npt.NDArray[np.int64]
Row = tuple[Any, ...]

TABLES = Base.metadata.tables
PROJECTS = TABLES["projects"]
#: Tables the seed fills, parents first.
SEEDED = (
    "users",
    "content_sources",
    "tools",
    "tool_aliases",
    "categories",
    "projects",
    "project_tools",
    "project_categories",
)
COLUMNS = {
    "users": ("id", "name", "created_at"),
    "content_sources": (
        "id", "user_id", "channel_id", "uploads_playlist_id", "is_active", "next_sync_at",
        "last_synced_at", "last_video_id", "failure_count", "last_error",
    ),
    "projects": (
        "id", "user_id", "video_id", "external_url", "title", "channel_id", "published_at",
        "duration_s", "view_count", "created_at", "updated_at",
    ),
    "project_tools": ("project_id", "tool_id"),
    "project_categories": ("project_id", "category_id"),
}  # fmt: skip


@dataclass(frozen=True)
class SeedConfig:
    """What to build. ``now`` is the instant the population is taken at (whole seconds, UTC).

    It defaults to the catalogue's epoch, where a fresh ``SimClock`` starts: the fake YouTube and
    the scheduler should run on a clock started at ``now``.
    """

    users: int = 100_000
    videos_per_user: int = 50
    seed: int = 1
    now: datetime = EPOCH
    #: How often a source is synced: 24 h spreads them so 1/96 fall due per 15-minute window.
    sync_interval: timedelta = pipeline.SYNC_INTERVAL
    #: The scheduler's window: the sources due at ``now`` are those that fell due in the last one.
    window: timedelta = timedelta(seconds=pipeline.WINDOW_S)
    n_tools: int = 1_000
    n_categories: int = 40

    def __post_init__(self) -> None:
        if not 1 <= self.users <= DEFAULT_CHANNELS:
            raise ValueError(
                f"users must be 1..{DEFAULT_CHANNELS} (one channel each), not {self.users}"
            )
        if self.videos_per_user < 1:
            raise ValueError(f"videos_per_user must be >= 1, not {self.videos_per_user}")
        if self.now.tzinfo is None or self.now.microsecond:
            raise ValueError(f"now must be aware and in whole seconds, not {self.now!r}")
        if not timedelta(0) < self.window <= self.sync_interval:
            raise ValueError("need 0 < window <= sync_interval")
        if self.n_tools < 1 or self.n_categories < 1:
            raise ValueError("the vocabulary needs at least one tool and one category")

    @property
    def projects(self) -> int:
        return self.users * self.videos_per_user


class SeededRows:
    """The rows of ``config``'s population, computed from the catalogue in vectorised chunks."""

    def __init__(self, config: SeedConfig) -> None:
        self.config = config
        self.catalogue = Catalogue(seed=config.seed)
        self.now_s = int(config.now.timestamp())
        m = config.videos_per_user
        ids: list[str] = []
        playlists: list[str] = []
        titles: list[str] = []
        counts: list[int] = []
        created: list[int] = []
        spacing: list[float] = []
        # Channels 0..users-1 belong to users; ones past them only join if too few channels have
        # m videos to lend the small ones.
        index = lenders = 0
        while index < config.users or lenders < m:
            spec = self.catalogue.channel(index)
            ids.append(spec.id)
            playlists.append(spec.uploads_playlist_id)
            titles.append(spec.title)
            counts.append(self.catalogue.video_count(index, config.now))
            created.append(int(spec.created_at.timestamp()))
            spacing.append(spec.spacing_s or 0.0)
            lenders += counts[-1] >= m
            index += 1
        self.channel_ids = np.array(ids)
        self.playlists = playlists
        self.titles = np.array(titles)
        self.counts: Ints = np.array(counts, dtype=np.int64)
        self.created_s: Ints = np.array(created, dtype=np.int64)
        self.spacing_s = np.array(spacing, dtype=np.float64)
        #: Channels with at least m videos: the ones small channels' users borrow from.
        self.lenders: Ints = np.flatnonzero(self.counts >= m).astype(np.int64)

    def users(self, ts: Formatter) -> list[Row]:
        now = ts(np.array([self.now_s]))[0]
        n = self.config.users
        return list(zip(range(1, n + 1), self.titles[:n].tolist(), repeat(now), strict=False))

    def sources(self, ts: Formatter) -> list[Row]:
        config, n = self.config, self.config.users
        interval = int(config.sync_interval.total_seconds())
        rng = random.Random(config.seed)
        slots = list(range(n))
        rng.shuffle(slots)
        # Stratified: one source per 1/n of the interval, so every window gets its exact share.
        offsets = np.array([(slot + rng.random()) * interval / n for slot in slots])
        # Rounded up, so none is due before the window that ends at now.
        due: Ints = (
            self.now_s - int(config.window.total_seconds()) + np.ceil(offsets).astype(np.int64)
        )
        counts = self.counts[:n]
        has_videos = counts > 0
        newest = self.catalogue.video_ids(np.arange(n), np.maximum(counts - 1, 0))
        last_video = [v if ok else None for v, ok in zip(newest, has_videos.tolist(), strict=True)]
        return list(
            zip(
                range(1, n + 1),
                range(1, n + 1),
                self.channel_ids[:n].tolist(),
                self.playlists[:n],
                repeat(True),
                ts(due),
                ts(due - interval),
                last_video,
                repeat(0),
                repeat(None),
                strict=False,
            )
        )

    def projects(self, ts: Formatter, first: int, stop: int) -> list[Row]:
        """The projects of users ``first + 1 .. stop``: M consecutive ids per user."""
        m = self.config.videos_per_user
        user: Ints = np.arange(first, stop, dtype=np.int64)[:, None]
        slot: Ints = np.arange(m, dtype=np.int64)[None, :]
        count = self.counts[user]
        own = np.minimum(count, m)
        # The channel's newest videos, oldest first; then borrowed ones, each from another lender
        # (a user with m videos of its own borrows none, so it never lends to itself).
        borrowed = slot - own
        lender = self.lenders[(user * 7919 + borrowed) % len(self.lenders)]
        is_own = slot < own
        channel = np.where(is_own, user, lender).ravel()
        number = np.where(
            is_own, count - own + slot, (user * 31 + borrowed * 7) % self.counts[lender]
        ).ravel()
        published = self.created_s[channel] + (number * self.spacing_s[channel]).astype(np.int64)
        video_ids = self.catalogue.video_ids(channel, number)
        titles = self.titles[channel].tolist()
        url = watch_url("")  # the URL is its prefix and the id: one concatenation per row
        now = ts(np.array([self.now_s]))[0]
        ids: Ints = np.arange(first * m + 1, stop * m + 1, dtype=np.int64)
        return list(
            zip(
                ids.tolist(),
                np.repeat(user.ravel() + 1, m).tolist(),
                video_ids,
                [url + v for v in video_ids],
                [f"{t} #{n + 1}" for t, n in zip(titles, number.tolist(), strict=True)],
                self.channel_ids[channel].tolist(),
                ts(published),
                # Stand-ins that vary like real ones and cost nothing.
                (30 + (ids * 2654435761) % 1800).tolist(),
                ((ids * 40503) % 1_000_003).tolist(),
                repeat(now),
                repeat(now),
                strict=False,
            )
        )

    def links(self, tag_ids: Sequence[int], stride: int) -> list[Row]:
        """One tag link per user, on its last project: enough for the tag tables to matter."""
        m = self.config.videos_per_user
        return [
            (u * m, tag_ids[u * stride % len(tag_ids)]) for u in range(1, self.config.users + 1)
        ]


#: Seconds since the Unix epoch → one text per value, as the backend stores timestamps.
Formatter = Callable[[Ints], list[str]]
