"""Our API scenario as the load tests run it, with the meter."""

from __future__ import annotations

from benchmarks import locust_meter  # noqa: F401  (writes the CPU figures)
from loadtests.locustfile import ApiUser, HoldRate  # noqa: F401  (Locust runs what it finds here)
