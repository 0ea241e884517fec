"""The yardsticks: a bare ``FastHttpUser`` GET with nothing of ours but the meter, paced two ways.

``PacedUser``: Locust's ``constant_pacing``, every user firing within the same few milliseconds
of each second (the bursts ``loadtests/README.md`` shows distort a server's latencies fivefold),
so one loop wake-up serves many requests. ``OpenUser``: the same GET on the load tests' open
arrivals (:class:`loadtests.rate.OpenArrivals`), each start at its own moment, as ours runs.
The command line names one (``locust -f benchmarks/locust_bare.py OpenUser``).
"""

from __future__ import annotations

import random

from locust import FastHttpUser, constant_pacing, task

from benchmarks import locust_meter  # noqa: F401  (writes the CPU figures)
from loadtests.rate import OpenArrivals


class PacedUser(FastHttpUser):
    wait_time = constant_pacing(1)

    @task
    def get(self) -> None:
        self.client.get("/status")


class OpenUser(OpenArrivals, FastHttpUser):
    pacing_s = 1.0

    def on_start(self) -> None:
        self.first_arrival(random.Random())

    @task
    def get(self) -> None:
        self.client.get("/status")
