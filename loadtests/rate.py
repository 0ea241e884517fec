"""Holding a request rate with Locust: paced users, as many as the rate needs.

Locust's user count is a closed model: each user waits for an answer before its next request, so
a slower server gets fewer requests, exactly when it should get the same number. Real users arrive
regardless of how the server is doing. We approximate that open arrival process with
:class:`OpenArrivals`: each user plans its starts as a Poisson process of one request per
``--pacing-s`` seconds on average, whatever the answer times, and :class:`HoldRate` keeps
``target × pacing`` users running; the superposition is a Poisson stream at the target rate.
While answers take less than the gaps, arrivals do not depend on the server; once a user's answer
outlasts its next planned start, that start is late and the achieved rate falls below the target,
which ``--min-rate-ratio`` (:mod:`loadtests.thresholds`) turns into a failed run.

Locust's own ``constant_pacing`` is not used: it measures each period from the user's spawn, and
Locust spawns users in batches once a second, so every user fires within the same few tens of
milliseconds of each second. On this machine that burst alone raised the median answer time
fivefold over the same rate arriving at random.
"""

from __future__ import annotations

import random
import time
from typing import Any

import gevent
from locust import LoadTestShape, events
from locust.argument_parser import LocustArgumentParser

from loadtests import (
    generator,
    target,  # noqa: F401  (registers --population-users, which this reads)
)
from loadtests.population import DEFAULT_MIX, LoadPopulation, parse_mix, virtual_users


def population(options: Any) -> LoadPopulation:
    """The population the command line describes."""
    return LoadPopulation(
        users=options.population_users,
        active_share=options.active_share,
        actions_per_active_user=options.actions_per_user,
        peak_factor=options.peak_factor,
        mix={**DEFAULT_MIX, **parse_mix(options.mix)},
        duplicate_share=options.duplicate_share,
    )


def target_rps(options: Any) -> float:
    """``--target-rps`` if given, else the population's peak rate; never above ``--max-rps``."""
    wanted = float(options.target_rps or population(options).peak_rps)
    cap = getattr(options, "max_rps", 0.0)
    return min(wanted, cap) if cap else wanted


class OpenArrivals:
    """Mixin for a Locust user: starts planned as a Poisson process of rate ``1 / pacing_s``.

    When an answer outlasts the next planned start, that start is taken at once, *late*, its
    latency counted from when it was due (:meth:`arrival_context`); any further starts that
    passed meanwhile are *dropped* (not made up later), and counted (:mod:`loadtests.generator`).
    """

    pacing_s: float = 2.0
    arrival_clock = staticmethod(time.perf_counter)
    arrival_sleep = staticmethod(gevent.sleep)
    _rng: random.Random
    #: When the start being made was due.
    _planned: float
    #: The start after a late one, already drawn past the drops.
    _following: float | None = None
    _late: bool = False

    def first_arrival(self, rng: random.Random) -> None:
        """Sleep until this user's first start, a random time into the process."""
        self._rng = rng
        self._planned = self.arrival_clock() + rng.expovariate(1 / self.pacing_s)
        generator.LOAD.due += 1
        self.arrival_sleep(self._planned - self.arrival_clock())

    def wait_time(self) -> float:
        now = self.arrival_clock()
        gap = 1 / self.pacing_s
        due = (
            self._planned + self._rng.expovariate(gap)
            if self._following is None
            else self._following
        )
        self._following = None
        self._planned = due
        load = generator.LOAD
        load.due += 1
        self._late = due < now
        if not self._late:
            return due - now
        # The last answer outlasted this start: taken now, late; the ones since then are dropped.
        following = due + self._rng.expovariate(gap)
        while following < now:
            load.due += 1
            load.dropped += 1
            following += self._rng.expovariate(gap)
        self._following = following
        return 0.0

    def arrival_context(self) -> dict[str, float]:
        """The request context that tells :mod:`loadtests.latency` how late this send is."""
        late_s = max(0.0, self.arrival_clock() - self._planned)
        if self._late:
            generator.LOAD.late += 1
        else:
            generator.LOAD.lagged(late_s)
        return {"late_ms": late_s * 1000}


class HoldRate(LoadTestShape):
    """``target × pacing`` paced users, started over ``--ramp-s``, for ``--run-time``."""

    use_common_options = True

    def __init__(self) -> None:
        super().__init__()
        self.started_at = time.time()

    @property
    def options(self) -> Any:
        assert self.runner is not None
        return self.runner.environment.parsed_options

    @property
    def target_rps(self) -> float:
        return target_rps(self.options)

    @property
    def steady_since(self) -> float:
        """When every user has started and had one pacing period to spread out (epoch seconds)."""
        return self.started_at + float(self.options.ramp_s + self.options.pacing_s)

    def reset_time(self) -> None:
        super().reset_time()
        self.started_at = time.time()

    def tick(self) -> tuple[int, float] | None:
        run_time = self.options.run_time
        if run_time and self.get_run_time() >= run_time:
            return None
        users = virtual_users(self.target_rps, self.options.pacing_s)
        return users, max(1.0, users / max(self.options.ramp_s, 0.001))


@events.init_command_line_parser.add_listener
def _arguments(parser: LocustArgumentParser) -> None:
    defaults = LoadPopulation()
    group = parser.add_argument_group("ytscale rate", "the request rate to hold (open arrivals)")
    group.add_argument("--target-rps", type=float, default=0.0, help="default: the peak rate")
    group.add_argument(
        "--pacing-s", type=float, default=2.0, help="seconds between a user's starts"
    )
    group.add_argument("--ramp-s", type=float, default=5.0, help="seconds to start every user")
    group.add_argument("--active-share", type=float, default=defaults.active_share)
    group.add_argument("--actions-per-user", type=float, default=defaults.actions_per_active_user)
    group.add_argument("--peak-factor", type=float, default=defaults.peak_factor)
    group.add_argument("--duplicate-share", type=float, default=defaults.duplicate_share)
    group.add_argument("--mix", default="", help="action=weight,... replacing default weights")
