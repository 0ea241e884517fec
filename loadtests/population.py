"""The population model: how many requests a second 100,000 users make at the busiest hour.

```python
population = LoadPopulation()             # 100,000 users, 20 % active a day, 40 requests each, ×3
population.peak_rps                       # 27.8: the rate a load test must hold
population.rates()                        # {"check_videos": 8.3, "quota": 6.9, ...}
virtual_users(population.peak_rps, 2.0)   # 56 Locust users, each pacing one request per 2 s
```

The figures are assumptions, stated once here and overridable on the command line; nothing else in
the load tests hard-codes a rate.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

SECONDS_PER_DAY = 86_400

#: What an active user does, as shares of their requests. Reads dominate; channel imports are rare
#: (each may cost a page of quota per 50 uploads).
DEFAULT_MIX: Mapping[str, float] = MappingProxyType(
    {
        "check_videos": 0.30,  # the "my videos" duplicate check of a pasted batch
        "quota": 0.25,
        "sources": 0.17,
        "import_status": 0.12,  # polling an import the user started
        "import_video": 0.14,
        "import_channel": 0.02,
    }
)
#: Every action a load test can take: the mix's, and ``ping``, the trivial yardstick.
ACTIONS = (*DEFAULT_MIX, "ping")


@dataclass(frozen=True)
class LoadPopulation:
    """Who uses the service and how much, from which the request rate to hold follows.

    The people a load test stands in for; the rows the seed writes are ``SeededRows``.
    """

    users: int = 100_000
    #: Share of users who use the service on a given day.
    active_share: float = 0.20
    #: Requests an active user makes in a day.
    actions_per_active_user: float = 40.0
    #: The busiest hour's rate over the day's mean rate.
    peak_factor: float = 3.0
    #: Shares of requests per action; normalised, so weights need not sum to 1.
    mix: Mapping[str, float] = field(default_factory=lambda: DEFAULT_MIX)
    #: Share of video imports naming a video the user has already (answered 200 at once).
    duplicate_share: float = 0.30

    def __post_init__(self) -> None:
        if self.users < 1:
            raise ValueError(f"users must be >= 1, not {self.users}")
        for name in ("active_share", "duplicate_share"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} must be within 0..1, not {getattr(self, name)}")
        if self.actions_per_active_user < 0:
            raise ValueError("actions_per_active_user must be >= 0")
        if self.peak_factor < 1:
            raise ValueError(f"peak_factor must be >= 1 (peak over mean), not {self.peak_factor}")
        if not self.mix or any(w < 0 for w in self.mix.values()) or sum(self.mix.values()) <= 0:
            raise ValueError(f"mix needs non-negative weights, some positive: {dict(self.mix)}")

    @property
    def daily_requests(self) -> float:
        return self.users * self.active_share * self.actions_per_active_user

    @property
    def mean_rps(self) -> float:
        return self.daily_requests / SECONDS_PER_DAY

    @property
    def peak_rps(self) -> float:
        """The rate to hold: the day's mean rate times the peak factor."""
        return self.mean_rps * self.peak_factor

    def shares(self) -> dict[str, float]:
        """The mix normalised to sum to 1."""
        total = sum(self.mix.values())
        return {action: weight / total for action, weight in self.mix.items()}

    def rates(self, total_rps: float | None = None) -> dict[str, float]:
        """Requests a second per action at ``total_rps`` (default: the peak rate)."""
        rate = self.peak_rps if total_rps is None else total_rps
        return {action: share * rate for action, share in self.shares().items()}


def parse_mix(text: str) -> dict[str, float]:
    """``"quota=2,ping=1"`` → ``{"quota": 2.0, "ping": 1.0}``, weights to replace the default's."""
    mix = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, weight = (s.strip() for s in item.partition("="))
        if not sep or name not in ACTIONS:
            raise ValueError(f"mix items are action=weight, actions {', '.join(ACTIONS)}: {item!r}")
        try:
            mix[name] = float(weight)
        except ValueError:
            raise ValueError(f"mix weight of {name!r} is not a number: {weight!r}") from None
    return mix


def virtual_users(rate_rps: float, pacing_s: float) -> int:
    """Locust users needed to hold ``rate_rps`` when each starts one request every ``pacing_s``.

    A user paced at ``pacing_s`` issues ``1 / pacing_s`` requests a second as long as each request
    takes less than ``pacing_s``; so the count is ``rate × pacing``, rounded up, at least one.
    """
    if rate_rps <= 0 or pacing_s <= 0:
        raise ValueError(f"rate and pacing must be positive, not {rate_rps} and {pacing_s}")
    return max(1, math.ceil(rate_rps * pacing_s - 1e-9))
