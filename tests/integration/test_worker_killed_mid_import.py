"""A `celery worker` process killed mid-import loses nothing: acks_late redelivers, upserts dedupe.

Real processes throughout: the fake YouTube under uvicorn, workers started with `celery -A
reference.tasks worker` on the Redis broker, sharing the test's database and Redis.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from reference import pipeline
from reference.models import Project
from reference.services import Services
from reference.settings import Settings
from reference.tasks import create_app
from tests.helpers import statuses, wait_for
from ytscale.fake.catalogue import Catalogue

BROKER_ENV = "YTSCALE_TEST_BROKER_URL"
VISIBILITY_S = 3
pytestmark = [pytest.mark.redis, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def youtube_url() -> Iterator[str]:
    """The fake YouTube in its own process, 0.1 s a request so an import takes a few seconds."""
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "ytscale.fake",
            "--port",
            str(port),
            "--latency-mean",
            "0.1",
            "--log-level",
            "warning",
        ],  # fmt: skip
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        """the fake YouTube to listen"""
        try:
            return httpx.get(f"{url}/_fake/stats", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=30)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def crash_settings(settings: Settings, youtube_url: str) -> Settings:
    broker = os.environ.get(BROKER_ENV)
    if not broker or settings.redis_url.startswith("fakeredis"):
        pytest.skip(f"worker processes need real Redis ({BROKER_ENV} and the redis param)")
    return replace(
        settings, broker_url=broker, youtube_url=youtube_url, visibility_timeout_s=VISIBILITY_S
    )


def start_worker(settings: Settings) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATABASE_URL": settings.database_url,
        "REDIS_URL": settings.redis_url,
        "YOUTUBE_URL": settings.youtube_url,
        "BROKER_URL": settings.broker_url,
        "YTSCALE_KEY_PREFIX": settings.key_prefix,
        "YTSCALE_VISIBILITY_TIMEOUT_S": str(settings.visibility_timeout_s),
    }
    celery = Path(sys.executable).with_name("celery")
    return subprocess.Popen(
        [
            str(celery),
            "-A",
            "reference.tasks",
            "worker",
            "--pool",
            "threads",
            "-c",
            "2",
            "-Q",
            "youtube_import,youtube_sync",
            "--loglevel",
            "warning",
            "--without-mingle",
            "--without-gossip",
        ],  # fmt: skip
        env=env,
    )


def test_a_worker_killed_mid_import_loses_nothing(
    crash_settings: Settings, services: Services
) -> None:
    catalogue = Catalogue(0)
    channel = catalogue.find_channel(300)
    expected = catalogue.video_count(channel)
    app = create_app(crash_settings)
    request = pipeline.request_import(services, 1, "channel", catalogue.channel_id(channel))

    def stored() -> int:
        with services.sessions() as session:
            return int(session.scalar(select(func.count()).select_from(Project)) or 0)

    first = start_worker(crash_settings)
    try:
        app.tasks["ytscale.import_channel"].delay(request)

        def partway() -> bool:
            """the import to be part-way through"""
            return stored() >= 50

        wait_for(partway, timeout=60)
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    finally:
        first.kill()
    assert statuses(app)[request] == "pending" and stored() < expected, "killed too late"

    second = start_worker(crash_settings)
    try:

        def ended() -> bool:
            """the redelivered import to end"""
            return statuses(app)[request] != "pending"

        wait_for(ended, timeout=120)
    finally:
        second.terminate()
        second.wait(30)
    with services.sessions() as session:
        distinct = session.scalar(select(func.count(func.distinct(Project.video_id))))
    assert statuses(app)[request] == "imported"
    assert stored() == distinct == expected
