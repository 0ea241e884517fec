"""Does the report's ``(user, external_url)`` index catch duplicates? Count the projects made.

C2 says the index "handles duplicate detection". EXPLAIN shows the lookup uses it (that is C1's
speed); what it does not show is whether a duplicate can still be made. Two ways to make one::

    found = measure("sqlite:///var/ytscale.db")     # on scratch databases of its engine
    found["concurrent"]["held"]["report"]["projects"]   # one URL, N racing get_or_create calls
    found["url_forms"]["report"]["projects"]            # six URL forms of one video

Each runs on the report's schema (migration 0001: a plain index, no ``video_id``) through Django's
``get_or_create`` pattern (SELECT by user and URL, INSERT if none), and on ours (head schema:
``reference.projects.upsert_project`` on the unique ``(user_id, video_id)``) under the same
schedule. Racers are threads on SQLite and spawned processes on PostgreSQL, released together by a
barrier. Free-running racers interleave by luck, so the "held" schedule also stops every worker at
a second barrier between its SELECT and its INSERT: the window the report's code has, held open so
the count is exact. Ours has no such window (its check is its insert); its workers stop at the
second barrier before their one statement.
"""

from __future__ import annotations

import multiprocessing
import tempfile
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from multiprocessing.queues import Queue
from pathlib import Path
from typing import Final, Literal

from sqlalchemy import Engine, MetaData, Table, event, func, insert, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from reference.db import make_engine
from reference.migrate import upgrade
from reference.models import Project, User
from reference.projects import NewProject, upsert_project
from reference.youtube.parse import JsonDict
from ytscale.instruments.scratch import scratch_schema

Pattern = Literal["report", "ours"]
#: What one racing worker ended with: it inserted, it found a row, or the error it met.
Outcome = Literal["created", "found", "integrity", "locked", "multiple"]

VIDEO_ID: Final = "dQw4w9WgXcQ"
#: One video as users paste it: share sheet, Shorts, mobile site, a timestamp, a tracking parameter.
URL_FORMS: Final = tuple(
    form.format(id=VIDEO_ID)
    for form in (
        "https://www.youtube.com/watch?v={id}",
        "https://youtu.be/{id}",
        "https://www.youtube.com/shorts/{id}",
        "https://m.youtube.com/watch?v={id}",
        "https://www.youtube.com/watch?v={id}&t=42s",
        "https://youtu.be/{id}?feature=share",
    )
)
#: sqlite3's and Django's default busy timeout, not the 30 s ``make_engine`` waits: a writer
#: queued longer than this fails with "database is locked", as it would under Django.
BUSY_TIMEOUT_S: Final = 5.0
BARRIER_TIMEOUT_S: Final = 60.0
PATTERNS: Final[tuple[Pattern, ...]] = ("report", "ours")
#: A user per schedule, so that each count is of its own race's projects.
USERS: Final = {"free": 1, "held": 2}


class MultipleObjectsReturned(LookupError):
    """Django's ``get()`` on finding more than one row: what a duplicate does to later lookups."""


def report_get_or_create(
    engine: Engine,
    projects: Table,
    user_id: int,
    url: str,
    between: Callable[[], object] = lambda: None,
) -> bool:
    """``Project.objects.get_or_create(user=user, external_url=url)``; True if it inserted.

    As Django runs it in autocommit: ``get()`` (LIMIT 21, more than one row raises), then the
    INSERT in a transaction of its own. ``between`` runs in the gap between the two. On the
    report's schema the INSERT cannot raise IntegrityError (nothing is unique), so Django's
    retry-on-IntegrityError branch never runs and is left out.
    """
    with engine.connect() as conn:
        rows = conn.execute(
            select(projects.c.id)
            .where(projects.c.user_id == user_id, projects.c.external_url == url)
            .limit(21)
        ).all()
        conn.commit()
        if len(rows) > 1:
            raise MultipleObjectsReturned(f"{len(rows)} projects for user {user_id} and {url}")
        between()
        if rows:
            return False
        now = datetime.now(UTC)
        with conn.begin():
            conn.execute(
                insert(projects).values(
                    user_id=user_id, external_url=url, title="", created_at=now, updated_at=now
                )
            )
    return True


def ours_get_or_create(
    engine: Engine, user_id: int, url: str, between: Callable[[], object] = lambda: None
) -> bool:
    """Our import of ``url``: one ``INSERT ... ON CONFLICT`` on ``(user_id, video_id)``."""
    between()
    with Session(engine) as session, session.begin():
        return upsert_project(session, user_id, NewProject.from_url(url)).created


def _importer(pattern: Pattern, engine: Engine) -> Callable[[int, str, Callable[[], object]], bool]:
    """``pattern``'s get_or_create on ``engine``, with the report's table reflected up front."""
    if pattern == "ours":
        return lambda user_id, url, between: ours_get_or_create(engine, user_id, url, between)
    projects = _report_table(engine, "projects")
    return lambda user_id, url, between: report_get_or_create(
        engine, projects, user_id, url, between
    )


def _report_table(engine: Engine, name: str) -> Table:
    """A table of the report's schema as migration 0001 made it (reflected, not redeclared)."""
    return Table(name, MetaData(), autoload_with=engine)


def _engine(url: str) -> Engine:
    engine = make_engine(url)
    if engine.dialect.name == "sqlite":
        # After make_engine's own connect hook, which sets 30 s.
        ms = int(BUSY_TIMEOUT_S * 1000)
        event.listen(engine, "connect", lambda dbapi, _: dbapi.execute(f"PRAGMA busy_timeout={ms}"))
    return engine


@dataclass(frozen=True)
class Race:
    """One race: every worker imports the first of :data:`URL_FORMS` for ``user_id`` at ``url``."""

    url: str
    pattern: Pattern
    user_id: int
    start: threading.Barrier
    #: The barrier between the report's SELECT and INSERT, in the "held" schedule.
    hold: threading.Barrier | None


def _attempt(race: Race) -> Outcome:
    """One worker's part in ``race``, on its own engine and connection as a Django worker has."""
    engine = _engine(race.url)
    try:
        get_or_create = _importer(race.pattern, engine)
        race.start.wait()
        between = race.hold.wait if race.hold else lambda: None
        try:
            created = get_or_create(race.user_id, URL_FORMS[0], between)
        except IntegrityError:
            return "integrity"
        except MultipleObjectsReturned:
            # A late worker's lookup found the duplicates the others already made: Django's
            # get_or_create raises here too, so the import fails for the user.
            return "multiple"
        except OperationalError as exc:
            if "locked" not in str(exc):
                raise
            return "locked"
        return "created" if created else "found"
    finally:
        engine.dispose()


def _racer(races: list[Race]) -> list[Outcome]:
    try:
        return [_attempt(race) for race in races]
    except BaseException:
        # The crew waits at every race's barriers: break them, so the others stop at once and
        # this worker's own error, not their BrokenBarrierError a minute later, is reported.
        for race in races:
            race.start.abort()
            if race.hold:
                race.hold.abort()
        raise


def _racer_process(out: Queue[list[Outcome] | str], races: list[Race]) -> None:
    try:
        out.put(_racer(races))
    except BaseException as exc:  # reported to the parent, which fails the measurement
        out.put(f"error: {exc!r}")
        raise


def _run_races(
    specs: list[tuple[str, Pattern, int, bool]], workers: int, processes: bool
) -> list[list[Outcome]]:
    """Each ``(url, pattern, user_id, held)`` race in turn, by one crew of ``workers``.

    The crew (threads, or spawned processes) is started once and runs every race, as spawning a
    process costs more than a race.
    """
    if not processes:
        races = [Race(*spec[:3], *_barriers(threading.Barrier, workers, spec[3])) for spec in specs]
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [pool.submit(_racer, races) for _ in range(workers)]
            wait(futures)
        failures = [e for f in futures if (e := f.exception()) is not None]
        if failures:
            broken = threading.BrokenBarrierError
            raise next((e for e in failures if not isinstance(e, broken)), failures[0])
        done = [f.result() for f in futures]
    else:
        context = multiprocessing.get_context("spawn")
        races = [Race(*spec[:3], *_barriers(context.Barrier, workers, spec[3])) for spec in specs]
        out: Queue[list[Outcome] | str] = context.Queue()
        children = [
            context.Process(target=_racer_process, args=(out, races)) for _ in range(workers)
        ]
        for child in children:
            child.start()
        results = [out.get(timeout=BARRIER_TIMEOUT_S * (1 + len(races))) for _ in children]
        for child in children:
            child.join(BARRIER_TIMEOUT_S)
        failed = [r for r in results if isinstance(r, str)]
        if failed:
            raise RuntimeError(f"racing get_or_create workers failed: {failed}")
        done = [r for r in results if not isinstance(r, str)]
    return [[outcomes[i] for outcomes in done] for i in range(len(races))]


def _barriers(
    make: Callable[..., threading.Barrier], workers: int, held: bool
) -> tuple[threading.Barrier, threading.Barrier | None]:
    start = make(workers, timeout=BARRIER_TIMEOUT_S)
    return start, make(workers, timeout=BARRIER_TIMEOUT_S) if held else None


def _projects(engine: Engine, pattern: Pattern, user_id: int) -> int:
    """Projects ``user_id`` holds: every one made here is of the one video."""
    table = Project.__table__ if pattern == "ours" else _report_table(engine, "projects")
    with engine.connect() as conn:
        return conn.scalar(select(func.count()).where(table.c.user_id == user_id)) or 0


def _tally(outcomes: list[Outcome], projects: int) -> JsonDict:
    n = Counter(outcomes)
    return {
        "created": n["created"],
        "found": n["found"],
        "errors": {
            "integrity": n["integrity"],
            "locked": n["locked"],
            "multiple": n["multiple"],
        },
        "projects": projects,
        "duplicates": max(0, projects - 1),
    }


def _add_users(engine: Engine, pattern: Pattern) -> None:
    rows = [{"id": uid, "name": f"user {uid}"} for uid in USERS.values()]
    if pattern == "ours":
        with Session(engine) as session, session.begin():
            session.add_all(User(**row) for row in rows)
        return
    users = _report_table(engine, "users")
    with engine.begin() as conn:
        conn.execute(insert(users), [{**row, "created_at": datetime.now(UTC)} for row in rows])


@contextmanager
def _database(database_url: str, pattern: Pattern) -> Iterator[tuple[str, Engine]]:
    """A scratch database beside ``database_url`` at ``pattern``'s schema, with its users."""
    with _scratch(database_url) as url:
        upgrade(url, "0001" if pattern == "report" else "head")
        engine = _engine(url)
        try:
            _add_users(engine, pattern)
            yield url, engine
        finally:
            engine.dispose()


def concurrent(database_url: str, workers: int) -> JsonDict:
    """``workers`` racing imports of one URL per schedule, through the report's path and ours."""
    sqlite = make_url(database_url).get_backend_name() == "sqlite"
    found: JsonDict = {
        "url": URL_FORMS[0],
        "runner": "threads" if sqlite else "processes (spawn)",
        "workers": workers,
        "busy_timeout_s": BUSY_TIMEOUT_S if sqlite else None,
        "schedules": {
            "free": "released together by a barrier, then free-running",
            "held": "released together; every worker then held at a second barrier between its "
            "SELECT and its INSERT (ours: before its one INSERT ... ON CONFLICT)",
        },
    }
    with ExitStack() as stack:
        databases = {p: stack.enter_context(_database(database_url, p)) for p in PATTERNS}
        runs = [(p, schedule) for p in PATTERNS for schedule in USERS]
        specs = [(databases[p][0], p, USERS[sch], sch == "held") for p, sch in runs]
        for (pattern, schedule), outcomes in zip(
            runs, _run_races(specs, workers, processes=not sqlite), strict=True
        ):
            projects = _projects(databases[pattern][1], pattern, USERS[schedule])
            found.setdefault(schedule, {})[pattern] = _tally(outcomes, projects)
        for pattern, (_, engine) in databases.items():
            # What the duplicates do to the next import of that URL.
            try:
                _importer(pattern, engine)(USERS["held"], URL_FORMS[0], lambda: None)
                found["held"][pattern]["next_import"] = "ok"
            except MultipleObjectsReturned as exc:
                found["held"][pattern]["next_import"] = f"MultipleObjectsReturned: {exc}"
    return found


def url_forms(database_url: str) -> JsonDict:
    """Each of :data:`URL_FORMS` imported once, one after another, through each path."""
    found: JsonDict = {"forms": list(URL_FORMS)}
    user_id = USERS["free"]
    for pattern in PATTERNS:
        with _database(database_url, pattern) as (_, engine):
            get_or_create = _importer(pattern, engine)
            created = sum(get_or_create(user_id, form, lambda: None) for form in URL_FORMS)
            found[pattern] = {"created": created, "projects": _projects(engine, pattern, user_id)}
    return found


def measure(database_url: str, *, threads: int = 8, processes: int = 4) -> JsonDict:
    """The duplicate projects the report's schema and ours make, on ``database_url``'s engine.

    Scratch databases are made beside it (a temporary SQLite file, or a PostgreSQL schema of
    their own) and removed after; ``database_url`` itself is never written.
    """
    sqlite = make_url(database_url).get_backend_name() == "sqlite"
    return {
        "backend": "sqlite" if sqlite else "postgresql",
        "video_id": VIDEO_ID,
        "concurrent": concurrent(database_url, threads if sqlite else processes),
        "url_forms": url_forms(database_url),
    }


@contextmanager
def _scratch(database_url: str) -> Iterator[str]:
    """An empty database on ``database_url``'s engine, removed on exit."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with tempfile.TemporaryDirectory(prefix="ytscale-duplicates-") as tmp:
            yield f"sqlite:///{Path(tmp) / 'scratch.db'}"
        return
    with scratch_schema(database_url, f"ytscale_dup_{uuid.uuid4().hex[:8]}") as scoped:
        yield scoped
