"""The ``ytscale`` command line: every subcommand explains itself; seed and report end to end."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from reference.auth import token_for
from ytscale import cli
from ytscale.cli import DELEGATED, build_parser, main

SMALL = ["--users", "30", "--videos-per-user", "3"]


def subcommands() -> list[str]:
    """The parser's subcommands, found rather than listed, so a new one is tested too."""
    parser = build_parser()
    (commands,) = (a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(commands.choices)


def test_subcommands_are_seed_token_report_and_serve() -> None:
    assert subcommands() == ["seed", "token", "report", "serve"]


def test_token_prints_a_users_token_under_the_environments_secret(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("YTSCALE_SECRET", "s3cret")
    assert main(["token", "7"]) == 0
    assert capsys.readouterr().out == token_for("s3cret", 7) + "\n"


def test_help_never_shows_a_password_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://app:hunter%40x@db/ytscale")
    with pytest.raises(SystemExit):
        main(["seed", "--help"])
    out = capsys.readouterr().out
    assert "hunter" not in out and "app:***@db" in out


@pytest.mark.parametrize("command", subcommands())
def test_every_subcommand_explains_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0
    assert out.startswith(f"usage: ytscale {command}")
    main_help = build_parser().format_help()
    assert command in main_help


def test_seed_prints_and_writes_its_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    out_json = tmp_path / "out" / "seed.json"
    assert (
        main(["seed", *SMALL, "--database-url", url, "--raw-baseline", "--json", str(out_json)])
        == 0
    )
    printed = capsys.readouterr().out
    summary = json.loads(out_json.read_text())
    assert summary["rows"]["projects"] == 90 and summary["users"] == 30
    assert summary["raw_seconds"] > 0 and summary["ratio_to_raw"] > 0
    assert "projects" in printed and "seed / raw" in printed


def test_seed_refuses_a_non_empty_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["seed", *SMALL, "--database-url", url]) == 0
    capsys.readouterr()
    assert main(["seed", *SMALL, "--database-url", url]) == 1
    assert "--replace" in capsys.readouterr().err
    assert main(["seed", *SMALL, "--database-url", url, "--replace", "--seed", "2"]) == 0


@pytest.mark.parametrize(
    "argv",
    [["seed", "--users", "0"], ["seed", "--now", "2025-01-01T00:00:00"], ["nonsense"]],
    ids=["no-users", "naive-now", "unknown-command"],
)
def test_bad_arguments_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    assert "error:" in capsys.readouterr().err


def test_now_takes_an_offset() -> None:
    args = build_parser().parse_args(["seed", "--now", "2025-06-01T12:00:00.5+02:00"])
    assert args.now.isoformat() == "2025-06-01T12:00:00+02:00"


def test_a_delegated_command_gets_its_argv_unparsed(monkeypatch: pytest.MonkeyPatch) -> None:
    received: list[tuple[str, list[str]]] = []

    def entry(target: str) -> Callable[[list[str]], int]:
        def run(argv: list[str]) -> int:
            received.append((target, argv))
            return 7

        return run

    monkeypatch.setattr(cli, "_entry", entry)
    assert main(["serve", "--port", "0", "--help"]) == 7
    assert received == [(DELEGATED["serve"][0], ["--port", "0", "--help"])]
