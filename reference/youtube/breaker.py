"""A thread-safe circuit breaker: closed → open → half-open → closed (or open again).

```python
breaker = CircuitBreaker(failure_threshold=5, cooldown=30.0)
permit = breaker.acquire()              # raises CircuitOpenError while open: send nothing
...                                     # make the call
breaker.record(permit, healthy=True)    # True: answered; False: 5xx/network; None: no verdict
```

- **closed**: every call goes through; ``failure_threshold`` consecutive unhealthy outcomes open it.
  A healthy outcome (any answer below 500, 4xx included: YouTube is up) resets the count.
- **open**: every call fails fast with ``CircuitOpenError`` until ``cooldown`` seconds have passed.
- **half-open**: exactly one call (the probe) goes through; the others still fail fast. A healthy
  probe closes the breaker, an unhealthy one opens it again for another ``cooldown``.

Calls run concurrently, so an outcome can arrive after the state it was granted in has gone (a slow
success from before the breaker opened). Each permit carries the *generation* it was granted in and
outcomes of past generations are ignored: only the probe decides a half-open breaker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from reference.youtube.errors import CircuitOpenError


class State(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True)
class Permit:
    """Leave to make one call, granted in ``generation``."""

    generation: int
    probe: bool


class CircuitBreaker:
    """Fails fast while a host is down; ``clock`` is injectable (seconds, monotonic)."""

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        cooldown: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        name: str = "youtube",
    ) -> None:
        if failure_threshold < 1 or cooldown < 0:
            raise ValueError("failure_threshold must be >= 1 and cooldown >= 0")
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.name = name
        self._clock = clock
        self._lock = threading.Lock()
        self._state = State.CLOSED
        self._generation = 0
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False

    @property
    def state(self) -> State:
        """The state as of the last transition (open stays open until a call asks to probe)."""
        with self._lock:
            return self._state

    def acquire(self) -> Permit:
        """Grant one call, or raise ``CircuitOpenError`` (the caller must then send nothing)."""
        with self._lock:
            if self._state is State.OPEN:
                wait = self._opened_at + self.cooldown - self._clock()
                if wait > 0:
                    raise CircuitOpenError(
                        f"circuit {self.name!r} is open: failing fast for another {wait:.1f}s",
                        retry_after=wait,
                    )
                self._enter(State.HALF_OPEN)
            if self._state is State.HALF_OPEN:
                if self._probe_in_flight:
                    raise CircuitOpenError(
                        f"circuit {self.name!r} is half-open and its probe is in flight",
                        retry_after=None,
                    )
                self._probe_in_flight = True
                return Permit(self._generation, probe=True)
            return Permit(self._generation, probe=False)

    def record(self, permit: Permit, healthy: bool | None) -> None:
        """Report how a permitted call went; ``None`` returns the permit without a verdict."""
        with self._lock:
            if permit.generation != self._generation:
                return
            if permit.probe:
                self._probe_in_flight = False
                if healthy is not None:
                    self._enter(State.CLOSED if healthy else State.OPEN)
            elif healthy:
                self._failures = 0
            elif healthy is False:
                self._failures += 1
                if self._failures >= self.failure_threshold:
                    self._enter(State.OPEN)

    def _enter(self, state: State) -> None:
        self._state = state
        self._generation += 1
        self._failures = 0
        self._probe_in_flight = False
        if state is State.OPEN:
            self._opened_at = self._clock()
