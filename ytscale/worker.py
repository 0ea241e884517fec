"""A Celery worker (and beat) inside this process, for the embedded ``memory://`` broker and for
tests.

Celery's own test aid starts it; the pipeline (``reference.tasks``) never imports it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from celery.beat import EmbeddedService
from celery.contrib.testing.worker import start_worker
from celery.worker import WorkController

from reference.tasks import IMPORT_QUEUE, SYNC_QUEUE, YtscaleCelery


@contextmanager
def embedded_worker(app: YtscaleCelery, concurrency: int = 10) -> Iterator[WorkController]:
    """Run a worker (threads pool) in this process, consuming both queues, until the block ends."""
    with start_worker(
        app,
        pool="threads",
        concurrency=concurrency,
        perform_ping_check=False,
        queues=[IMPORT_QUEUE, SYNC_QUEUE],
        shutdown_timeout=30,
    ) as worker:
        yield worker


@contextmanager
def embedded_beat(app: YtscaleCelery) -> Iterator[None]:
    """Run beat (a thread) in this process, sending the app's ``beat_schedule``, until the block
    ends. Its schedule state stays in memory: the in-process stack keeps no files for it."""
    service = EmbeddedService(app, thread=True, scheduler_cls="celery.beat:Scheduler")
    service.start()
    try:
        yield
    finally:
        service.stop()
