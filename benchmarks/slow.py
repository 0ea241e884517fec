"""The test-only switch that makes "ours" slow, so the gate's own tests can watch it fail.

``YTSCALE_BENCH_SLOW=matching,lookup`` runs the report's "before" wherever a benchmark of those
claims asks for "ours"; the benchmark is flagged ``slowed`` in its ``extra_info``.
"""

from __future__ import annotations

import os

SLOW_ENV = "YTSCALE_BENCH_SLOW"
#: The variants every claim is measured in, in the order the tables show them.
VARIANTS = ("before", "after", "ours")


def effective_variant(claim: str, variant: str) -> str:
    """``variant``, except that "ours" of a claim named in ``YTSCALE_BENCH_SLOW`` is "before"."""
    slowed = {name.strip() for name in os.environ.get(SLOW_ENV, "").split(",")}
    return "before" if variant == "ours" and claim in slowed else variant
