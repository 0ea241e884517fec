"""Caps for a shared staging: a token bucket no option can pass, and the error-ratio window."""

from __future__ import annotations

from argparse import Namespace

import pytest
from locust.stats import RequestStats

from loadtests.caps import RateCap, process_share, window_error_ratio


class Clock:
    def __init__(self) -> None:
        self.now = 50.0

    def __call__(self) -> float:
        return self.now


def test_the_cap_lets_through_one_seconds_burst_then_its_rate() -> None:
    clock = Clock()
    cap = RateCap(10, clock)
    assert sum(cap.take() for _ in range(100)) == 10  # a burst: one second's worth
    assert cap.capped == 90
    taken = 0
    for _ in range(1000):  # 10 s of a user asking every 10 ms: 100 a second asked
        clock.now += 0.01
        taken += cap.take()
    assert taken == pytest.approx(100, abs=1)
    with pytest.raises(ValueError):
        RateCap(0)


def test_a_worker_holds_its_share_of_the_cap() -> None:
    options = Namespace(max_rps=90.0, expect_workers=3)
    assert process_share(options, worker=True) == 30.0
    assert process_share(options, worker=False) == 90.0
    assert process_share(Namespace(max_rps=0.0, expect_workers=1), worker=False) is None


def test_the_error_ratio_spans_the_whole_seconds_before_now() -> None:
    total = RequestStats().total
    total.num_reqs_per_sec.update({97: 10, 98: 10, 99: 10, 100: 10})
    total.num_fail_per_sec.update({98: 5, 99: 10, 100: 10})
    assert window_error_ratio(total, now=100, window_s=2) == (15 / 20, 20)
    assert window_error_ratio(total, now=100, window_s=10) == (15 / 30, 30)
