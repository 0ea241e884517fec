"""The ``ytscale`` command: one subcommand per job, each a small function (``ytscale CMD --help``).

```bash
ytscale seed --users 1000 --videos-per-user 50 --raw-baseline --json var/seed.json
ytscale report            # the full report (ytscale report --help)
ytscale token 1           # user 1's bearer token under this environment's YTSCALE_SECRET
```

Backends come from :meth:`Settings.from_env` (``DATABASE_URL`` …) unless an option names one.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
from collections.abc import Callable, Sequence
from datetime import datetime
from pathlib import Path

from reference.auth import token_for
from reference.settings import Settings, redact_url
from ytscale.fake.catalogue import EPOCH
from ytscale.seed import SeedConfig, SeedError, SeedSummary, seed

Command = Callable[[argparse.Namespace], int]

#: Commands with parsers of their own: name -> (module with ``main(argv)``, one-line help).
DELEGATED = {
    "report": (
        "ytscale.report.run:main",
        "the main job: seed, load test, benchmarks, simulation, notebooks, claims audit",
    ),
    "serve": (
        "ytscale.serve:serve_main",
        "the local stack on loopback: API, fake YouTube, worker",
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        # argparse cannot pass "--help" through a subcommand, so these skip it entirely.
        return _entry(DELEGATED[argv[0]][0])(argv[1:])
    args = build_parser().parse_args(argv)
    command: Command = args.run
    try:
        return command(args)
    except SeedError as exc:
        print(f"ytscale {args.command}: {exc}", file=sys.stderr)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ytscale",
        description="Does a YouTube import/sync pipeline hold at 100,000 users? Measure it.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    population = _population_options(Settings.from_env())
    seed_parser = commands.add_parser(
        "seed",
        parents=[population],
        help="build the user/project population in a database",
        description="Build N users × M projects, a content source per user (their channel in the "
        "fake YouTube catalogue) and a tag vocabulary, by the database's bulk path, then check "
        "the row counts and that (user_id, video_id) is unique. Refuses a non-empty database "
        "unless --replace.",
    )
    seed_parser.add_argument(
        "--raw-baseline",
        action="store_true",
        help="also time a SQL-only INSERT … SELECT of the same rows in a scratch database "
        "and print the ratio",
    )
    seed_parser.add_argument(
        "--json", type=Path, metavar="PATH", help="write the summary as JSON to PATH"
    )
    seed_parser.set_defaults(run=run_seed)
    token_parser = commands.add_parser(
        "token",
        help="print a user's bearer token (derived from YTSCALE_SECRET)",
        description="Print USER_ID's bearer token under this environment's YTSCALE_SECRET, for "
        "'Authorization: Bearer <token>' against a stack started with the same secret.",
    )
    token_parser.add_argument("user_id", type=_positive, metavar="USER_ID")
    token_parser.set_defaults(run=run_token)
    for name, (_, summary) in DELEGATED.items():
        # Listed for the main --help only: main() hands these commands their argv unparsed.
        commands.add_parser(name, help=summary, add_help=False)
    return parser


def _population_options(settings: Settings) -> argparse.ArgumentParser:
    """Options shared by every command that builds or reads the population."""
    options = argparse.ArgumentParser(add_help=False)
    group = options.add_argument_group("population")
    group.add_argument("--users", type=_positive, default=100_000, help="users (default 100000)")
    group.add_argument(
        "--videos-per-user", type=_positive, default=50, help="projects per user (default 50)"
    )
    group.add_argument("--seed", type=int, default=1, help="what every row derives from (1)")
    group.add_argument(
        "--now",
        type=_instant,
        default=EPOCH,
        help="the instant the population is taken at, ISO 8601 with offset (default: the fake "
        "catalogue's epoch, where its simulated clock starts)",
    )
    group.add_argument(
        "--database-url",
        default=settings.database_url,
        # Named, not shown: a URL from the environment may carry a password.
        help="where to build it (default: DATABASE_URL or "
        + redact_url(settings.database_url).replace("%", "%%")
        + ")",
    )
    group.add_argument("--replace", action="store_true", help="empty a non-empty database first")
    group.add_argument(
        "--progress",
        action="store_true",
        help="show the progress bar even when stderr is not a terminal",
    )
    return options


def run_seed(args: argparse.Namespace) -> int:
    summary = _seed(args, raw_baseline=args.raw_baseline)
    print(summary.format())
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(summary.as_dict(), indent=2) + "\n")
    return 0


def run_token(args: argparse.Namespace) -> int:
    print(token_for(Settings.from_env().secret, args.user_id))
    return 0


def _entry(target: str) -> Callable[[list[str]], int]:
    module, _, function = target.partition(":")
    entry: Callable[[list[str]], int] = getattr(importlib.import_module(module), function)
    return entry


def _seed(args: argparse.Namespace, *, raw_baseline: bool) -> SeedSummary:
    return seed(
        args.database_url,
        _config(args),
        replace=args.replace,
        progress=True if args.progress else None,
        raw_baseline=raw_baseline,
    )


def _config(args: argparse.Namespace) -> SeedConfig:
    return SeedConfig(
        users=args.users, videos_per_user=args.videos_per_user, seed=args.seed, now=args.now
    )


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset (add +00:00)")
    return value.replace(microsecond=0)


if __name__ == "__main__":
    sys.exit(main())
