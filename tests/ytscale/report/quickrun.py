"""One CI-sized run of the main job, for the tests that read what it wrote."""

from __future__ import annotations

import contextlib
import io
from dataclasses import dataclass
from pathlib import Path

from ytscale.report.run import main

#: The steps that need minutes (the seed, a load test, the benchmarks) are left out.
SKIPPED = ("seed", "loadtest", "bench")


@dataclass(frozen=True)
class QuickRun:
    code: int
    out: str
    err: str
    path: Path


def run_quick(path: Path) -> QuickRun:
    """``ytscale report --quick`` into ``path``, its output captured."""
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["--quick", "--out", str(path), *[a for s in SKIPPED for a in ("--skip", s)]])
    return QuickRun(code, stdout.getvalue(), stderr.getvalue(), path)
