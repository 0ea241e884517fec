"""Where the load goes and whom it acts as: the endpoint profile, the users' tokens, the host guard.

```python
profile = Profile.load(DEFAULT_PROFILE)           # paths and auth header of the reference API
tokens = Tokens.derived(secret, users=100_000)    # users 1..N, tokens derived as the API does
tokens = Tokens.from_csv("tokens.csv")            # or given: "user_id,token" per line
user_id, token = tokens.pick(rng)
require_loopback("http://staging.example", allow_remote=False)   # RemoteHostRefused
```

Staging-safe by default: a run whose host is not loopback stops before any request unless the
person passes ``--allow-remote-host``.
"""

from __future__ import annotations

import csv
import logging
import os
import random
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment

from loadtests.population import ACTIONS
from reference.auth import token_for
from reference.settings import Settings
from ytscale.net import is_loopback

log = logging.getLogger(__name__)

DEFAULT_PROFILE = Path(__file__).parent / "profiles" / "local.toml"


class RemoteHostRefused(ValueError):
    """The host is not loopback and the person did not opt in to a remote one."""


@dataclass(frozen=True)
class Profile:
    """The paths of each action and how the token is sent: what differs between deployments."""

    paths: Mapping[str, str]
    auth_header: str = "Authorization"
    auth_scheme: str = "Bearer"

    @classmethod
    def load(cls, path: Path | str) -> Profile:
        with open(path, "rb") as f:
            data = tomllib.load(f)
        paths = data.get("paths", {})
        # A path for every action; ``import_status`` holds ``{request_id}``.
        missing = [action for action in ACTIONS if action not in paths]
        if missing:
            raise ValueError(f"{path}: [paths] lacks {', '.join(missing)}")
        if "{request_id}" not in paths["import_status"]:
            raise ValueError(f"{path}: paths.import_status must contain {{request_id}}")
        auth = data.get("auth", {})
        return cls(
            paths=dict(paths),
            auth_header=auth.get("header", cls.auth_header),
            auth_scheme=auth.get("scheme", cls.auth_scheme),
        )

    def headers(self, token: str) -> dict[str, str]:
        value = f"{self.auth_scheme} {token}" if self.auth_scheme else token
        return {self.auth_header: value}


class Tokens:
    """The users a run acts as, each with its token."""

    def __init__(self, user_ids: Sequence[int], token: Callable[[int], str]) -> None:
        if not user_ids:
            raise ValueError("no users to act as")
        self.user_ids = user_ids
        self.token = token

    @classmethod
    def derived(cls, secret: str, users: int) -> Tokens:
        """Users ``1..users`` (the seeded population), tokens derived from the shared secret."""
        return cls(range(1, users + 1), cache(lambda user_id: token_for(secret, user_id)))

    @classmethod
    def from_csv(cls, path: Path | str) -> Tokens:
        """``user_id,token`` rows (a header line is allowed): for a deployment whose secret is
        not ours to hold."""
        with open(path, newline="") as f:
            rows = [row for row in csv.reader(f) if row and row[0].strip().isdigit()]
        if not rows:
            raise ValueError(f"{path}: no 'user_id,token' rows")
        table = {int(user_id): token.strip() for user_id, token, *_ in rows}
        return cls(sorted(table), table.__getitem__)

    def __len__(self) -> int:
        return len(self.user_ids)

    def pick(self, rng: random.Random) -> tuple[int, str]:
        """A user, uniformly at random, and their token."""
        user_id = self.user_ids[rng.randrange(len(self.user_ids))]
        return user_id, self.token(user_id)


def require_loopback(host: str | None, *, allow_remote: bool) -> None:
    """Refuse a URL (or bare host) that is not loopback, unless ``allow_remote``."""
    name = urlsplit(host if host and "://" in host else f"http://{host}").hostname or ""
    if host and not allow_remote and not is_loopback(name):
        raise RemoteHostRefused(
            f"refusing to load {host}: not loopback. Pass --allow-remote-host to load a remote "
            "deployment (make sure it is yours and meant for load)."
        )


@dataclass(frozen=True)
class Target:
    profile: Profile
    tokens: Tokens

    @classmethod
    def from_options(cls, options: Any) -> Target:
        profile = Profile.load(options.target_profile)
        if options.tokens_csv:
            tokens = Tokens.from_csv(options.tokens_csv)
        else:
            secret = os.environ.get("YTSCALE_SECRET", Settings().secret)
            tokens = Tokens.derived(secret, options.population_users)
        return cls(profile, tokens)


@events.init_command_line_parser.add_listener
def _arguments(parser: LocustArgumentParser) -> None:
    group = parser.add_argument_group("ytscale target", "where the load goes and whom it acts as")
    group.add_argument(
        "--target-profile", default=str(DEFAULT_PROFILE), help="endpoint paths, auth"
    )
    group.add_argument(
        "--tokens-csv", default="", help="user_id,token rows (default: derive from YTSCALE_SECRET)"
    )
    group.add_argument(
        "--population-users", type=int, default=100_000, help="seeded users 1..N to act as"
    )
    group.add_argument(
        "--allow-remote-host", action="store_true", help="allow a host that is not loopback"
    )


@events.init.add_listener
def _guard(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    try:
        require_loopback(environment.host or options.host, allow_remote=options.allow_remote_host)
    except RemoteHostRefused as exc:
        log.error("%s", exc)
        raise SystemExit(2) from None
