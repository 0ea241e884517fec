"""The API at the population's peak rate: each request acts as a random seeded user.

```bash
ytscale serve &                                        # the local stack on 127.0.0.1:8000
locust --config loadtests/locust.conf                  # 100,000 users' peak rate, 60 s, CSV + HTML
locust --config loadtests/locust.conf --target-rps 400 --max-p95-ms 100
```

The mix (:data:`loadtests.population.DEFAULT_MIX`): duplicate checks of pasted batches, quota
reads, source listings, polls of imports started earlier, video imports (``--duplicate-share`` of
them naming a video the user has), rare channel imports. :class:`loadtests.rate.HoldRate` keeps
``target × pacing`` users, each starting one request every ``--pacing-s`` seconds on average.
"""

from __future__ import annotations

import random
from collections import deque
from typing import Any

from locust import FastHttpUser, events, task
from locust.env import Environment

from loadtests import rate, thresholds  # noqa: F401  (their command-line options and listeners)
from loadtests.population import LoadPopulation
from loadtests.rate import (
    HoldRate,  # noqa: F401  (Locust runs the shape it finds here)
    OpenArrivals,
)
from loadtests.target import Target, require_loopback
from loadtests.videos import NOT_A_VIDEO, Library

#: URLs per duplicate check: a pasted playlist page.
CHECK_BATCH = 20
#: Imports remembered for status polls, across this process's users.
_started: deque[tuple[int, int]] = deque(maxlen=10_000)


class ApiUser(OpenArrivals, FastHttpUser):
    """One stream of requests; each request picks its action, then a user to act as."""

    # Set at test start from the command line (one parse, shared by every user of the process).
    target: Target
    population: LoadPopulation
    library: Library

    def on_start(self) -> None:
        require_loopback(self.host, allow_remote=self.environment.parsed_options.allow_remote_host)
        self.rng = random.Random()
        shares = self.population.shares()
        self.actions = [getattr(self, action) for action in shares]
        self.weights = list(shares.values())
        self.first_arrival(self.rng)

    @task
    def act(self) -> None:
        self.rng.choices(self.actions, self.weights)[0]()

    def _as_user(self) -> tuple[int, dict[str, str]]:
        user_id, token = self.target.tokens.pick(self.rng)
        return user_id, self.target.profile.headers(token)

    def import_video(self) -> None:
        user_id, headers = self._as_user()
        duplicate = self.rng.random() < self.population.duplicate_share
        video = (self.library.owned(user_id) if duplicate else None) or self.library.fresh(self.rng)
        body = {"url": self.library.url(video, self.rng)}
        response = self._call("POST", "import_video", (200, 202), json=body, headers=headers)
        if response.status_code == 202:
            _started.append((user_id, response.json()["request_id"]))

    def import_channel(self) -> None:
        _, headers = self._as_user()
        body = {"channel": self.library.small_channel(self.rng)}
        self._call("POST", "import_channel", (202,), json=body, headers=headers)

    def import_status(self) -> None:
        if not _started:
            return self.quota()
        user_id, request_id = _started[self.rng.randrange(len(_started))]
        headers = self.target.profile.headers(self.target.tokens.token(user_id))
        self._call("GET", "import_status", (200,), headers=headers, request_id=request_id)

    def check_videos(self) -> None:
        user_id, headers = self._as_user()
        videos = [self.library.fresh(self.rng) for _ in range(CHECK_BATCH - 2)]
        videos.append(self.library.owned(user_id) or self.library.fresh(self.rng))
        urls = [self.library.url(v, self.rng) for v in videos] + [NOT_A_VIDEO]
        self._call("POST", "check_videos", (200,), json={"urls": urls}, headers=headers)

    def quota(self) -> None:
        _, headers = self._as_user()
        self._call("GET", "quota", (200,), headers=headers)

    def sources(self) -> None:
        _, headers = self._as_user()
        self._call("GET", "sources", (200,), headers=headers, query="?limit=20")

    def ping(self) -> None:
        self._call("GET", "ping", (200,))

    def _call(
        self,
        method: str,
        action: str,
        expect: tuple[int, ...],
        *,
        request_id: int | None = None,
        query: str = "",
        **kwargs: Any,
    ) -> Any:
        """One request, named by the profile's path template, failed unless its status is
        expected."""
        template = self.target.profile.paths[action]
        path = template.replace("{request_id}", str(request_id)) + query
        with self.client.request(
            method, path, name=template, catch_response=True, **kwargs
        ) as response:
            if response.status_code not in expect:
                response.failure(f"{response.status_code}: {(response.text or '')[:200]}")
            return response


# At test start, not init: a worker has the master's options only from then on.
@events.test_start.add_listener
def _configure(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    ApiUser.pacing_s = options.pacing_s
    ApiUser.target = Target.from_options(options)
    ApiUser.population = rate.population(options)
    ApiUser.library = Library(options.population_users, seed=options.catalogue_seed)


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument(
        "--catalogue-seed", type=int, default=1, help="the seed the database was seeded with"
    )
