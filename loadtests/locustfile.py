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

from loadtests import caps, check, rate, thresholds  # noqa: F401  (their options and listeners)
from loadtests.population import LoadPopulation
from loadtests.profile import ID_SOURCE, Action
from loadtests.rate import (
    HoldRate,  # noqa: F401  (Locust runs the shape it finds here)
    OpenArrivals,
)
from loadtests.target import Target, require_loopback
from loadtests.videos import NOT_A_VIDEO

#: URLs per duplicate check: a pasted playlist page.
CHECK_BATCH = 20
#: Imports remembered for status polls, across this process's users: (user id, ids read).
_started: deque[tuple[int, dict[str, str]]] = deque(maxlen=10_000)


class ApiUser(OpenArrivals, FastHttpUser):
    """One stream of requests; each request picks its action, then a user to act as."""

    # Set at test start from the command line (one parse, shared by every user of the process).
    target: Target
    population: LoadPopulation

    def on_start(self) -> None:
        require_loopback(self.host, allow_remote=self.environment.parsed_options.allow_remote_host)
        # A redirect is answered as it came, never followed: it could lead off the guarded host.
        self.client.client.redirect_response_codes = frozenset()
        self.rng = random.Random()
        self.actions = self.target.profile.actions
        shares = self.population.shares()
        self.steps = [getattr(self, action) for action in shares]
        self.weights = list(shares.values())
        self.first_arrival(self.rng)

    @task
    def act(self) -> None:
        if caps.cap.take():
            self.rng.choices(self.steps, self.weights)[0]()

    def import_video(self) -> None:
        user_id, token = self.target.tokens.pick(self.rng)
        videos = self.target.videos
        duplicate = self.rng.random() < self.population.duplicate_share
        url = (videos.owned_url(user_id, self.rng) if duplicate else None) or videos.fresh_url(
            self.rng
        )
        outcome, ids = self._call(self.actions[ID_SOURCE], token, {"url": url})
        if outcome in ("success", "accepted"):
            videos.imported(user_id, url)
            if ids:
                _started.append((user_id, ids))

    def import_channel(self) -> None:
        _, token = self.target.tokens.pick(self.rng)
        self._call(
            self.actions["import_channel"], token, {"channel": self.target.videos.channel(self.rng)}
        )

    def import_status(self) -> None:
        if not _started:
            return self.quota()
        user_id, ids = _started[self.rng.randrange(len(_started))]
        self._call(self.actions["import_status"], self.target.tokens.token(user_id), ids=ids)

    def check_videos(self) -> None:
        user_id, token = self.target.tokens.pick(self.rng)
        videos = self.target.videos
        urls = videos.fresh_urls(self.rng, CHECK_BATCH - 2)
        urls.append(videos.owned_url(user_id, self.rng) or videos.fresh_url(self.rng))
        urls.append(NOT_A_VIDEO)
        self._call(self.actions["check_videos"], token, {"urls": urls})

    def quota(self) -> None:
        self._call(self.actions["quota"], self.target.tokens.pick(self.rng)[1])

    def sources(self) -> None:
        self._call(self.actions["sources"], self.target.tokens.pick(self.rng)[1])

    def ping(self) -> None:
        self._call(self.actions["ping"], None)

    def _call(
        self,
        action: Action,
        token: str | None,
        fields: dict[str, Any] | None = None,
        *,
        ids: dict[str, str] | None = None,
    ) -> tuple[str | None, dict[str, str]]:
        """One request as the profile spells it, named by its path template; failed unless the
        profile knows its status and, for a success, the answer holds the ids it reads."""
        headers = (
            self.target.profile.headers(token)
            if token
            else dict(self.target.profile.static_headers)
        )
        body = action.body_for(fields) if fields is not None else None
        if body is not None:
            headers["Content-Type"] = "application/json"
        read: dict[str, str] = {}
        with self.client.request(
            action.method, action.path_for(ids) if ids else action.path, name=action.path,
            data=body, headers=headers, catch_response=True, context=self.arrival_context(),
        ) as response:  # fmt: skip
            outcome = action.outcome(response.status_code)
            if outcome is None:
                response.failure(unexpected(response))
                return outcome, read
            if action.ids and outcome != "duplicate":
                try:
                    read = action.read_ids(response.json())
                except (KeyError, ValueError) as exc:
                    response.failure(f"{response.status_code} without the id at {exc}")
                    return None, read
            response.success()  # a status the profile names: a 409 "duplicate" is no failure
            return outcome, read


def unexpected(response: Any) -> str:
    """Why an answer failed: its status, a redirect's target, the start of its body."""
    where = response.headers.get("Location") if 300 <= response.status_code < 400 else None
    moved = f" (a redirect to {where}, not followed)" if where else ""
    return f"{response.status_code}{moved}: {(response.text or '')[:200]}"


# At test start, not init: a worker has the master's options only from then on.
@events.test_start.add_listener
def _configure(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is None:
        return
    ApiUser.pacing_s = options.pacing_s
    ApiUser.target = Target.from_options(options)
    ApiUser.population = rate.population(options)
