"""``python -m loadtests.run``: what it hands the server it starts, and that the server's output
keeps flowing (to a file, not a pipe nobody reads after the banner)."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import pytest

from loadtests import run
from loadtests.run import start_serve

URL = "postgresql+psycopg://app:hunter2@127.0.0.1/ytscale"
#: A server that announces itself, then writes far more than a pipe holds (64 KiB), then exits.
CHATTY = """
import sys
print("  API       http://127.0.0.1:8765  (uvicorn)", flush=True)
for i in range(20_000):
    print(f"log line {i:05d} " + "x" * 80)
sys.stdout.flush()
"""


def test_the_server_keeps_writing_after_its_banner(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    serve, host = start_serve([sys.executable, "-c", CHATTY], log, env=dict(os.environ), timeout=30)
    assert host == "http://127.0.0.1:8765"
    assert serve.wait(timeout=30) == 0  # with a pipe left unread it would block here
    assert "log line 19999" in log.read_text()


def test_a_server_that_dies_says_why(tmp_path: Path) -> None:
    command = [sys.executable, "-c", "print('cannot seed: disk full'); raise SystemExit(2)"]
    with pytest.raises(RuntimeError, match="cannot seed: disk full"):
        start_serve(command, tmp_path / "serve.log", env=dict(os.environ), timeout=30)


class Started(Exception):
    pass


def test_the_database_url_goes_to_the_server_in_its_environment_not_its_argv(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    seen: dict[str, Any] = {}

    def popen(argv: list[str], **kwargs: Any) -> None:
        seen.update(argv=argv, env=kwargs["env"])
        raise Started

    monkeypatch.setattr(run.subprocess, "Popen", popen)
    with pytest.raises(Started):
        run.main(["--out", str(tmp_path), "--database-url", URL])
    assert not any("hunter2" in arg for arg in seen["argv"]), "`ps` shows argv to everyone"
    assert seen["env"]["DATABASE_URL"] == URL
