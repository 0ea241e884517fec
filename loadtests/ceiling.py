"""How fast the server answers an import next to a trivial request, in one run.

```bash
locust -f loadtests/ceiling.py --headless -u 40 -r 40 --run-time 30s --host http://127.0.0.1:8000 \\
    --csv reports/loadtest/ceiling --html reports/loadtest/ceiling.html
```

A closed loop on purpose: as many users on each endpoint, none waiting between requests, so the
server is saturated and each endpoint gets requests as fast as it answers them. The ratio of the
two rates in the stats is what an import costs the server against ``GET /v1/ping`` (no auth, no
backend). Imports name videos no seeded user has, so each one is recorded and queued.
"""

from __future__ import annotations

import random
from typing import Any

from locust import FastHttpUser, constant, events, task
from locust.env import Environment

from loadtests.target import Target, require_loopback
from loadtests.videos import Library

# Parsed once at init, shared by both user classes.
_shared: dict[str, Any] = {}


class Ceiling(FastHttpUser):
    abstract = True
    wait_time = constant(0)

    def on_start(self) -> None:
        require_loopback(self.host, allow_remote=self.environment.parsed_options.allow_remote_host)
        self.rng = random.Random()
        self.target: Target = _shared["target"]

    def call(self, method: str, action: str, status: int, **kwargs: Any) -> None:
        path = self.target.profile.paths[action]
        with self.client.request(method, path, name=path, catch_response=True, **kwargs) as r:
            if r.status_code != status:
                r.failure(f"{r.status_code}: {(r.text or '')[:200]}")


class PingUser(Ceiling):
    @task
    def ping(self) -> None:
        self.call("GET", "ping", 200)


class ImportUser(Ceiling):
    @task
    def import_video(self) -> None:
        _, token = self.target.tokens.pick(self.rng)
        library: Library = _shared["library"]
        body = {"url": library.url(library.fresh(self.rng), self.rng)}
        self.call(
            "POST", "import_video", 202, json=body, headers=self.target.profile.headers(token)
        )


# At test start, not init: a worker has the master's options only from then on.
@events.test_start.add_listener
def _configure(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is not None:
        _shared["target"] = Target.from_options(options)
        _shared["library"] = Library(options.population_users)
