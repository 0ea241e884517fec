"""Where the load goes: profiles, tokens (derived or from CSV), and the loopback guard."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from loadtests.population import ACTIONS
from loadtests.target import DEFAULT_PROFILE, Profile, RemoteHostRefused, Tokens, require_loopback
from reference.auth import token_for, user_from_token


def test_the_default_profile_names_every_action_of_the_reference_api() -> None:
    profile = Profile.load(DEFAULT_PROFILE)
    assert set(profile.paths) >= set(ACTIONS)
    assert profile.paths["import_status"] == "/v1/imports/{request_id}"
    assert profile.headers("t0k") == {"Authorization": "Bearer t0k"}


def test_a_profile_for_another_deployment(tmp_path: Path) -> None:
    text = DEFAULT_PROFILE.read_text().replace("/v1/", "/api/v2/")
    text = text.replace('header = "Authorization"', 'header = "X-Api-Token"')
    text = text.replace('scheme = "Bearer"', 'scheme = ""')
    (tmp_path / "staging.toml").write_text(text)
    profile = Profile.load(tmp_path / "staging.toml")
    assert profile.paths["quota"] == "/api/v2/quota"
    assert profile.headers("t0k") == {"X-Api-Token": "t0k"}


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda t: t.replace('quota = "/v1/quota"\n', ""), "lacks quota"),
        (lambda t: t.replace("/v1/imports/{request_id}", "/v1/imports"), "request_id"),
    ],
)
def test_an_incomplete_profile_says_what_it_lacks(
    tmp_path: Path, edit: object, message: str
) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(edit(DEFAULT_PROFILE.read_text()))  # type: ignore[operator]
    with pytest.raises(ValueError, match=message):
        Profile.load(path)


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
