"""Every request's latency twice, in HDR histograms: from its *intended* start and from its send.

```python
LATENCIES.record("GET", "/v1/quota", sent_ms=4.2, corrected_ms=31.0)
LATENCIES.percentile(0.95)                    # ms, corrected, all requests
LATENCIES.percentile(0.95, basis="sent")      # what Locust's own stats report
```

A request that waited behind a slow answer, or behind a generator that woke late, was *due*
earlier than it was sent; timing it from the send hides that wait (coordinated omission). The
open-arrival users (:class:`loadtests.rate.OpenArrivals`) pass how late each send was in the
request's context (``late_ms``); the corrected latency is the sent one plus that. A request
without it (a closed-loop scenario) counts the same in both.

Histograms hold microseconds from 1 µs to an hour at 3 significant digits: a percentile is
exact to 0.1 %, where Locust's stats round to two significant figures. A worker sends what it
recorded since its last report to the master with each stats report, and the master adds it in,
so a distributed run's percentiles are those of every request, not an average of percentiles.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from hdrh.histogram import HdrHistogram
from locust import events
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

HIGHEST_US = 3_600_000_000
BASES = ("corrected", "sent")
#: The percentiles the CSV and HTML report.
PERCENTILES = (0.50, 0.90, 0.95, 0.99, 0.999)
#: The key of the worker-report entry that carries the histograms.
REPORT_KEY = "ytscale_latency"


def new_histogram() -> HdrHistogram:
    return HdrHistogram(1, HIGHEST_US, 3)


def micros(ms: float) -> int:
    """A duration in ms as whole µs within the histogram's range."""
    return min(HIGHEST_US, max(1, round(ms * 1000)))


class Latencies:
    """Per request name (``METHOD name``), a corrected and a sent histogram."""

    def __init__(self) -> None:
        self.by_name: dict[str, dict[str, HdrHistogram]] = {}
        self._pairs: dict[tuple[str, str], tuple[HdrHistogram, HdrHistogram]] = {}

    def record(self, method: str, name: str, sent_ms: float, corrected_ms: float) -> None:
        # Per request, so kept lean: one lookup by (method, name), no string built.
        pair = self._pairs.get((method, name))
        if pair is None:
            pair = self._pairs[method, name] = self._pair(f"{method} {name}")
        sent, corrected = pair
        sent.record_value(micros(sent_ms))
        corrected.record_value(micros(max(corrected_ms, sent_ms)))

    def _pair(self, name: str) -> tuple[HdrHistogram, HdrHistogram]:
        found = self.by_name.setdefault(name, {basis: new_histogram() for basis in BASES})
        return found["sent"], found["corrected"]

    def total(self, basis: str = "corrected") -> HdrHistogram:
        merged = new_histogram()
        for pair in self.by_name.values():
            merged.add(pair[basis])
        return merged

    def percentile(
        self, quantile: float, basis: str = "corrected", name: str | None = None
    ) -> float:
        """The ``quantile`` (0..1) in ms, of one name or of all requests."""
        histogram = self.total(basis) if name is None else self.by_name[name][basis]
        return float(histogram.get_value_at_percentile(quantile * 100)) / 1000

    def rows(self) -> list[dict[str, Any]]:
        """One row per name and one ``Aggregated``: counts, percentiles, max, mean, both bases."""
        named: Iterable[tuple[str, Mapping[str, HdrHistogram]]] = sorted(self.by_name.items())
        total = {basis: self.total(basis) for basis in BASES}
        found = []
        for name, pair in [*named, ("Aggregated", total)]:
            row: dict[str, Any] = {"Name": name, "Requests": pair["sent"].get_total_count()}
            for basis in BASES:
                histogram = pair[basis]
                for q in PERCENTILES:
                    row[f"{basis} p{q * 100:g}"] = histogram.get_value_at_percentile(q * 100) / 1000
                row[f"{basis} max"] = histogram.get_max_value() / 1000
                row[f"{basis} mean"] = histogram.get_mean_value() / 1000
            found.append(row)
        return found

    def encode(self) -> dict[str, list[bytes]]:
        return {
            name: [pair[basis].encode() for basis in BASES]
            for name, pair in self.by_name.items()
            if pair["sent"].get_total_count()
        }

    def merge(self, encoded: Mapping[str, list[bytes]]) -> None:
        for name, blobs in encoded.items():
            pair = self.by_name.setdefault(name, {basis: new_histogram() for basis in BASES})
            for basis, blob in zip(BASES, blobs, strict=True):
                pair[basis].decode_and_add(blob)

    def reset(self) -> None:
        self.by_name.clear()
        self._pairs.clear()


#: This process's latencies (on a master: every worker's, merged).
LATENCIES = Latencies()


@events.request.add_listener
def _record(
    request_type: str,
    name: str,
    response_time: float,
    context: Mapping[str, Any] | None = None,
    **_: Any,
) -> None:
    late = context.get("late_ms", 0.0) if context else 0.0
    LATENCIES.record(request_type, name, response_time, response_time + late)


@events.test_start.add_listener
def _start(environment: Environment, **_: Any) -> None:
    if not isinstance(environment.runner, WorkerRunner):
        LATENCIES.reset()


@events.report_to_master.add_listener
def _send(client_id: str, data: dict[str, Any]) -> None:
    data[REPORT_KEY] = LATENCIES.encode()
    LATENCIES.reset()


@events.worker_report.add_listener
def _receive(client_id: str, data: Mapping[str, Any]) -> None:
    LATENCIES.merge(data.get(REPORT_KEY, {}))


def is_judge(environment: Environment) -> bool:
    """The process whose stats are the run's: the master, or the only process."""
    return isinstance(environment.runner, MasterRunner) or not isinstance(
        environment.runner, WorkerRunner
    )
