"""``ytscale serve``: the whole reference stack in one process, on loopback, with a banner.

A seeded database (SQLite by default; seeded on first use), the fake YouTube Data API in-process,
an in-process Celery worker on the ``memory://`` broker, and the HTTP API under uvicorn (httptools
and uvloop when installed)::

    ytscale serve                          # 127.0.0.1:8000, 100,000 users × 50 videos
    ytscale serve --port 0 --users 500     # any free port (the banner says which), 500 users

Every backend URL can be pointed at a real server (``DATABASE_URL``, ``REDIS_URL``, ``BROKER_URL``,
``YOUTUBE_URL``); the banner says what runs where (passwords hidden) and how to get a token, never
a token. A bind address other than loopback is refused unless ``--allow-remote-bind`` is given (the
stack has no TLS), and even then with the development or an empty ``YTSCALE_SECRET``; so is
``--concurrency 0`` (a worker in another process) on the in-process broker or fakeredis
(:meth:`Settings.check_deployment`).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import socket
import sys
from collections.abc import Iterator, Sequence
from dataclasses import replace
from typing import TextIO

import httpx
import uvicorn

from reference import tasks
from reference.api import create_app
from reference.metrics import Metrics, metered
from reference.services import Services
from reference.settings import FAKE_YOUTUBE_URL, Settings, UnsafeDeployment
from ytscale import seed
from ytscale.fake.faults import FaultConfig, Latency
from ytscale.fake.youtube import FakeConfig, FakeYouTube
from ytscale.net import is_loopback
from ytscale.worker import embedded_beat, embedded_worker

#: Serve's default daily quota: the stack's own limits show under load, not YouTube's 10,000
#: units (which a few thousand imports exhaust). ``--daily-quota 10000`` restores the real one.
LOAD_TEST_QUOTA = 100_000_000


#: Seconds an idle keep-alive connection stays open (nginx's default).
KEEP_ALIVE_S = 75


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ytscale serve",
        description="Run the reference stack (database, fake YouTube, worker, API) on loopback.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--host", default="127.0.0.1", help="bind address")
    p.add_argument("--port", type=int, default=8000, help="0: any free port")
    p.add_argument(
        "--allow-remote-bind", action="store_true", help="allow an address that is not loopback"
    )
    p.add_argument("--database-url", default=None, help="default: $DATABASE_URL or var/ytscale.db")
    p.add_argument(
        "--users", type=int, default=100_000, help="users to seed an empty database with"
    )
    p.add_argument("--videos-per-user", type=int, default=50)
    p.add_argument("--seed", type=int, default=1, help="catalogue and population seed")
    p.add_argument("--reseed", action="store_true", help="empty the database and seed it again")
    p.add_argument("--concurrency", type=int, default=8, help="worker threads; 0: no worker")
    p.add_argument(
        "--beat",
        action="store_true",
        help="run beat in-process too: the sync tick, feed flushes, WebSub renewals",
    )
    p.add_argument("--daily-quota", type=int, default=LOAD_TEST_QUOTA, help="YouTube units a day")
    p.add_argument(
        "--youtube-latency-ms", type=float, default=0.0, help="fake YouTube mean latency"
    )
    p.add_argument("--http", choices=("auto", "h11", "httptools"), default="auto")
    p.add_argument("--loop", choices=("auto", "asyncio", "uvloop"), default="auto")
    p.add_argument("--log-level", default="warning")
    return p


def serve_main(argv: Sequence[str] | None = None, out: TextIO = sys.stdout) -> int:
    """Run the stack until interrupted; returns the process exit code."""
    args = parser().parse_args(argv)
    if not (args.allow_remote_bind or is_loopback(args.host)):
        print(
            f"refusing to bind {args.host}: not loopback. The stack has no TLS and a well-known "
            "default secret; pass --allow-remote-bind if you mean it.",
            file=sys.stderr,
        )
        return 2
    env = Settings.from_env()
    settings = replace(
        env, database_url=args.database_url or env.database_url, daily_quota=args.daily_quota
    )
    try:
        # Without an in-process worker, a `celery worker` elsewhere does the work: two processes.
        settings.check_deployment(
            exposed=not is_loopback(args.host), processes=1 if args.concurrency > 0 else 2
        )
    except UnsafeDeployment as exc:
        print(exc, file=sys.stderr)
        return 2
    population = seed.SeedConfig(
        users=args.users, videos_per_user=args.videos_per_user, seed=args.seed
    )
    try:
        seeded = _ensure_seeded(settings.database_url, population, args.reseed, out)
    except seed.SeedError as exc:  # the seed's own checks failed
        print(f"cannot seed: {exc}", file=sys.stderr)
        return 2
    fake, transport = _youtube(settings, args)
    services = metered(Services.from_settings(settings, youtube_transport=transport), transport)
    metrics = Metrics()
    # The worker shares the API's services, so the metered ledger sees every task's quota.
    celery_app = tasks.create_app(settings, youtube_transport=transport, services=services)
    metrics.watch(celery_app)
    app = create_app(settings, services=services, celery_app=celery_app, metrics=metrics)
    sock = _bind(args.host, args.port)
    config = uvicorn.Config(
        app,
        http=args.http,
        loop=args.loop,
        log_level=args.log_level,
        access_log=False,
        lifespan="on",
        # Longer than any pause between a client's requests: uvicorn's 5 s default closes idle
        # keep-alive connections as clients reuse them, and the request lost fails.
        timeout_keep_alive=KEEP_ALIVE_S,
    )
    try:
        with _worker(celery_app, args.concurrency), _beat(celery_app, args.beat):
            _banner(out, sock, settings, args, seeded, fake)
            uvicorn.Server(config).run(sockets=[sock])
    finally:
        services.close()
        sock.close()
    return 0


def _ensure_seeded(url: str, config: seed.SeedConfig, reseed: bool, out: TextIO) -> str:
    """Seed ``url`` with ``config``'s population if it holds no users (or ``reseed``); say what
    it holds. A database a previous run added imports to is served as it is."""
    seed.create_schema(url)
    held = seed.contents(url, config)
    if reseed or not held.rows["users"]:
        print(f"seeding {config.users:,} users × {config.videos_per_user} videos ...", file=out)
        out.flush()
        summary = seed.seed(url, config, replace=reseed)
        rows, note = summary.rows, f"seeded in {summary.seconds:.1f} s"
    elif held.is_population:
        rows, note = held.rows, "seeded before"
    else:
        rows = held.rows
        note = "not the population asked, or imported to since: --reseed rebuilds it"
    return f"{rows['users']:,} users, {rows['projects']:,} projects ({note})"


def _youtube(
    settings: Settings, args: argparse.Namespace
) -> tuple[FakeYouTube | None, httpx.BaseTransport | None]:
    """The in-process fake (for ``fake://youtube``), on the seed's catalogue and clock."""
    if settings.youtube_url != FAKE_YOUTUBE_URL:
        return None, None
    config = FakeConfig(
        seed=args.seed,
        daily_quota=args.daily_quota,
        # The seed took the catalogue at its ``now``; the fake's clock runs on from there.
        start=seed.SeedConfig.now,
        faults=FaultConfig(seed=args.seed, latency=Latency(args.youtube_latency_ms / 1000)),
    )
    fake = FakeYouTube(config)
    return fake, fake.transport()


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


@contextlib.contextmanager
def _worker(app: tasks.YtscaleCelery, concurrency: int) -> Iterator[None]:
    if concurrency <= 0:
        yield
        return
    with embedded_worker(app, concurrency):
        yield


@contextlib.contextmanager
def _beat(app: tasks.YtscaleCelery, wanted: bool) -> Iterator[None]:
    if not wanted:
        yield
        return
    with embedded_beat(app):
        yield


def _banner(
    out: TextIO,
    sock: socket.socket,
    settings: Settings,
    args: argparse.Namespace,
    seeded: str,
    fake: FakeYouTube | None,
) -> None:
    host, port = sock.getsockname()[:2]
    base = f"http://{f'[{host}]' if ':' in host else host}:{port}"
    described = settings.describe()
    http = args.http if args.http != "auto" else _first_installed("httptools", "h11")
    loop = args.loop if args.loop != "auto" else _first_installed("uvloop", "asyncio")
    youtube = (
        f"in-process fake (catalogue seed {args.seed}, mean latency {args.youtube_latency_ms:g} ms)"
        if fake
        else described["youtube_url"]
    )
    worker = (
        f"in-process Celery, {args.concurrency} threads on {described['broker_url']}, queues "
        f"{tasks.IMPORT_QUEUE} + {tasks.SYNC_QUEUE}"
        if args.concurrency > 0
        else f"none in-process: run `celery -A reference.tasks worker` on {described['broker_url']}"
    )
    beat = (
        f"in-process: {', '.join(tasks.beat_schedule(settings))}"
        if args.beat
        else "not running: --beat runs it here, or `celery -A reference.tasks beat`"
    )
    rows = [
        ("API", f"{base}  (uvicorn, {http} + {loop})"),
        ("docs", f"{base}/docs   metrics {base}/metrics   health {base}/healthz"),
        ("database", f"{described['database_url']}  ({seeded})"),
        ("key-value", described["redis_url"]),
        ("YouTube", youtube),
        ("worker", worker),
        ("beat", beat),
        (
            "quota",
            f"{settings.daily_quota:,} units a day (project), per user: {settings.user_quota}",
        ),
        (
            "tokens",
            "derived from YTSCALE_SECRET: `ytscale token USER_ID` (same environment) prints one "
            "to send as 'Authorization: Bearer <token>'",
        ),
    ]
    width = max(len(name) for name, _ in rows)
    print("ytscale serve — Ctrl-C stops", file=out)
    for name, value in rows:
        print(f"  {name:<{width}}  {value}", file=out)
    out.flush()


def _first_installed(*modules: str) -> str:
    return next((m for m in modules if importlib.util.find_spec(m) is not None), modules[-1])


if __name__ == "__main__":
    raise SystemExit(serve_main())
