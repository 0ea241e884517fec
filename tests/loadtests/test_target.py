"""Where the load goes: tokens (derived or from CSV), the URLs, and the loopback guard."""

from __future__ import annotations

import random
from argparse import Namespace
from pathlib import Path

import pytest

from loadtests.target import RemoteHostRefused, Tokens, require_loopback, videos_from_options
from loadtests.videos import Library, UrlFiles
from reference.auth import token_for, user_from_token


def test_derived_tokens_act_as_seeded_users_the_api_accepts() -> None:
    tokens = Tokens.derived("s3cret", users=1000)
    rng = random.Random(7)
    picks = [tokens.pick(rng) for _ in range(200)]
    assert all(1 <= user_id <= 1000 for user_id, _ in picks)
    assert len({user_id for user_id, _ in picks}) > 150  # spread over the population
    for user_id, token in picks:
        assert user_from_token("s3cret", token) == user_id


def test_tokens_can_come_from_a_csv_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.csv"
    path.write_text(f"user_id,token\n7,{token_for('x', 7)}\n9, abc \n")
    tokens = Tokens.from_csv(path)
    assert len(tokens) == 2 and tokens.token(9) == "abc"
    assert {tokens.pick(random.Random(seed))[0] for seed in range(20)} == {7, 9}
    (tmp_path / "empty.csv").write_text("user_id,token\n")
    with pytest.raises(ValueError, match="no 'user_id,token' rows"):
        Tokens.from_csv(tmp_path / "empty.csv")


@pytest.mark.parametrize(
    "host",
    ["http://127.0.0.1:8000", "http://localhost", "https://[::1]:443", "127.9.9.9", None, ""],
)
def test_loopback_hosts_pass_the_guard(host: str | None) -> None:
    require_loopback(host, allow_remote=False)


@pytest.mark.parametrize(
    "host", ["https://staging.example.com", "http://10.0.0.5:8000", "http://0.0.0.0:8000"]
)
def test_remote_hosts_need_the_opt_in(host: str) -> None:
    with pytest.raises(RemoteHostRefused, match="--allow-remote-host"):
        require_loopback(host, allow_remote=False)
    require_loopback(host, allow_remote=True)


def test_urls_come_from_files_given_both_or_from_the_catalogue(tmp_path: Path) -> None:
    (tmp_path / "v.txt").write_text("# real videos\nhttps://youtu.be/a\n\n")
    (tmp_path / "c.txt").write_text("@chan\n")
    options = Namespace(videos_file="", channels_file="", population_users=50, catalogue_seed=1)
    assert isinstance(videos_from_options(options), Library)
    options.videos_file, options.channels_file = tmp_path / "v.txt", tmp_path / "c.txt"
    files = videos_from_options(options)
    assert isinstance(files, UrlFiles) and files.videos == ["https://youtu.be/a"]
    options.channels_file = ""
    with pytest.raises(ValueError, match="go together"):
        videos_from_options(options)
