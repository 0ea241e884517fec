"""Imports through real TCP faults between the pipeline and its real PostgreSQL and Redis.

Both backends are reached through a loopback ``FaultProxy``; while imports run through a worker, the
proxies reset connections, swallow replies after the server acted (a COMMIT or a ledger script that
ran, whose answer never came) and refuse connections for a while, as a restarting Redis would. A
second run SIGKILLs and restarts a redis-server of the test's own (append-only, fsync on every
write, so it comes back with its data). Afterwards: no request is left pending, none is lost (each
imported one has its project), no project is duplicated, and the ledger counts at least what the
fake YouTube billed, over by no more than the reservations whose reply and hand-back were both cut.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from reference import kv
from reference.db import make_engine
from reference.models import Base, ImportRequest, Project, User
from reference.pipeline import request_import
from reference.quota import AtomicLedger
from reference.settings import Settings
from reference.tasks import create_app
from tests.backends import REDIS_ENV, require_env
from tests.helpers import statuses, wait_for
from ytscale.fake.youtube import FakeYouTube
from ytscale.instruments.tcpfault import FaultProxy
from ytscale.worker import embedded_worker

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

WORKERS = 4
KILLS = 3
FAULT_SECONDS = 4.0
FAULT_EVERY_S = 0.1
#: Longer than kv's 5 s socket timeout.
STALL_S = 6.0


@pytest.fixture
def proxies(postgres_url: str) -> Iterator[tuple[FaultProxy, FaultProxy]]:
    db, kv = make_url(postgres_url), urlsplit(require_env(REDIS_ENV))
    assert db.host and kv.hostname and kv.port
    with FaultProxy(db.host, db.port or 5432) as pg, FaultProxy(kv.hostname, kv.port) as rd:
        yield pg, rd


def through(url: str, proxy: FaultProxy) -> str:
    if url.startswith("postgresql"):
        return (
            make_url(url)
            .set(host="127.0.0.1", port=proxy.port)
            .render_as_string(hide_password=False)
        )
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=f"127.0.0.1:{proxy.port}"))


def inject(pg: FaultProxy, rd: FaultProxy, stop: threading.Event, seed: int) -> Counter[str]:
    """Faults at random until ``stop``: what was injected, by kind.

    First a stall: for half a second every chunk to or from Redis is held past the client's 5 s
    socket timeout, so commands in flight end in ``TimeoutError`` (some after Redis acted).
    """
    rng, done = random.Random(seed), Counter[str]()
    rd.delay_s = STALL_S
    time.sleep(0.5)
    rd.delay_s = 0.0
    done["redis-stall"] += 1
    deadline = time.monotonic() + FAULT_SECONDS
    while not stop.is_set() and time.monotonic() < deadline:
        kind = rng.choice(["pg-cut", "pg-drop", "redis-cut", "redis-drop", "redis-down"])
        proxy = pg if kind.startswith("pg") else rd
        if kind.endswith("cut"):
            proxy.cut()
        elif kind.endswith("drop"):
            proxy.drop_replies(1)
        else:
            with proxy.down():  # Redis gone for a moment, then back with its data
                time.sleep(0.3)
        done[kind] += 1
        time.sleep(FAULT_EVERY_S)
    return done


@dataclass(frozen=True)
class Run:
    """What one run under faults left behind."""

    outcomes: Counter[str]
    failed_reasons: Counter[str]
    #: Imports reported imported or duplicate with no project to show for it.
    orphaned: int
    projects: int
    distinct: int
    ledger_units: int
    billed_units: int


def run_imports(
    postgres_url: str,
    settings: Settings,
    ledger_url: str,
    fake: FakeYouTube,
    faults: Callable[[threading.Event], Counter[str]],
) -> tuple[Run, Counter[str]]:
    """Import 48 videos (8 asked twice) and a channel through a worker while ``faults`` runs;
    return what the database and the ledger hold afterwards, and what ``faults`` injected."""
    engine = make_engine(postgres_url)
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(User.__table__.insert(), [{"id": i, "name": f"u{i}"} for i in (1, 2, 3)])
    app = create_app(settings, youtube_transport=fake.transport())
    catalogue = fake.catalogue
    channels = [c for c in range(4, 40) if catalogue.video_count(c) >= 5][:8]
    videos = [catalogue.video_id(c, n) for c in channels for n in range(5)]
    stop = threading.Event()
    injected: Counter[str] = Counter()
    requests: list[int] = []
    with embedded_worker(app, concurrency=WORKERS):
        svc = app.services
        for i, vid in enumerate(videos + videos[:8]):  # eight asked for twice
            requests.append(request_import(svc, 1 + i % 2, "video", f"https://youtu.be/{vid}"))
        channel = catalogue.channel_id(catalogue.find_channel(40))
        requests.append(request_import(svc, 3, "channel", channel))
        thread = threading.Thread(target=lambda: injected.update(faults(stop)), daemon=True)
        thread.start()
        for request in requests[:-1]:
            app.tasks["ytscale.import_video"].delay(request)
        app.tasks["ytscale.import_channel"].delay(requests[-1])

        def ended() -> bool:
            """every import request to end, faults or not"""
            try:
                return all(status != "pending" for status in statuses(app).values())
            except Exception:  # the check itself goes through the faults
                return False

        try:
            wait_for(ended, timeout=120)
        finally:
            stop.set()
            thread.join()
    app.services.close()

    with engine.connect() as conn:
        rows = conn.execute(select(ImportRequest.status, ImportRequest.reason)).all()
        orphaned = conn.scalar(
            select(func.count())
            .select_from(ImportRequest)
            .where(
                ImportRequest.kind == "video",
                ImportRequest.status.in_(["imported", "duplicate"]),
                ImportRequest.project_id.is_(None),
            )
        )
        projects = conn.scalar(select(func.count()).select_from(Project))
        distinct = conn.scalar(
            select(func.count()).select_from(
                select(Project.user_id, Project.video_id).distinct().subquery()
            )
        )
    engine.dispose()
    ledger = AtomicLedger(kv.connect(ledger_url), prefix=f"{settings.key_prefix}quota:")
    run = Run(
        outcomes=Counter(status for status, _ in rows),
        failed_reasons=Counter(reason for status, reason in rows if status == "failed"),
        orphaned=orphaned or 0,
        projects=projects or 0,
        distinct=distinct or 0,
        ledger_units=ledger.used(),
        billed_units=fake.used,
    )
    return run, injected


def assert_nothing_lost(run: Run, redis_faults: int, figures: object) -> None:
    assert run.outcomes["pending"] == 0, figures
    # Every video exists and the faults end long before the retries do: none may fail.
    assert run.outcomes["failed"] == 0, figures
    assert run.orphaned == 0, figures  # no import reported done without its project
    assert run.projects == run.distinct, figures  # no video twice for one user
    # Never under: a unit is reserved before its request is sent. Over only by reservations whose
    # reply and hand-back were both cut: at most one per worker per Redis fault.
    billed = run.billed_units
    assert billed <= run.ledger_units <= billed + WORKERS * redis_faults, figures


def test_cut_connections_and_lost_replies_lose_nothing(
    postgres_url: str,
    proxies: tuple[FaultProxy, FaultProxy],
    key_prefix: str,
    fake: FakeYouTube,
) -> None:
    pg, rd = proxies
    redis_url = require_env(REDIS_ENV)
    settings = Settings(
        database_url=through(postgres_url, pg),
        redis_url=through(redis_url, rd),
        key_prefix=key_prefix,
    )
    run, injected = run_imports(
        postgres_url, settings, redis_url, fake, lambda stop: inject(pg, rd, stop, seed=13)
    )
    figures = {"run": run, "injected": injected, "pg": pg.counts, "redis": rd.counts}
    print(f"\nfault figures: {figures}")
    assert injected["pg-cut"] + injected["pg-drop"] > 0 and injected["redis-cut"] > 0, figures
    assert rd.counts["delayed"] > 0, figures  # the stall held commands in flight
    redis_faults = sum(n for kind, n in injected.items() if kind.startswith("redis"))
    assert_nothing_lost(run, redis_faults, figures)


@dataclass(frozen=True)
class OwnRedis:
    url: str
    kill_and_restart: Callable[[], None]


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    """A redis-server of this test's own (never the shared one) on a spare loopback port, which
    writes every change to its append-only file before answering, and a way to SIGKILL it."""
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [
        "redis-server", "--bind", "127.0.0.1", "--port", str(port), "--dir", str(tmp_path),
        "--save", "", "--appendonly", "yes", "--appendfsync", "always",
    ]  # fmt: skip
    processes = [subprocess.Popen(command, stdout=subprocess.DEVNULL)]

    def ready() -> bool:
        """the test's redis-server to answer"""
        try:
            return bool(redis.Redis(port=port, socket_connect_timeout=0.2).ping())
        except redis.ConnectionError:
            return False

    def kill_and_restart() -> None:
        processes[-1].kill()  # SIGKILL: no shutdown, no final save
        processes[-1].wait()
        time.sleep(0.3)
        processes.append(subprocess.Popen(command, stdout=subprocess.DEVNULL))
        wait_for(ready, timeout=10)

    wait_for(ready, timeout=10)
    yield OwnRedis(f"redis://127.0.0.1:{port}/0", kill_and_restart)
    processes[-1].kill()
    processes[-1].wait()


def test_redis_killed_and_restarted_mid_run_loses_nothing(
    postgres_url: str, own_redis: OwnRedis, key_prefix: str, fake: FakeYouTube
) -> None:
    redis_url = own_redis.url
    settings = Settings(database_url=postgres_url, redis_url=redis_url, key_prefix=key_prefix)

    def kills(stop: threading.Event) -> Counter[str]:
        done = Counter[str]()
        for _ in range(KILLS):
            if stop.wait(0.5):
                break
            own_redis.kill_and_restart()
            done["redis-kill"] += 1
        return done

    run, injected = run_imports(postgres_url, settings, redis_url, fake, kills)
    figures = {"run": run, "injected": injected}
    print(f"\nfault figures: {figures}")
    assert injected["redis-kill"] == KILLS, figures
    assert_nothing_lost(run, injected["redis-kill"], figures)
