"""Was the generator, not the server, the bottleneck? Arrivals due, late and dropped, schedule
lag, CPU: a saturated generator makes the run **invalid**, whatever the server's latencies.

```bash
locust ... --max-generator-cpu 0.9 --max-schedule-lag-ms 100 --max-dropped-share 0.01
```

- *due*: every start the open-arrival schedule planned (:class:`loadtests.rate.OpenArrivals`);
- *late*: a due start taken after its time because the user's last answer outlasted it (its
  latency then counts from the intended start: :mod:`loadtests.latency`);
- *dropped*: a due start that passed while the user was still waiting, never made (k6's dropped
  iterations): load the run claims to offer and did not;
- *schedule lag*: how late a user that was idle woke for its start: the generator's own delay;
- *CPU*: the process's CPU seconds over the seconds of the run (one core is 1.0: a Locust
  process runs on one).

A scenario that planned no arrivals (a closed loop such as ``ceiling.py``, or the sync window,
whose process *is* the system under test) is not judged. Counted per process; a worker sends its
counts with each stats report, and the master judges every worker's. The verdict lands in the
log, ``<csv>_generator.csv``, the HTML report (:mod:`loadtests.reports`) and the exit code
(:data:`INVALID`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hdrh.histogram import HdrHistogram
from locust import events
from locust.argument_parser import LocustArgumentParser
from locust.env import Environment

from loadtests.latency import micros, new_histogram

#: The exit code of a run whose generator was saturated.
INVALID = 3
REPORT_KEY = "ytscale_generator"
COUNTS = ("due", "late", "dropped", "requests")


@dataclass
class Load:
    """One process's arrivals and CPU since the test started."""

    due: int = 0
    late: int = 0
    dropped: int = 0
    requests: int = 0
    lag: HdrHistogram = field(default_factory=new_histogram)
    started_wall: float = field(default_factory=time.monotonic)
    started_cpu: float = field(default_factory=time.process_time)

    def lagged(self, seconds: float) -> None:
        self.lag.record_value(micros(seconds * 1000))

    def cpu(self) -> tuple[float, float]:
        """CPU seconds and wall seconds since the start."""
        return time.process_time() - self.started_cpu, time.monotonic() - self.started_wall

    def snapshot(self) -> dict[str, Any]:
        cpu_s, wall_s = self.cpu()
        counts = {name: getattr(self, name) for name in COUNTS}
        return {**counts, "lag": self.lag.encode(), "cpu_s": cpu_s, "wall_s": wall_s}


#: This process's load.
LOAD = Load()


@dataclass
class Verdict:
    """The run's load across processes, and what made it invalid (nothing: valid)."""

    due: int
    late: int
    dropped: int
    requests: int
    lag_p99_ms: float
    #: Per process: CPU seconds, wall seconds, requests.
    processes: Mapping[str, tuple[float, float, int]]
    reasons: list[str]

    @property
    def valid(self) -> bool:
        return not self.reasons

    @property
    def dropped_share(self) -> float:
        return self.dropped / self.due if self.due else 0.0

    @property
    def cpu_share(self) -> float:
        """The busiest process's CPU over its wall time."""
        return max((cpu / wall for cpu, wall, _ in self.processes.values() if wall > 0), default=0)

    @property
    def cpu_ms_per_request(self) -> float:
        cpu = sum(c for c, _, _ in self.processes.values())
        requests = sum(r for _, _, r in self.processes.values())
        return 1000 * cpu / requests if requests else float("nan")

    def rows(self) -> list[tuple[str, str]]:
        return [
            ("verdict", "valid" if self.valid else "INVALID"),
            ("reasons", "; ".join(self.reasons)),
            ("arrivals due", str(self.due)),
            ("late", str(self.late)),
            ("dropped", str(self.dropped)),
            ("dropped share", f"{self.dropped_share:.4f}"),
            ("requests", str(self.requests)),
            ("schedule lag p99 ms", f"{self.lag_p99_ms:.3f}"),
            ("generator CPU share (busiest process)", f"{self.cpu_share:.3f}"),
            ("generator CPU ms per request", f"{self.cpu_ms_per_request:.4f}"),
        ]


def judge(options: Any, processes: Mapping[str, Mapping[str, Any]]) -> Verdict:
    """The verdict on every process's snapshot, against the command line's limits."""
    lag = new_histogram()
    totals = dict.fromkeys(COUNTS, 0)
    for snapshot in processes.values():
        for name in COUNTS:
            totals[name] += int(snapshot[name])
        lag.decode_and_add(snapshot["lag"])
    usage = {
        name: (float(s["cpu_s"]), float(s["wall_s"]), int(s["requests"]))
        for name, s in processes.items()
    }
    verdict = Verdict(**totals, lag_p99_ms=lag.get_value_at_percentile(99) / 1000,
                      processes=usage, reasons=[])  # fmt: skip
    if not verdict.due:
        return verdict  # no schedule to fall behind: a closed loop, or the sync window's stack
    for name, (cpu, wall, _) in usage.items():
        if wall > 0 and cpu / wall > options.max_generator_cpu:
            verdict.reasons.append(
                f"generator CPU {cpu / wall:.2f} of a core ({name}) > {options.max_generator_cpu:g}"
            )
    if lag.get_total_count() and verdict.lag_p99_ms > options.max_schedule_lag_ms:
        verdict.reasons.append(
            f"schedule lag p99 {verdict.lag_p99_ms:.1f} ms > {options.max_schedule_lag_ms:g} ms"
        )
    if verdict.dropped_share > options.max_dropped_share:
        verdict.reasons.append(
            f"dropped arrivals {verdict.dropped} of {verdict.due} due "
            f"({verdict.dropped_share:.2%}) > {options.max_dropped_share:.2%}"
        )
    return verdict


#: Every process's last snapshot, by worker id ("local" for this one), on the judging process.
_snapshots: dict[str, Mapping[str, Any]] = {}


def verdict(environment: Environment) -> Verdict:
    # No worker reported: a local run, this process did the load.
    return judge(environment.parsed_options, _snapshots or {"local": LOAD.snapshot()})


@events.test_start.add_listener
def _start(environment: Environment, **_: Any) -> None:
    global LOAD
    LOAD = Load()
    _snapshots.clear()


@events.request.add_listener
def _count(**_: Any) -> None:
    LOAD.requests += 1


@events.report_to_master.add_listener
def _send(client_id: str, data: dict[str, Any]) -> None:
    data[REPORT_KEY] = LOAD.snapshot()


@events.worker_report.add_listener
def _receive(client_id: str, data: Mapping[str, Any]) -> None:
    if REPORT_KEY in data:
        _snapshots[client_id] = data[REPORT_KEY]


@events.init_command_line_parser.add_listener
def _arguments(parser: LocustArgumentParser) -> None:
    group = parser.add_argument_group(
        "ytscale generator", f"a saturated generator makes the run invalid: exit code {INVALID}"
    )
    group.add_argument(
        "--max-generator-cpu", type=float, default=0.9, help="CPU seconds per second, a process"
    )
    group.add_argument(
        "--max-schedule-lag-ms", type=float, default=100.0, help="p99 lag of an idle user's start"
    )
    group.add_argument(
        "--max-dropped-share", type=float, default=0.01, help="dropped arrivals / due"
    )
