"""The API scenario with its generator starved on purpose: a greenlet that holds the process's
one core for 300 ms in every 350, so users wake late and the CPU is spent (test_standin.py)."""

from __future__ import annotations

import time
from typing import Any

import gevent
from locust import events
from locust.env import Environment

from loadtests.locustfile import ApiUser, HoldRate  # noqa: F401  (Locust runs what it finds here)


def _hog() -> None:
    while True:
        until = time.perf_counter() + 0.3
        while time.perf_counter() < until:
            pass
        gevent.sleep(0.05)


@events.test_start.add_listener
def _starve(environment: Environment, **_: Any) -> None:
    gevent.spawn(_hog)
