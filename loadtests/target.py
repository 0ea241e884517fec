"""Where the load goes and whom it acts as: the profile, the users' tokens, the URLs, the guard.

```python
target = Target.from_options(options)             # profile, tokens, videos from the command line
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
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment

from loadtests.profile import DEFAULT_PROFILE, Profile
from loadtests.videos import Library, UrlFiles, Videos
from reference.auth import token_for
from reference.settings import Settings
from ytscale.net import is_loopback

log = logging.getLogger(__name__)


class RemoteHostRefused(ValueError):
    """The host is not loopback and the person did not opt in to a remote one."""


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
    videos: Videos

    @classmethod
    def from_options(cls, options: Any) -> Target:
        profile = Profile.load(options.target_profile)
        if options.tokens_csv:
            tokens = Tokens.from_csv(options.tokens_csv)
        else:
            secret = os.environ.get("YTSCALE_SECRET", Settings().secret)
            tokens = Tokens.derived(secret, options.population_users)
        return cls(profile, tokens, videos_from_options(options))


def videos_from_options(options: Any) -> Videos:
    """The engineer's URL files if given (both), else the fake YouTube's catalogue as seeded."""
    if bool(options.videos_file) != bool(options.channels_file):
        raise ValueError("--videos-file and --channels-file go together: give both or neither")
    if options.videos_file:
        return UrlFiles.read(options.videos_file, options.channels_file)
    return Library(options.population_users, seed=options.catalogue_seed)


@events.init_command_line_parser.add_listener
def _arguments(parser: LocustArgumentParser) -> None:
    group = parser.add_argument_group("ytscale target", "where the load goes and whom it acts as")
    group.add_argument(
        "--target-profile", default=str(DEFAULT_PROFILE), help="each action's request, auth"
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
    group.add_argument("--videos-file", default="", help="video URLs, one a line")
    group.add_argument("--channels-file", default="", help="channel URLs or @handles, one a line")
    group.add_argument(
        "--catalogue-seed", type=int, default=1, help="without files: the seed the database had"
    )


@events.init.add_listener
def _guard(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    try:
        require_loopback(environment.host or options.host, allow_remote=options.allow_remote_host)
        Target.from_options(options)  # a profile or file that cannot serve stops the run here
    except (RemoteHostRefused, ValueError, OSError) as exc:
        log.error("%s", exc)
        raise SystemExit(2) from None
