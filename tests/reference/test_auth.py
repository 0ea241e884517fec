"""Tokens: derivable with the secret, unforgeable without it, one per user; the known-user cache."""

from __future__ import annotations

import pytest

from reference.auth import MAX_USER_ID, KnownUsers, token_for, user_from_token

SECRET = "s3cret"


def test_a_token_names_its_user_under_the_secret_it_was_derived_with() -> None:
    token = token_for(SECRET, 42)
    assert token.startswith("42.") and len(token) == len("42.") + 32
    assert user_from_token(SECRET, token) == 42
    assert token_for(SECRET, 42) == token  # derivable again, no state
    assert token_for(SECRET, 43) != token


@pytest.mark.parametrize(
    "token",
    [
        "",
        "42",
        "42.",
        "43." + token_for(SECRET, 42).split(".")[1],  # another user's signature
        token_for("other secret", 42),
        token_for(SECRET, 42)[:-1] + ("0" if token_for(SECRET, 42)[-1] != "0" else "1"),
        token_for(SECRET, 42).upper(),
        "042." + token_for(SECRET, 42).split(".")[1],  # one user, one token: no leading zero
        "+42." + token_for(SECRET, 42).split(".")[1],
        "0." + "0" * 32,
        f"{MAX_USER_ID + 1}." + "0" * 32,
        token_for(SECRET, 42) + "x",
        " " + token_for(SECRET, 42),
    ],
)
def test_anything_but_the_exact_token_is_refused(token: str) -> None:
    assert user_from_token(SECRET, token) is None


def test_user_ids_outside_the_key_range_have_no_token() -> None:
    for bad in (0, -1, MAX_USER_ID + 1):
        with pytest.raises(ValueError, match="user id"):
            token_for(SECRET, bad)
    assert user_from_token(SECRET, token_for(SECRET, MAX_USER_ID)) == MAX_USER_ID


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_known_users_asks_once_per_ttl_and_never_remembers_unknown_ones() -> None:
    asked: list[int] = []
    clock = Clock()
    users = KnownUsers(lambda uid: asked.append(uid) or uid < 10, ttl_s=60, clock=clock)
    assert 1 in users and 1 in users and users.seen(1)
    assert asked == [1]
    assert 99 not in users and 99 not in users
    assert asked == [1, 99, 99]
    clock.now = 61
    assert not users.seen(1)
    assert 1 in users and asked == [1, 99, 99, 1]


def test_known_users_forgets_the_least_recent_beyond_capacity() -> None:
    users = KnownUsers(lambda uid: True, capacity=2, clock=Clock())
    for uid in (1, 2):
        assert uid in users
    assert users.seen(1)  # 1 is now the most recent
    assert 3 in users
    assert users.seen(1) and users.seen(3) and not users.seen(2)
