"""The run manifest: what produced a report (commit, versions, machine, settings, steps).

:func:`revision` and :func:`versions` are also what the benchmarks record of their run.
"""

from __future__ import annotations

import os
import platform
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from reference.settings import PROJECT_ROOT, Settings

PACKAGES = (
    "sqlalchemy", "alembic", "psycopg", "redis", "fakeredis", "celery", "httpx", "numpy",
    "matplotlib", "papermill", "jupytext", "nbconvert", "locust", "pytest-benchmark",
)  # fmt: skip


def git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip()


def revision() -> dict[str, Any]:
    """The commit checked out and whether the tree differs from it (None: git cannot say)."""
    status = git("status", "--porcelain")
    return {"sha": git("rev-parse", "HEAD"), "dirty": bool(status) if status is not None else None}


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
    }
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def machine() -> dict[str, Any]:
    return {
        "platform": platform.platform(),
        "processor": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "executable": sys.executable,
    }


def manifest(settings: Settings, steps: list[dict[str, Any]], argv: list[str]) -> dict[str, Any]:
    commit = revision()
    return {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "git_sha": commit["sha"],
        "git_dirty": commit["dirty"],
        "argv": argv,
        "versions": versions(),
        "machine": machine(),
        "settings": settings.describe(),
        "steps": steps,
    }
