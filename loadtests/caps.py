"""Safety caps for a shared staging: a rate no shape or option can exceed, and an abort when the
errors climb.

```bash
locust ... --max-rps 50 --abort-error-ratio 0.2 --abort-window-s 10
```

``--max-rps`` is enforced where requests start, not only in the shape: every process holds a token
bucket of its share (``max_rps / --expect-workers`` on a worker), refilled at that rate with one
second's worth of burst, and an arrival that finds it empty is skipped and counted as *capped*.
Whatever ``--target-rps``, ``--mix``, ``--pacing-s``, a step shape or a user count asks, the sum
cannot pass the cap. ``--abort-error-ratio`` watches failed/all over the last ``--abort-window-s``
seconds on the aggregated stats (the master's in a distributed run) and stops the run, exit code
:data:`ABORTED`, once it passes the limit with at least :data:`MIN_WINDOW_REQUESTS` requests seen:
a load test must not take a shared deployment down by accident.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import gevent
from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.runners import WorkerRunner
from locust.stats import StatsEntry

from loadtests.latency import is_judge

log = logging.getLogger(__name__)
#: The exit code of a run stopped by the error-ratio abort.
ABORTED = 4
#: Requests a window needs before its error ratio can stop a run.
MIN_WINDOW_REQUESTS = 20


class RateCap:
    """A token bucket: ``rps`` a second, at most one second's worth at once."""

    def __init__(self, rps: float, clock: Callable[[], float] = time.monotonic) -> None:
        if rps <= 0:
            raise ValueError(f"a rate cap must be positive, not {rps}")
        self.rps, self.clock = rps, clock
        self.capacity = max(1.0, rps)
        self.tokens = self.capacity
        self.updated = clock()
        self.capped = 0

    def take(self) -> bool:
        """Whether a request may start now; False counts it as capped."""
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rps)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        self.capped += 1
        return False


class _Uncapped:
    capped = 0

    @staticmethod
    def take() -> bool:
        return True


#: This process's cap, set at test start.
cap: RateCap | _Uncapped = _Uncapped()


def process_share(options: Any, worker: bool) -> float | None:
    """This process's part of ``--max-rps`` (None: no cap)."""
    if not options.max_rps:
        return None
    return float(options.max_rps) / (max(1, int(options.expect_workers or 1)) if worker else 1)


def window_error_ratio(total: StatsEntry, now: int, window_s: int) -> tuple[float, int]:
    """Failed/all over the ``window_s`` whole seconds before ``now``, and the requests seen."""
    seconds = range(now - window_s, now)
    requests = sum(total.num_reqs_per_sec.get(s, 0) for s in seconds)
    failures = sum(total.num_fail_per_sec.get(s, 0) for s in seconds)
    return (failures / requests if requests else 0.0), requests


def _watch(environment: Environment) -> None:
    options = environment.parsed_options
    assert environment.runner is not None and options is not None
    while True:
        gevent.sleep(1)
        ratio, seen = window_error_ratio(
            environment.stats.total, int(time.time()), int(options.abort_window_s)
        )
        if seen >= MIN_WINDOW_REQUESTS and ratio > options.abort_error_ratio:
            log.error(
                "aborted: error ratio %.3f over the last %g s (%d requests) > %g",
                ratio, options.abort_window_s, seen, options.abort_error_ratio,
            )  # fmt: skip
            environment.process_exit_code = ABORTED
            environment.runner.quit()
            return


@events.test_start.add_listener
def _start(environment: Environment, **_: Any) -> None:
    global cap
    options = environment.parsed_options
    if options is None:
        return
    share = process_share(options, isinstance(environment.runner, WorkerRunner))
    cap = RateCap(share) if share else _Uncapped()
    if options.abort_error_ratio is not None and is_judge(environment):
        gevent.spawn(_watch, environment)


@events.init_command_line_parser.add_listener
def _arguments(parser: LocustArgumentParser) -> None:
    group = parser.add_argument_group("ytscale caps", "limits that keep a shared staging up")
    group.add_argument(
        "--max-rps", type=float, default=0.0, help="requests/s no shape can exceed (0: none)"
    )
    group.add_argument(
        "--abort-error-ratio", type=float, default=None, help="stop when failed/all passes this"
    )
    group.add_argument(
        "--abort-window-s", type=float, default=10.0, help="seconds the abort ratio spans"
    )
