"""Pass/fail on the command line: a run that misses a threshold exits non-zero.

```bash
locust ... --max-p95-ms 100 --max-p99-ms 250 --max-error-ratio 0.01 --min-rate-ratio 0.95
```

Checked when Locust quits, on the aggregated stats (the master's, in a distributed run), following
Locust's ``examples/extend_modify_locust/custom_exit_code`` pattern. The percentiles are the HDR
histograms' (:mod:`loadtests.latency`), from each request's intended start unless
``--latency-basis sent``. ``--min-rate-ratio`` compares the rate achieved while the load was steady
with the rate :class:`loadtests.rate.HoldRate` was asked to hold; a scenario without that shape has
no target rate and skips the check.

Before any threshold, the generator: a run whose generator was saturated
(:mod:`loadtests.generator`) is invalid, exit code 3, whatever the latencies. A run the error
abort stopped (:mod:`loadtests.caps`) keeps its code 4. Either way the CSV and HTML get the
verdict (:mod:`loadtests.reports`).
"""

from __future__ import annotations

import logging
from typing import Any

from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment
from locust.stats import StatsEntry

from loadtests import generator, reports
from loadtests.latency import BASES, LATENCIES, Latencies, is_judge

log = logging.getLogger(__name__)
#: The exit code of a run that missed a threshold (Locust's own for failed requests is 1 too).
FAILED = 1
LIMITS = ("max_p95_ms", "max_p99_ms", "max_error_ratio", "min_rate_ratio")


def achieved_rps(total: StatsEntry, since: float) -> float:
    """Requests a second over the whole seconds from ``since`` to the last full second."""
    seconds = [s for s in total.num_reqs_per_sec if s >= since]
    if len(seconds) < 2:
        return float(total.total_rps)
    first, last = min(seconds), max(seconds)  # the last second is still filling: left out
    return sum(total.num_reqs_per_sec.get(s, 0) for s in range(first, last)) / (last - first)


def violations(environment: Environment, latencies: Latencies = LATENCIES) -> list[str]:
    """What the run missed, one sentence each; empty when every threshold given holds."""
    options = environment.parsed_options
    total = environment.stats.total
    limits = {name: getattr(options, name, None) for name in LIMITS}
    if all(v is None for v in limits.values()):
        return []
    if total.num_requests == 0:
        return ["no requests were made"]
    basis = getattr(options, "latency_basis", "corrected")
    found = []
    for quantile, name in ((0.95, "max_p95_ms"), (0.99, "max_p99_ms")):
        limit = limits[name]
        actual = latencies.percentile(quantile, basis)
        if limit is not None and actual > limit:
            found.append(f"p{round(quantile * 100)} ({basis}) {actual:.3g} ms > {limit:g} ms")
    ratio = total.num_failures / total.num_requests
    if limits["max_error_ratio"] is not None and ratio > limits["max_error_ratio"]:
        found.append(
            f"error ratio {ratio:.4f} ({total.num_failures} of {total.num_requests}) "
            f"> {limits['max_error_ratio']:g}"
        )
    shape = environment.shape_class
    wanted = getattr(shape, "target_rps", None)
    if limits["min_rate_ratio"] is not None and wanted:
        achieved = achieved_rps(total, getattr(shape, "steady_since", 0.0))
        if achieved < limits["min_rate_ratio"] * wanted:
            found.append(
                f"achieved {achieved:.1f} req/s = {achieved / wanted:.2f} of the target "
                f"{wanted:.1f} < {limits['min_rate_ratio']:g}"
            )
    return found


@events.init_command_line_parser.add_listener
def _arguments(parser: LocustArgumentParser) -> None:
    group = parser.add_argument_group("ytscale thresholds", f"a miss exits with code {FAILED}")
    group.add_argument(
        "--max-p95-ms", type=float, default=None, help="95th percentile, all requests"
    )
    group.add_argument(
        "--max-p99-ms", type=float, default=None, help="99th percentile, all requests"
    )
    group.add_argument("--max-error-ratio", type=float, default=None, help="failed / all requests")
    group.add_argument(
        "--min-rate-ratio", type=float, default=None, help="achieved / target rate, steady part"
    )
    group.add_argument(
        "--latency-basis", choices=BASES, default="corrected",
        help="corrected: from the intended start; sent: from the send",
    )  # fmt: skip


@events.quitting.add_listener
def _judge(environment: Environment, **_: Any) -> None:
    if not is_judge(environment):
        return  # the master judges the aggregated stats
    found = generator.verdict(environment)
    missed = violations(environment)
    reports.write(environment, LATENCIES, found, missed)
    for problem in missed:
        log.error("threshold missed: %s", problem)
    for reason in found.reasons:
        log.error("run invalid, the generator was saturated: %s", reason)
    if environment.process_exit_code is not None:
        return  # aborted: that code stands
    if not found.valid:
        environment.process_exit_code = generator.INVALID
    elif missed:
        environment.process_exit_code = FAILED
    elif any(getattr(environment.parsed_options, name, None) is not None for name in LIMITS):
        log.info("every threshold held")
