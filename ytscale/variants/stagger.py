"""The P0 report's stagger (claim #4): every task of a window gets a random countdown in 0..900 s.

It shares :func:`reference.pipeline.schedule_due` with ours and differs only in the countdowns::

    schedule_due(services, enqueue, horizon_s=900, stagger=report_countdowns, seed=0)
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from datetime import datetime

from reference.models import ContentSource
from reference.pipeline import Stagger, spread_countdowns


def report_countdowns(
    due: Sequence[ContentSource], now: datetime, horizon_s: float, rng: random.Random
) -> list[float]:
    """The report's stagger: a uniform random countdown over the whole horizon."""
    return [rng.uniform(0, horizon_s) for _ in due]


#: The staggers by the names the load test and the report use.
STAGGERS: Mapping[str, Stagger] = {"report": report_countdowns, "ours": spread_countdowns}
