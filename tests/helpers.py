"""Small helpers shared by tests that wait on a worker."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import select

from reference.models import ImportRequest
from reference.tasks import YtscaleCelery


def wait_for(condition: Callable[[], bool], timeout: float = 60.0) -> None:
    """Poll ``condition`` until true; its docstring says what was awaited when it times out."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {condition.__doc__}")
        time.sleep(0.05)


def statuses(app: YtscaleCelery) -> dict[int, str]:
    """Every import request's status, by id."""
    with app.services.sessions() as session:
        rows = session.execute(select(ImportRequest.id, ImportRequest.status)).tuples()
        return dict(rows.all())
