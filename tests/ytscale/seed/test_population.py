"""The seeded rows: the catalogue's channels and videos, determinism, due times spread evenly."""

from __future__ import annotations

from dataclasses import replace

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from reference import sources
from reference.db import make_engine
from reference.models import ContentSource, Project
from reference.videos import watch_url
from tests.ytscale.seed.helpers import SMALL, TINY, dump
from ytscale.fake.catalogue import Catalogue
from ytscale.seed import seed


def test_sources_and_projects_are_the_catalogues_channels(seeded: Engine) -> None:
    """User u's source is channel u-1 at its newest video; every project is a public video."""
    catalogue = Catalogue(seed=SMALL.seed)
    m = SMALL.videos_per_user
    with Session(seeded) as session:
        for user_id in (1, 2, 57, 200):
            index = user_id - 1
            source = session.scalars(
                select(ContentSource).where(ContentSource.user_id == user_id)
            ).one()
            _, newest = catalogue.uploads(index, 0, m, at=SMALL.now)
            assert source.channel_id == catalogue.user_channel_id(index)
            assert source.uploads_playlist_id == catalogue.uploads_playlist_id(index)
            # A sync pages newest-first until it meets this id: it sees only later uploads.
            assert source.last_video_id == (newest[0].id if newest else None)
            projects = session.scalars(select(Project).where(Project.user_id == user_id)).all()
            own = {p.video_id for p in projects if p.channel_id == source.channel_id}
            assert own == {video.id for video in newest}
            for project in projects:
                located = catalogue.locate_video(project.video_id, at=SMALL.now)
                assert located is not None, f"{project.video_id} is not public at seed time"
                assert project.channel_id == catalogue.channel_id(located[0])
                assert project.external_url == watch_url(project.video_id)


def test_small_channels_borrow_videos_of_others(seeded: Engine) -> None:
    catalogue = Catalogue(seed=SMALL.seed)
    small = next(i for i in range(SMALL.users) if catalogue.video_count(i, SMALL.now) == 0)
    with Session(seeded) as session:
        channels = session.scalars(select(Project.channel_id).where(Project.user_id == small + 1))
        assert len(set(channels)) == SMALL.videos_per_user


def test_same_seed_same_rows_other_seed_other_rows(url: str) -> None:
    engine = make_engine(url)
    try:
        seed(url, SMALL)
        first = dump(engine)
        seed(url, SMALL, replace=True)
        assert dump(engine) == first
        seed(url, replace(SMALL, seed=2), replace=True)
        other = dump(engine)
    finally:
        engine.dispose()
    assert other["projects"] != first["projects"]
    assert other["content_sources"] != first["content_sources"]


def test_sources_fall_due_evenly_from_now(url: str) -> None:
    """The scheduler's query sees 1/96 of the sources per 15-minute window, from now on."""
    config = replace(TINY, users=960)
    seed(url, config)
    engine = make_engine(url)
    share = config.users // 96
    try:
        with Session(engine) as session:
            due = [
                len(sources.due_sources(session, config.now + k * config.window, config.users))
                for k in range(-1, 96)
            ]
    finally:
        engine.dispose()
    assert due[0] == 0, "nothing was due before the window that ends at now"
    windows = [after - before for before, after in zip(due, due[1:], strict=False)]
    assert all(share - 1 <= count <= share + 1 for count in windows), windows
    assert due[-1] == config.users
