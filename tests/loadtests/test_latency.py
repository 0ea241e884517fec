"""Latencies: exact HDR percentiles, corrected from the intended start, merged across workers."""

from __future__ import annotations

import pytest

from loadtests import latency
from loadtests.latency import Latencies


def test_percentiles_are_exact_to_three_significant_digits() -> None:
    latencies = Latencies()
    for ms in range(1, 1001):
        latencies.record("GET", "/q", sent_ms=ms * 1.0, corrected_ms=ms * 1.0)
    assert latencies.percentile(0.95) == pytest.approx(950, rel=1e-3)
    assert latencies.percentile(0.99, "sent", "GET /q") == pytest.approx(990, rel=1e-3)
    # Locust rounds to two significant figures: 950 and 990 survive, 1234.5 would not.
    latencies.record("GET", "/q", 1234.5, 1234.5)
    assert latencies.rows()[-1]["sent max"] == pytest.approx(1234.5, rel=1e-3)


def test_the_corrected_latency_counts_from_the_intended_start() -> None:
    latency.LATENCIES.reset()
    latency._record("GET", "/q", response_time=5.0, context={"late_ms": 95.0})
    latency._record("GET", "/q", response_time=5.0, context={})
    latency._record("GET", "/q", response_time=5.0)
    rows = {row["Name"]: row for row in latency.LATENCIES.rows()}
    assert rows["GET /q"]["corrected max"] == pytest.approx(100, rel=1e-3)
    assert rows["GET /q"]["sent max"] == pytest.approx(5, rel=1e-3)
    assert rows["Aggregated"]["Requests"] == 3
    latency.LATENCIES.reset()


def test_workers_histograms_merge_into_the_percentiles_of_every_request() -> None:
    one, two, master = Latencies(), Latencies(), Latencies()
    everything = Latencies()
    for ms in range(1, 501):
        one.record("GET", "/q", ms, ms + 10)
        everything.record("GET", "/q", ms, ms + 10)
    for ms in range(501, 1001):
        two.record("POST", "/i", ms, ms)
        everything.record("POST", "/i", ms, ms)
    master.merge(one.encode())
    master.merge(two.encode())
    assert master.rows() == everything.rows()
    # Not the mean of the workers' p95s (488 and 975): the p95 of all their requests.
    assert master.percentile(0.95, "sent") == pytest.approx(950, rel=1e-3)
