"""The test-only switches that make "ours" regress, so the gate's own tests can watch it fail.

``YTSCALE_BENCH_SLOW=matching,lookup`` runs the report's "before" wherever a benchmark of those
claims asks for "ours"; the benchmark is flagged ``slowed`` in its ``extra_info``.

``YTSCALE_BENCH_INJECT=statement,round_trip,instructions`` adds one regression of each kind named
to ours, one per kind of count bound: an extra ``SELECT 1`` per matched video (bench_matching.py),
an extra ``PING`` per reservation (bench_quota.py), each CPU path's operation run twice
(cpu_paths.py). Timing regressions are the business of ``benchmarks.compare``.
"""

from __future__ import annotations

import os

SLOW_ENV = "YTSCALE_BENCH_SLOW"
INJECT_ENV = "YTSCALE_BENCH_INJECT"
INJECTIONS = ("statement", "round_trip", "instructions")
#: The variants every claim is measured in, in the order the tables show them.
VARIANTS = ("before", "after", "ours")


def _named(env: str) -> set[str]:
    return {name.strip() for name in os.environ.get(env, "").split(",")}


def effective_variant(claim: str, variant: str) -> str:
    """``variant``, except that "ours" of a claim named in ``YTSCALE_BENCH_SLOW`` is "before"."""
    return "before" if variant == "ours" and claim in _named(SLOW_ENV) else variant


def injected(kind: str) -> bool:
    """Whether ``YTSCALE_BENCH_INJECT`` names ``kind``, one of :data:`INJECTIONS`."""
    if kind not in INJECTIONS:
        raise ValueError(f"unknown injection {kind!r}: choose from {INJECTIONS}")
    return kind in _named(INJECT_ENV)
