"""Count SQL statements and Redis round trips: the units the report's N+1 and race claims are in.

```python
with count_queries(engine) as queries:
    matcher.match(tags)
assert queries.count == 0, queries.statements
```

Every statement sent to the database through ``engine`` while the block runs is counted, whichever
thread sends it; transaction control (``BEGIN``/``COMMIT``) is not, since SQLAlchemy issues it
through the driver rather than a cursor. Counters nest and may run side by side on one engine.

```python
with count_round_trips(services.redis, services.ledger.client) as trips:
    import_channel(services, request_id)
```

counts what the given Redis clients send: every command sent alone is a round trip, and so is a
pipeline's ``execute`` however many commands it carries (``trips.commands`` counts those). The
clients are wrapped in place for the block, so code holding them needs no change.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

from sqlalchemy import Engine, event

from reference.kv import Store
from reference.quota import KeyValueLedger
from reference.services import Services


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


class RoundTripCounter:
    """Round trips and commands sent so far; safe to read while other threads are sending."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._trips: list[tuple[str, ...]] = []

    @property
    def count(self) -> int:
        """Round trips: a command sent alone or a pipeline's ``execute``."""
        with self._lock:
            return len(self._trips)

    @property
    def commands(self) -> int:
        """Commands, counting each one a pipeline carried."""
        with self._lock:
            return sum(len(trip) for trip in self._trips)

    @property
    def names(self) -> list[tuple[str, ...]]:
        """The command names of every round trip, oldest first."""
        with self._lock:
            return list(self._trips)

    def _record(self, names: tuple[str, ...]) -> None:
        with self._lock:
            self._trips.append(names)


def redis_clients(services: Services) -> list[Store]:
    """Every Redis client ``services`` sends through: its store's and its ledger's."""
    ledger = services.ledger
    return [services.redis, *([ledger.client] if isinstance(ledger, KeyValueLedger) else [])]


@contextmanager
def count_round_trips(*clients: Store) -> Iterator[RoundTripCounter]:
    """Count what ``clients`` send to Redis inside the ``with`` block (each client once)."""
    counter = RoundTripCounter()
    with ExitStack() as restore:
        for client in {id(c): c for c in clients}.values():
            restore.enter_context(_wrapped(client, counter))
        yield counter


@contextmanager
def _wrapped(client: Store, counter: RoundTripCounter) -> Iterator[None]:
    send: Callable[..., Any] = client.execute_command
    make_pipeline: Callable[..., Any] = client.pipeline

    def execute_command(*args: Any, **options: Any) -> Any:
        counter._record((str(args[0]).upper(),))
        return send(*args, **options)

    def pipeline(*args: Any, **kwargs: Any) -> Any:
        made = make_pipeline(*args, **kwargs)
        flush: Callable[..., Any] = made.execute

        def execute(*flush_args: Any, **flush_kwargs: Any) -> Any:
            names = tuple(str(command[0][0]).upper() for command in made.command_stack)
            if names:
                counter._record(names)
            return flush(*flush_args, **flush_kwargs)

        made.execute = execute
        return made

    # Counters nest: an inner block puts back the outer block's wrappers, not the class's methods.
    outer = {name: client.__dict__[name] for name in _WRAPPED if name in client.__dict__}
    client.execute_command = execute_command  # type: ignore[method-assign]
    client.pipeline = pipeline  # type: ignore[method-assign]
    try:
        yield
    finally:
        for name in _WRAPPED:
            del client.__dict__[name]
        client.__dict__.update(outer)


_WRAPPED = ("execute_command", "pipeline")
