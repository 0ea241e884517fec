"""Short real runs: ``serve`` on a free loopback port, Locust headless against it, alone and as a
master with two workers; a run made to miss a threshold must exit non-zero; the sync window.

Each run lasts a few seconds: these prove the wiring (endpoints hit, thresholds judged, CSV and
HTML written, workers joined), not the capacity, which ``loadtests/README.md`` measures.
"""

from __future__ import annotations

import csv
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from reference.settings import PROJECT_ROOT
from tests.loadtests.subprocesses import WIRING_LIMITS, locust_env

pytestmark = pytest.mark.slow

USERS = 300
ENDPOINTS = {
    ("POST", "/v1/imports/videos"),
    ("POST", "/v1/imports/channels"),
    ("GET", "/v1/imports/{request_id}"),
    ("POST", "/v1/videos/check"),
    ("GET", "/v1/quota"),
    ("GET", "/v1/sources?limit=20"),
}
#: Every action equally often, so a few seconds reach each endpoint.
EVEN_MIX = ",".join(
    f"{a}=1"
    for a in ("import_video", "import_channel", "import_status", "check_videos", "quota", "sources")
)
LOCUST = [sys.executable, "-m", "locust", "--config", "loadtests/locust.conf"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``ytscale serve`` on a port of its choosing, with a small population; its base URL."""
    database = tmp_path_factory.mktemp("serve") / "serve.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "ytscale.serve", "--port", "0", "--users", str(USERS),
         "--videos-per-user", "3", "--concurrency", "4", "--database-url", f"sqlite:///{database}"],
        cwd=PROJECT_ROOT, env=locust_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    banner = []
    try:
        for line in process.stdout:
            banner.append(line)
            if found := re.search(r"API\s+(http://127\.0\.0\.1:\d+)", line):
                break
        else:
            pytest.fail(f"serve exited without a banner:\n{''.join(banner)}")
        yield found.group(1)
    finally:
        process.terminate()
        process.wait(timeout=30)


def run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        LOCUST + args, cwd=PROJECT_ROOT, env=locust_env(), capture_output=True, text=True,
        timeout=timeout,
    )  # fmt: skip


def api_run(server: str, out: Path, *extra: str) -> list[str]:
    return [
        "--host", server, "--population-users", str(USERS), "--mix", EVEN_MIX,
        "--target-rps", "25", "--pacing-s", "1", "--ramp-s", "1",
        *WIRING_LIMITS,
        "--csv", str(out), "--html", f"{out}.html", *extra,
    ]  # fmt: skip


def stats(prefix: Path) -> dict[tuple[str, str], dict[str, str]]:
    with open(f"{prefix}_stats.csv", newline="") as f:
        return {(row["Type"], row["Name"]): row for row in csv.DictReader(f)}


def test_a_headless_run_hits_every_endpoint_without_failures(server: str, tmp_path: Path) -> None:
    out = tmp_path / "api"
    result = run(api_run(server, out, "--run-time", "5s", "--max-error-ratio", "0",
                         "--max-p95-ms", "5000", "--min-rate-ratio", "0.5"))  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = stats(out)
    assert set(rows) - {("", "Aggregated")} == ENDPOINTS
    assert rows[("", "Aggregated")]["Failure Count"] == "0"
    assert int(rows[("", "Aggregated")]["Request Count"]) > 40
    assert Path(f"{out}_stats_history.csv").stat().st_size > 0  # --csv-full-history
    assert Path(f"{out}.html").stat().st_size > 0
    assert "every threshold held" in result.stderr


def test_a_run_that_misses_a_threshold_exits_non_zero(server: str, tmp_path: Path) -> None:
    result = run(api_run(server, tmp_path / "api", "--run-time", "2s", "--max-p95-ms", "0.001"))
    assert result.returncode == 1
    assert re.search(r"threshold missed: p95 \(corrected\) [\d.]+ ms > 0.001 ms", result.stderr)


def test_a_master_with_two_workers_runs_the_same_scenario(server: str, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = str(probe.getsockname()[1])
    out = tmp_path / "distributed"
    master = subprocess.Popen(
        LOCUST + api_run(server, out, "--master", "--master-bind-host", "127.0.0.1",
                         "--master-bind-port", port, "--expect-workers", "2", "--run-time", "3s",
                         "--max-error-ratio", "0"),
        cwd=PROJECT_ROOT, env=locust_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    workers = [
        subprocess.Popen(
            LOCUST + ["--worker", "--master-host", "127.0.0.1", "--master-port", port],
            cwd=PROJECT_ROOT,
            env=locust_env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        for _ in range(2)
    ]
    try:
        _, log = master.communicate(timeout=90)
    finally:
        for worker in workers:
            worker.wait(timeout=30)
    assert master.returncode == 0, log[-3000:]
    connected = [int(n) for n in re.findall(r"(\d+) workers connected", log)]
    assert max(connected) == 2, log[-3000:]
    assert set(stats(out)) - {("", "Aggregated")} == ENDPOINTS


def test_a_remote_host_is_refused_before_any_request() -> None:
    started = time.monotonic()
    result = run(["--host", "https://staging.example.com", "--run-time", "5s"])
    assert result.returncode == 2
    assert "not loopback" in result.stderr and "--allow-remote-host" in result.stderr
    assert time.monotonic() - started < 30


def test_the_sync_window_reports_each_sync_as_a_request(tmp_path: Path) -> None:
    out = tmp_path / "sync"
    result = subprocess.run(
        [sys.executable, "-m", "locust", "-f", "loadtests/sync_window.py", "--headless",
         "--run-time", "60s", "--sync-sources", "60", "--time-compression", "100",
         "--csv", str(out), "--max-error-ratio", "0"],
        cwd=PROJECT_ROOT, env=locust_env(), capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = stats(out)
    assert rows[("sync", "sync done")]["Request Count"] == "60"
    assert rows[("sync", "sync queued")]["Request Count"] == "60"
    assert rows[("sync", "window")]["Request Count"] == "1"
    # Done within the window, counted from its start: 0 < every sync's time <= the window's.
    done = rows[("sync", "sync done")]
    assert 0 < float(done["Min Response Time"]) <= float(done["Max Response Time"])
    assert float(done["Max Response Time"]) <= float(rows[("sync", "window")]["Max Response Time"])
