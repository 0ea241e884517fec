"""``ytscale serve``'s start: it seeds an empty database once and says what a database holds,
refuses an unsafe deployment, and its banner shows no secret."""

from __future__ import annotations

import io
import socket
from dataclasses import replace
from pathlib import Path

import pytest

from reference.auth import token_for
from reference.settings import Settings
from ytscale.seed import SeedConfig
from ytscale.serve import _banner, _ensure_seeded, parser, serve_main

TINY = SeedConfig(users=3, videos_per_user=2, n_tools=2, n_categories=1)


def test_seeds_an_empty_database_once_and_names_a_foreign_one(tmp_path: Path) -> None:
    url, out = f"sqlite:///{tmp_path / 'serve.db'}", io.StringIO()
    assert _ensure_seeded(url, TINY, False, out).startswith("3 users, 6 projects (seeded in ")
    assert "seeding 3 users" in out.getvalue()
    assert _ensure_seeded(url, TINY, False, out) == "3 users, 6 projects (seeded before)"
    other = replace(TINY, seed=2)
    assert _ensure_seeded(url, other, False, out).startswith("3 users, 6 projects (not the ")
    assert "(seeded in " in _ensure_seeded(url, other, True, out)
    assert _ensure_seeded(url, other, False, out).endswith("(seeded before)")


@pytest.mark.parametrize(
    ("argv", "environ", "refused"),
    [
        (["--host", "0.0.0.0", "--allow-remote-bind"], {}, "development default"),
        (["--host", "0.0.0.0", "--allow-remote-bind"], {"YTSCALE_SECRET": ""}, "is empty"),
        ([], {"YTSCALE_ENV": "production"}, "development default in production"),
        (["--concurrency", "0"], {}, "BROKER_URL=memory:// across 2 processes"),
    ],
)
def test_an_unsafe_deployment_is_refused_before_anything_starts(
    argv: list[str],
    environ: dict[str, str],
    refused: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    database = f"sqlite:///{tmp_path / 'never.db'}"
    assert serve_main([*argv, "--database-url", database]) == 2
    assert refused in capsys.readouterr().err
    assert not (tmp_path / "never.db").exists(), "refused before seeding"


def test_the_banner_says_how_to_get_a_token_and_hides_passwords() -> None:
    settings = Settings(database_url="postgresql+psycopg://app:hunter2@db/ytscale")
    out = io.StringIO()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        _banner(out, sock, settings, parser().parse_args([]), "3 users", None)
    text = out.getvalue()
    assert "ytscale token USER_ID" in text and token_for(settings.secret, 1) not in text
    assert "hunter2" not in text and "app:***@db" in text
