"""The environment for Locust and ``serve`` subprocesses started by these tests."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from collections.abc import Iterator

from reference.settings import PROJECT_ROOT

SKIP_PATCH = "LOCUST_SKIP_MONKEY_PATCH"
#: Generator limits for runs that prove wiring, not capacity: Locust, the server and other jobs
#: share two cores here, and a verdict on that contention would fail them at random.
WIRING_LIMITS = [
    "--max-schedule-lag-ms",
    "5000",
    "--max-dropped-share",
    "1",
    "--max-generator-cpu",
    "1",
]


def locust_env() -> dict[str, str]:
    """This process's environment without the monkey-patch switch and the backend URLs."""
    scrubbed = {SKIP_PATCH, "DATABASE_URL", "REDIS_URL", "YOUTUBE_URL", "BROKER_URL"}
    return {k: v for k, v in os.environ.items() if k not in scrubbed}


@contextlib.contextmanager
def standin() -> Iterator[str]:
    """``python -m loadtests.standin`` on a free loopback port while the block runs; its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "loadtests.standin", "--port", "0"],
        cwd=PROJECT_ROOT, env=locust_env(), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        text=True,
    )  # fmt: skip
    assert process.stdout is not None
    try:
        banner = process.stdout.readline()
        if not banner.startswith("stand-in http://127.0.0.1:"):
            raise RuntimeError(f"the stand-in did not start: {banner!r}")
        yield banner.split()[1]
    finally:
        process.terminate()
        process.wait(timeout=30)
