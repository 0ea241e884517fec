"""Beat inside the process: it sends the app's schedule until the block ends."""

from __future__ import annotations

import threading
import time
from typing import Any

from celery import Celery
from celery.signals import before_task_publish

from ytscale.worker import embedded_beat


def test_embedded_beat_sends_the_schedule_and_stops_with_the_block() -> None:
    app = Celery("beat-test", broker="memory://", set_as_current=False)
    app.conf.beat_schedule = {"often": {"task": "beat-test.tick", "schedule": 0.2}}
    app.conf.beat_max_loop_interval = 0.1
    sent: list[str] = []

    def count(sender: str | None = None, **_: Any) -> None:
        if sender == "beat-test.tick":
            sent.append(sender)

    before_task_publish.connect(count, weak=False)
    try:
        with embedded_beat(app):  # type: ignore[arg-type]
            deadline = time.monotonic() + 10
            while len(sent) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
        assert len(sent) >= 2
        assert not any(t.name == "Beat" and t.is_alive() for t in threading.enumerate())
    finally:
        before_task_publish.disconnect(count)
