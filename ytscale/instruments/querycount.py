"""Count the SQL statements an engine executes: the unit the report's N+1 claims are stated in.

```python
with count_queries(engine) as queries:
    matcher.match(tags)
assert queries.count == 0, queries.statements
```

Every statement sent to the database through ``engine`` while the block runs is counted, whichever
thread sends it; transaction control (``BEGIN``/``COMMIT``) is not, since SQLAlchemy issues it
through the driver rather than a cursor. Counters nest and may run side by side on one engine.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event


class QueryCounter:
    """The statements seen so far; safe to read while other threads are executing."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._statements: list[str] = []

    @property
    def count(self) -> int:
        with self._lock:
            return len(self._statements)

    @property
    def statements(self) -> list[str]:
        """A copy of the SQL text of every counted statement, oldest first."""
        with self._lock:
            return list(self._statements)

    def _record(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        with self._lock:
            self._statements.append(statement)


@contextmanager
def count_queries(engine: Engine) -> Iterator[QueryCounter]:
    """Count the statements ``engine`` executes inside the ``with`` block."""
    counter = QueryCounter()
    listener = counter._record
    event.listen(engine, "before_cursor_execute", listener)
    try:
        yield counter
    finally:
        event.remove(engine, "before_cursor_execute", listener)
