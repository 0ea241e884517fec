"""What goes wrong, how often, and how slowly: the fake YouTube's fault and latency injection.

```python
config = FaultConfig(seed=3, rate_limit=0.02, server_error=0.01, drop=0.005,
                     latency=Latency(mean_s=5.0, sigma=0.6))
faults = Faults(config, time_scale=100)   # simulated 5 s run as 50 ms
decision = faults.decide()        # one per request, from a seeded RNG: reproducible runs
faults.start_storm(requests=200)  # the next 200 requests answer quotaExceeded
```

Every rate is a probability per request, drawn in this order: a quota storm in progress wins;
else a dropped connection; else a 5xx (``500`` and ``503`` alike); else ``rateLimitExceeded``;
else a normal answer. Latency applies to every decision, plus ``slow_s`` on a ``slow`` draw.
Durations are *simulated* seconds: the real delay is ``seconds / time_scale``. What each
fault is charged is the fake's business (see ``ytscale.fake.youtube``).
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum


class Fault(Enum):
    NONE = "none"
    #: The connection closes before any answer: nothing was processed.
    DROP = "drop"
    #: 500 or 503 ``backendError``.
    SERVER_ERROR = "serverError"
    #: 403 ``rateLimitExceeded`` (domain ``usageLimits``).
    RATE_LIMIT = "rateLimitExceeded"
    #: 403 ``quotaExceeded`` forced by a storm, whatever the budget says.
    QUOTA_STORM = "quotaStorm"


@dataclass(frozen=True)
class Latency:
    """Lognormal service time with mean ``mean_s`` (simulated seconds); ``0`` for none."""

    mean_s: float = 0.0
    sigma: float = 0.5

    def sample(self, rng: random.Random) -> float:
        if self.mean_s <= 0:
            return 0.0
        # A lognormal's mean is exp(mu + sigma**2 / 2): solve for mu so the mean is mean_s.
        mu = math.log(self.mean_s) - self.sigma**2 / 2
        return rng.lognormvariate(mu, self.sigma)


@dataclass(frozen=True)
class FaultConfig:
    """Rates per request, in [0, 1]; the defaults inject nothing."""

    seed: int = 0
    rate_limit: float = 0.0
    server_error: float = 0.0
    drop: float = 0.0
    slow: float = 0.0
    #: Extra simulated seconds a slow answer takes.
    slow_s: float = 30.0
    #: Chance that a request starts a quota storm of ``storm_requests`` requests.
    storm: float = 0.0
    storm_requests: int = 100
    latency: Latency = field(default_factory=Latency)

    def __post_init__(self) -> None:
        rates = {
            "rate_limit": self.rate_limit,
            "server_error": self.server_error,
            "drop": self.drop,
            "slow": self.slow,
            "storm": self.storm,
        }
        for name, rate in rates.items():
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], not {rate}")
        if self.slow_s < 0 or self.latency.mean_s < 0 or self.latency.sigma < 0:
            raise ValueError("durations and sigma cannot be negative")
        if self.storm_requests < 1:
            raise ValueError(f"a storm lasts at least 1 request, not {self.storm_requests}")


@dataclass(frozen=True, slots=True)
class Decision:
    fault: Fault
    #: HTTP status of a ``SERVER_ERROR`` (500 or 503); 0 otherwise.
    status: int
    #: Real seconds to wait before answering (or dropping).
    delay_s: float


class Faults:
    """Draws one :class:`Decision` per request; safe to share between threads."""

    def __init__(
        self,
        config: FaultConfig,
        time_scale: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, not {time_scale}")
        self.config = config
        #: Simulated seconds per real second: 100 makes a 5 s latency take 50 ms.
        self.time_scale = time_scale
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._rng = random.Random(config.seed)
        self._storm_requests = 0
        self._storm_until: float | None = None

    def decide(self) -> Decision:
        config = self.config
        with self._lock:
            rng = self._rng
            delay = config.latency.sample(rng)
            if rng.random() < config.slow:
                delay += config.slow_s
            delay /= self.time_scale
            if not self._in_storm() and rng.random() < config.storm:
                self._storm_requests = config.storm_requests
            if self._in_storm():
                self._storm_requests = max(0, self._storm_requests - 1)
                return Decision(Fault.QUOTA_STORM, 0, delay)
            if rng.random() < config.drop:
                return Decision(Fault.DROP, 0, delay)
            if rng.random() < config.server_error:
                return Decision(Fault.SERVER_ERROR, rng.choice((500, 503)), delay)
            if rng.random() < config.rate_limit:
                return Decision(Fault.RATE_LIMIT, 0, delay)
            return Decision(Fault.NONE, 0, delay)

    def start_storm(self, requests: int | None = None, seconds: float | None = None) -> None:
        """Force ``quotaExceeded`` for the next ``requests`` requests or ``seconds`` (simulated)."""
        if (requests is None) == (seconds is None):
            raise ValueError("give exactly one of requests or seconds")
        with self._lock:
            if requests is not None:
                self._storm_requests = max(0, requests)
            else:
                real = max(0.0, seconds or 0.0) / self.time_scale
                self._storm_until = self._monotonic() + real

    @property
    def storming(self) -> bool:
        with self._lock:
            return self._in_storm()

    def reset(self) -> None:
        """End any storm and restart the RNG from the seed: the same run again."""
        with self._lock:
            self._rng = random.Random(self.config.seed)
            self._storm_requests = 0
            self._storm_until = None

    def _in_storm(self) -> bool:
        if self._storm_until is not None and self._monotonic() >= self._storm_until:
            self._storm_until = None
        return self._storm_requests > 0 or self._storm_until is not None
