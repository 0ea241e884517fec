"""The generator's idea of who holds which video agrees with the seeded database."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from sqlalchemy import select

from loadtests.videos import URL_FORMS, Library, UrlFiles
from reference.db import make_engine
from reference.models import Project
from reference.videos import canonical_video_id
from ytscale import seed

USERS = 40


def test_owned_videos_are_seeded_for_their_user_and_fresh_ones_for_nobody(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seeded.db'}"
    seed.seed(url, seed.SeedConfig(users=USERS, videos_per_user=3), progress=False)
    engine = make_engine(url)
    with engine.connect() as conn:
        held = set(conn.execute(select(Project.user_id, Project.video_id)).tuples())
    engine.dispose()
    library = Library(USERS)
    owned = {user: library.owned(user) for user in range(1, USERS + 1)}
    assert sum(v is not None for v in owned.values()) >= USERS * 0.9  # ~2 % of channels are empty
    for user, video in owned.items():
        if video is not None:
            assert (user, video) in held
    rng = random.Random(3)
    everyone = {video for _, video in held}
    assert not {library.fresh(rng) for _ in range(200)} & everyone


def test_urls_take_every_form_and_name_the_video() -> None:
    library, rng = Library(USERS), random.Random(5)
    video = library.fresh(rng)
    urls = {library.url(video, rng) for _ in range(200)}
    assert len(urls) == len(URL_FORMS)
    assert {canonical_video_id(u) for u in urls} == {video}


def test_small_channels_have_at_most_a_page_of_uploads() -> None:
    library, rng = Library(USERS), random.Random(11)
    for _ in range(20):
        handle = library.small_channel(rng, max_videos=50)
        index = library.catalogue.locate_handle(handle)
        assert index is not None and index >= USERS
        assert 1 <= library.catalogue.video_count(index, library.at) <= 50


def test_url_files_know_a_users_video_once_the_scenario_imported_it(tmp_path: Path) -> None:
    files = UrlFiles(["https://youtu.be/a", "https://youtu.be/b"], ["@c"])
    rng = random.Random(1)
    assert files.owned_url(7, rng) is None
    files.imported(7, "https://youtu.be/b")
    assert files.owned_url(7, rng) == "https://youtu.be/b"
    assert {files.fresh_url(rng) for _ in range(50)} == set(files.videos)
    assert files.channel(rng) == "@c"
    for user in range(UrlFiles.REMEMBERED + 1):
        files.imported(100 + user, "https://youtu.be/a")
    assert files.owned_url(7, rng) is None  # the oldest is forgotten: memory stays bounded
    (tmp_path / "empty.txt").write_text("# nothing\n")
    with pytest.raises(ValueError, match="no URLs"):
        UrlFiles.read(tmp_path / "empty.txt", tmp_path / "empty.txt")
