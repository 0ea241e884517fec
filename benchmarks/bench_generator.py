"""Generator efficiency: CPU seconds per request of our scenario against a bare FastHttpUser GET,
side by side in one run against the same server.

Three runs hold :data:`RATE` requests a second for :data:`SECONDS` against the stand-in API
(``loadtests/standin.py``, cheap enough not to starve the generator): the bare GET paced by
Locust's ``constant_pacing`` (``paced``), the bare GET on our open arrivals (``open``), and ours
(the whole scenario with ``profiles/standin.toml`` and URL files: open arrivals, the mix, bodies,
ids, the rate cap's bucket, two HDR latencies, the arrival counts). Each runs :data:`ROUNDS`
times, alternating, and the least CPU per request of each is kept (other processes only ever
add); only the steady part of a run counts (``benchmarks/locust_meter.py``).

Measured here: paced 0.26-0.28 ms, open 0.73-0.78 ms, ours 0.85 ms. Arrivals at their own
moments cost a loop wake-up each, where paced users fire together and share one: that is most
of the gap to a paced GET, and the price of not sending bursts. ``extra_info``: ``paced_ms``,
``open_ms``, ``ours_ms``, ``cpu_ratio_to_bare`` (ours over the open GET: what the scenario adds,
held by ``bounds.toml``) and ``cpu_ratio_to_paced``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from loadtests.profile import DEFAULT_PROFILE
from reference.settings import PROJECT_ROOT
from tests.loadtests.subprocesses import locust_env
from tests.loadtests.subprocesses import standin as running_standin

RATE = 150
SECONDS = 10
ROUNDS = 2


@pytest.fixture(scope="module")
def standin() -> Iterator[str]:
    with running_standin() as url:
        yield url


def locust(locustfile: str, host: str, out: Path, *args: str) -> float:
    """One headless run; the generator's CPU ms per request."""
    report = out / "cpu.json"
    subprocess.run(
        [sys.executable, "-m", "locust", "-f", locustfile, "--headless", "--host", host,
         "--run-time", f"{SECONDS}s", "--only-summary", "--cpu-report", str(report), *args],
        cwd=PROJECT_ROOT, env=locust_env(), check=True,
        capture_output=True, timeout=SECONDS + 60,
    )  # fmt: skip
    figures = json.loads(report.read_text())
    return float(1000 * figures["cpu_s"] / figures["requests"])


def test_generator_cpu_per_request(benchmark: Any, case: Any, standin: str, tmp_path: Path) -> None:
    (tmp_path / "keys.csv").write_text("".join(f"{u},key-{u}\n" for u in range(1, 1001)))
    (tmp_path / "videos.txt").write_text(
        "".join(f"https://youtu.be/v{n:09d}\n" for n in range(5000))
    )
    (tmp_path / "channels.txt").write_text("".join(f"@channel{n}\n" for n in range(500)))
    ours_args = [
        "--target-profile", str(DEFAULT_PROFILE.parent / "standin.toml"),
        "--tokens-csv", str(tmp_path / "keys.csv"), "--videos-file", str(tmp_path / "videos.txt"),
        "--channels-file", str(tmp_path / "channels.txt"),
        "--target-rps", str(RATE), "--pacing-s", "1", "--ramp-s", "1",
    ]  # fmt: skip
    bare = ["benchmarks/locust_bare.py", "-u", str(RATE), "-r", str(RATE)]
    runs = {
        "paced": [*bare, "PacedUser"],
        "open": [*bare, "OpenUser"],
        "ours": ["benchmarks/locust_ours.py", *ours_args],
    }
    measured: dict[str, list[float]] = {name: [] for name in runs}

    def alternating() -> None:
        for _ in range(ROUNDS):
            for name, (locustfile, *args) in runs.items():
                measured[name].append(locust(locustfile, standin, tmp_path, *args))

    case("generator", "ours", server="standin", rps=RATE)
    benchmark.pedantic(alternating, rounds=1, iterations=1)
    least = {name: min(values) for name, values in measured.items()}
    benchmark.extra_info.update(
        paced_ms=least["paced"], open_ms=least["open"], ours_ms=least["ours"],
        cpu_ratio_to_bare=least["ours"] / least["open"],
        cpu_ratio_to_paced=least["ours"] / least["paced"],
        rounds=measured,
    )  # fmt: skip
