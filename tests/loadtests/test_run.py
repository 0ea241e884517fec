"""``python -m loadtests.run``: what it hands the server it starts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from loadtests import run

URL = "postgresql+psycopg://app:hunter2@127.0.0.1/ytscale"


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
