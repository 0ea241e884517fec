"""The generator's CPU and requests for a benchmark's Locust run, while steady, as JSON in
``--cpu-report PATH``.

Sampled every :data:`EVERY_S` seconds; the figures span the samples from ``--cpu-from-s`` after
the start to the last one before the run stopped. Start-up and stopping are left out: Locust's
``Runner.stop`` alone calls ``inspect.stack()`` (0.3 CPU-s here), as much as hundreds of requests.
"""

from __future__ import annotations

import json
import time
from typing import Any

import gevent
from locust import events
from locust.env import Environment

from loadtests import generator

EVERY_S = 0.5
#: (monotonic s, CPU s, requests) of this process.
_samples: list[tuple[float, float, int]] = []


@events.init_command_line_parser.add_listener
def _arguments(parser: Any) -> None:
    parser.add_argument("--cpu-report", default="", help="where to write the CPU figures (JSON)")
    parser.add_argument("--cpu-from-s", type=float, default=2.0, help="seconds of warm-up")


def _sample() -> None:
    while True:
        _samples.append((time.monotonic(), time.process_time(), generator.LOAD.requests))
        gevent.sleep(EVERY_S)


@events.test_start.add_listener
def _start(environment: Environment, **_: Any) -> None:
    gevent.spawn(_sample)


@events.test_stop.add_listener
def _write(environment: Environment, **_: Any) -> None:
    options = environment.parsed_options
    steady = [s for s in _samples if s[0] >= _samples[0][0] + options.cpu_from_s]
    (wall0, cpu0, requests0), (wall1, cpu1, requests1) = steady[0], steady[-1]
    figures = {"cpu_s": cpu1 - cpu0, "wall_s": wall1 - wall0, "requests": requests1 - requests0}
    with open(options.cpu_report, "w") as f:
        json.dump(figures, f)
