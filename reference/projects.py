"""Projects: an import upsert that cannot make a duplicate, a batched duplicate lookup, tag links.

A project is unique per ``(user_id, video_id)``, ``video_id`` being the canonical id of
:func:`reference.videos.canonical_video_id`, so two URL forms of one video, or two workers racing on
one URL, meet on the unique constraint::

    with session.begin():
        result = upsert_project(session, user_id, NewProject.from_url(url, title=title))
        link_tags(session, tools={result.project_id: tool_ids})

Every write is ``INSERT ... ON CONFLICT`` on PostgreSQL and SQLite alike; the engine's dialect picks
the construct. Nothing here commits: the caller's transaction decides. The report's URL-keyed table
and lookup are kept beside ours (:func:`report_projects_table`, :func:`find_existing_by_url`) so the
benchmarks measure both on one database.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar

from sqlalchemy import Column, Index, MetaData, Select, Table, bindparam, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from reference.clock import utc_now
from reference.models import NAMING, Base, ProjectCategory, ProjectTool
from reference.videos import canonical_video_id

#: Rows per statement: well under SQLite's 32,766 and PostgreSQL's 65,535 bound parameters.
BATCH = 500
KEY = ("user_id", "video_id")
#: What a re-import refreshes on an existing project.
REFRESHED = ("title", "channel_id", "published_at", "duration_s", "view_count", "updated_at")
# Rounds of insert-then-look-up: a row can only vanish between the two if it is deleted meanwhile.
_ATTEMPTS = 3

ReportShape = Literal["before", "after"]
_Insert = postgresql.Insert | sqlite.Insert
_INSERTS: dict[str, Callable[[Any], _Insert]] = {
    "postgresql": postgresql.insert,
    "sqlite": sqlite.insert,
}
T = TypeVar("T")
_PROJECTS = Base.metadata.tables["projects"]


@dataclass(frozen=True)
class NewProject:
    """A video to import: its canonical id, the URL the user gave, and what YouTube said of it."""

    video_id: str
    external_url: str
    title: str = ""
    channel_id: str | None = None
    published_at: datetime | None = None
    duration_s: int | None = None
    view_count: int | None = None

    @classmethod
    def from_url(cls, url: str, **metadata: Any) -> NewProject:
        """Canonicalise ``url``; :class:`~reference.videos.InvalidVideoURL` if it names no video."""
        return cls(video_id=canonical_video_id(url), external_url=url.strip(), **metadata)


@dataclass(frozen=True)
class Upserted:
    project_id: int
    created: bool


def upsert_project(
    session: Session, user_id: int, video: NewProject, *, refresh: bool = False
) -> Upserted:
    """Insert ``video`` for ``user_id`` unless it exists; with ``refresh``, update its metadata.

    However many callers race on one video, one row results and all get its id; exactly one sees
    ``created``.
    """
    return upsert_projects(session, user_id, [video], refresh=refresh)[video.video_id]


def upsert_projects(
    session: Session, user_id: int, videos: Iterable[NewProject], *, refresh: bool = False
) -> dict[str, Upserted]:
    """:func:`upsert_project` for many videos (a channel import): two statements per batch.

    The first, ``ON CONFLICT DO NOTHING RETURNING``, inserts the new ones and says which they are;
    the second fetches the ids of the rest, or with ``refresh`` updates them with
    ``ON CONFLICT DO UPDATE``. A video listed twice is imported once, from its last entry.
    """
    pending = {video.video_id: video for video in videos}
    results: dict[str, Upserted] = {}
    now = utc_now()
    connection = session.connection()
    for _ in range(_ATTEMPTS):
        for batch in _chunks(list(pending.values()), BATCH):
            rows = [
                {**asdict(v), "user_id": user_id, "created_at": now, "updated_at": now}
                for v in batch
            ]
            insert = dialect_insert(session, _PROJECTS).values(rows)
            for project_id, video_id in connection.execute(
                insert.on_conflict_do_nothing(index_elements=KEY).returning(
                    _PROJECTS.c.id, _PROJECTS.c.video_id
                )
            ):
                results[video_id] = Upserted(project_id, created=True)
            rest = [row for row in rows if row["video_id"] not in results]
            if not rest:
                continue
            if refresh:
                update = dialect_insert(session, _PROJECTS).values(rest)
                upserted = connection.execute(
                    update.on_conflict_do_update(
                        index_elements=KEY,
                        set_={name: update.excluded[name] for name in REFRESHED},
                    ).returning(_PROJECTS.c.video_id, _PROJECTS.c.id)
                )
                found = {vid: pid for vid, pid in upserted}
            else:
                found = find_existing(session, user_id, (row["video_id"] for row in rest))
            results.update((vid, Upserted(pid, created=False)) for vid, pid in found.items())
        pending = {vid: video for vid, video in pending.items() if vid not in results}
        if not pending:
            return results
    raise RuntimeError(f"projects deleted while being imported: {sorted(pending)}")


def find_existing(session: Session, user_id: int, video_ids: Iterable[str]) -> dict[str, int]:
    """``{video_id: project_id}`` for those of ``video_ids`` the user has already imported.

    One indexed ``IN`` query per :data:`BATCH` ids, on the unique ``(user_id, video_id)`` index:
    the cost follows the batch asked about, not the size of the user's library.
    """
    return _lookup(session, _PROJECTS.c.video_id, user_id, video_ids)


def find_existing_by_url(
    session: Session, table: Table, user_id: int, urls: Iterable[str]
) -> dict[str, int]:
    """The report's duplicate check: by exact ``external_url`` on a :func:`report_projects_table`.

    Different URL forms of one video miss each other, and with duplicates one of their ids is given.
    """
    return _lookup(session, table.c.external_url, user_id, urls)


def _lookup(
    session: Session, key: Column[str], user_id: int, values: Iterable[str]
) -> dict[str, int]:
    one, many = _lookup_statements(key)
    connection = session.connection()
    wanted = list(dict.fromkeys(values))
    if len(wanted) == 1:  # the import endpoint's case, kept free of batching
        rows = connection.execute(one, {"user_id": user_id, "value": wanted[0]}).all()
    else:
        rows = [
            row
            for batch in _chunks(wanted, BATCH)
            for row in connection.execute(many, {"user_id": user_id, "values": batch})
        ]
    found: dict[str, int] = {}
    for value, project_id in rows:
        found.setdefault(value, project_id)
    return found


@functools.cache
def _lookup_statements(key: Column[str]) -> tuple[Select[tuple[str, int]], Select[tuple[str, int]]]:
    """The lookup's statements on ``key``, for one value and for a batch, built once.

    Composing a select per call, and the cache key SQLAlchemy derives from it, made one lookup
    27x the driver's own cursor on the same SQLite file (410 us against 15 us, measured side by
    side); built once and run on the session's connection, 4x (59.5 us), of which executing the
    statement is 2.5-2.9x whatever is built beforehand. One value, the import endpoint's case,
    is an equality: an expanding ``IN`` re-renders its SQL on every call.
    """
    table = key.table
    by_user = select(key, table.c.id).where(table.c.user_id == bindparam("user_id"))
    return (
        by_user.where(key == bindparam("value")),
        by_user.where(key.in_(bindparam("values", expanding=True))),
    )


def link_tags(
    session: Session,
    tools: Mapping[int, Iterable[int]] | None = None,
    categories: Mapping[int, Iterable[int]] | None = None,
) -> int:
    """Link projects (``{project_id: [tag ids]}``) to tools and categories; return links added.

    Links that exist already are skipped by ``ON CONFLICT DO NOTHING``, so re-running an import or
    two workers tagging one project at once cannot fail or duplicate a link.
    """
    added = 0
    for table, column, links in (
        (ProjectTool.__table__, "tool_id", tools or {}),
        (ProjectCategory.__table__, "category_id", categories or {}),
    ):
        rows = [
            {"project_id": project_id, column: tag_id}
            for project_id, tag_ids in links.items()
            for tag_id in dict.fromkeys(tag_ids)
        ]
        for batch in _chunks(rows, BATCH):
            stmt = dialect_insert(session, table).values(batch).on_conflict_do_nothing()
            # SQLAlchemy only keeps an INSERT's rowcount when asked to.
            added += (
                session.connection()
                .execute(stmt.execution_options(preserve_rowcount=True))
                .rowcount
            )
    return added


def report_projects_table(shape: ReportShape, metadata: MetaData | None = None) -> Table:
    """The report's ``projects`` table, named ``projects_report_<shape>``, for benchmarks.

    Our columns without ``video_id`` and without the unique constraint, so duplicates can exist;
    ``"before"`` has no index on the lookup, ``"after"`` has the report's non-unique
    ``(user_id, external_url)`` index. Create it with ``table.create(bind)``; it refers to the
    ``users`` table of the head schema. (The report's Django model would also index ``user_id`` on
    its own, as Django does for every foreign key; ``"before"`` leaves that out.)
    """
    metadata = metadata if metadata is not None else MetaData(naming_convention=NAMING)
    if "users" not in metadata.tables:
        Base.metadata.tables["users"].to_metadata(metadata)
    columns = [c._copy() for c in _PROJECTS.columns if c.name != "video_id"]
    table = Table(f"projects_report_{shape}", metadata, *columns)
    if shape == "after":
        Index(f"ix_{table.name}_user_id_external_url", table.c.user_id, table.c.external_url)
    return table


def dialect_insert(session: Session, target: Any) -> _Insert:
    """``INSERT`` with ``on_conflict_do_*`` for the session's database (PostgreSQL or SQLite)."""
    dialect = session.get_bind().dialect.name
    try:
        return _INSERTS[dialect](target)
    except KeyError:
        raise NotImplementedError(f"no INSERT ... ON CONFLICT for dialect {dialect!r}") from None


def _chunks(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
