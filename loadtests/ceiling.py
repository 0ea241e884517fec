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

# Parsed once at test start, shared by both user classes.
_shared: dict[str, Any] = {}


class Ceiling(FastHttpUser):
    abstract = True
    wait_time = constant(0)

    def on_start(self) -> None:
        require_loopback(self.host, allow_remote=self.environment.parsed_options.allow_remote_host)
        self.rng = random.Random()
        self.target: Target = _shared["target"]

    def call(self, name: str, wanted: str, token: str | None, fields: Any = None) -> None:
        action = self.target.profile.actions[name]
        headers = self.target.profile.headers(token) if token else {}
        body = action.body_for(fields) if fields is not None else None
        if body is not None:
            headers["Content-Type"] = "application/json"
        with self.client.request(
            action.method, action.path, data=body, headers=headers, catch_response=True
        ) as r:
            if action.outcome(r.status_code) == wanted:
                r.success()
            else:
                r.failure(f"{r.status_code}: {(r.text or '')[:200]}")


class PingUser(Ceiling):
    @task
    def ping(self) -> None:
        self.call("ping", "success", None)


class ImportUser(Ceiling):
    @task
    def import_video(self) -> None:
        _, token = self.target.tokens.pick(self.rng)
        self.call(
            "import_video", "accepted", token, {"url": self.target.videos.fresh_url(self.rng)}
        )


# At test start, not init: a worker has the master's options only from then on.
@events.test_start.add_listener
def _configure(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    if options is not None:
        _shared["target"] = Target.from_options(options)
