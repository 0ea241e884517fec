import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from reference.youtube.breaker import CircuitBreaker, Permit, State
from reference.youtube.errors import CircuitOpenError


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breaker(clock: Clock) -> CircuitBreaker:
    return CircuitBreaker(failure_threshold=3, cooldown=30.0, clock=clock)


def fail(breaker: CircuitBreaker, times: int = 1) -> None:
    for _ in range(times):
        breaker.record(breaker.acquire(), healthy=False)


def open_breaker(breaker: CircuitBreaker) -> None:
    fail(breaker, breaker.failure_threshold)
    assert breaker.state is State.OPEN


def test_opens_after_threshold_consecutive_failures(breaker: CircuitBreaker) -> None:
    fail(breaker, 2)
    assert breaker.state is State.CLOSED
    fail(breaker)
    assert breaker.state is State.OPEN


def test_a_healthy_answer_resets_the_count(breaker: CircuitBreaker) -> None:
    fail(breaker, 2)
    breaker.record(breaker.acquire(), healthy=True)
    fail(breaker, 2)
    assert breaker.state is State.CLOSED


def test_no_verdict_neither_counts_nor_resets(breaker: CircuitBreaker) -> None:
    fail(breaker, 2)
    for _ in range(5):
        breaker.record(breaker.acquire(), healthy=None)
    assert breaker.state is State.CLOSED
    fail(breaker)
    assert breaker.state is State.OPEN


def test_open_fails_fast_until_the_cooldown_ends(breaker: CircuitBreaker, clock: Clock) -> None:
    open_breaker(breaker)
    clock.now += 29.5
    with pytest.raises(CircuitOpenError) as err:
        breaker.acquire()
    assert err.value.reason == "circuitOpen"
    assert err.value.retry_after == pytest.approx(0.5)
    clock.now += 0.5
    permit = breaker.acquire()
    assert permit.probe and breaker.state is State.HALF_OPEN


def test_half_open_lets_exactly_one_probe_through(breaker: CircuitBreaker, clock: Clock) -> None:
    open_breaker(breaker)
    clock.now += 30
    breaker.acquire()
    with pytest.raises(CircuitOpenError) as err:
        breaker.acquire()
    assert err.value.retry_after is None


def test_healthy_probe_closes(breaker: CircuitBreaker, clock: Clock) -> None:
    open_breaker(breaker)
    clock.now += 30
    breaker.record(breaker.acquire(), healthy=True)
    assert breaker.state is State.CLOSED
    fail(breaker, 2)  # the count starts again from zero
    assert breaker.state is State.CLOSED


def test_failed_probe_reopens_for_a_fresh_cooldown(breaker: CircuitBreaker, clock: Clock) -> None:
    open_breaker(breaker)
    clock.now += 30
    breaker.record(breaker.acquire(), healthy=False)
    assert breaker.state is State.OPEN
    clock.now += 29
    with pytest.raises(CircuitOpenError):
        breaker.acquire()
    clock.now += 1
    assert breaker.acquire().probe


def test_probe_without_verdict_hands_the_probe_on(breaker: CircuitBreaker, clock: Clock) -> None:
    open_breaker(breaker)
    clock.now += 30
    breaker.record(breaker.acquire(), healthy=None)
    assert breaker.state is State.HALF_OPEN
    assert breaker.acquire().probe


def test_late_outcomes_of_an_earlier_state_are_ignored(
    breaker: CircuitBreaker, clock: Clock
) -> None:
    slow = breaker.acquire()  # granted while closed, answers after the breaker opened
    open_breaker(breaker)
    breaker.record(slow, healthy=True)
    assert breaker.state is State.OPEN
    clock.now += 30
    probe = breaker.acquire()
    breaker.record(slow, healthy=True)
    assert breaker.state is State.HALF_OPEN
    with pytest.raises(CircuitOpenError):
        breaker.acquire()  # the probe is still the one in flight
    breaker.record(probe, healthy=False)
    assert breaker.state is State.OPEN


def test_forged_permit_of_another_generation_changes_nothing(breaker: CircuitBreaker) -> None:
    breaker.record(Permit(generation=99, probe=True), healthy=False)
    fail(breaker, 2)
    assert breaker.state is State.CLOSED


@pytest.mark.parametrize("kwargs", [{"failure_threshold": 0}, {"cooldown": -1.0}])
def test_rejects_nonsense_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        CircuitBreaker(**kwargs)  # type: ignore[arg-type]


def test_concurrent_callers_get_one_probe(clock: Clock) -> None:
    def slow_clock() -> float:
        time.sleep(0.001)  # yields the GIL: widens the check-then-act window a lock must close
        return clock.now

    breaker = CircuitBreaker(failure_threshold=1, cooldown=30.0, clock=slow_clock)
    open_breaker(breaker)
    clock.now += 30
    threads = 16
    barrier = threading.Barrier(threads)

    def try_acquire(_: int) -> bool:
        barrier.wait()
        try:
            return breaker.acquire().probe
        except CircuitOpenError:
            return False

    with ThreadPoolExecutor(threads) as pool:
        probes = sum(pool.map(try_acquire, range(threads)))
    assert probes == 1
