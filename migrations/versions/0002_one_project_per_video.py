"""One project per user and video: add ``video_id``, merge duplicates, make the pair unique.

1. ``video_id`` is added and backfilled by canonicalising ``external_url`` in Python, in batches;
2. a project whose URL names no single video moves to ``project_quarantine`` with the reason, its
   columns and its links (nothing is deleted silently);
3. duplicates (one video under several URL forms, or imported twice by racing workers) merge into
   the lowest id: their tool and category links and import requests move onto it, then they go;
4. ``video_id`` becomes NOT NULL and ``(user_id, video_id)`` unique; the report's index is gone.

Downgrade restores the 0001 shape and puts quarantined projects back; merged duplicates stay merged.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-30
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from reference.videos import InvalidVideoURL, canonical_video_id

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

log = logging.getLogger("ytscale.migrations")

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
BATCH = 5_000
#: Link tables whose rows point at a project, with the column naming the other end.
LINKS = (("project_tools", "tool_id"), ("project_categories", "category_id"))

projects = sa.table("projects", sa.column("id"), sa.column("external_url"), sa.column("video_id"))
quarantine = sa.table(
    "project_quarantine",
    sa.column("project_id"),
    sa.column("user_id"),
    sa.column("external_url"),
    sa.column("reason"),
    sa.column("row", sa.JSON),
    sa.column("quarantined_at", sa.DateTime(timezone=True)),
)


def upgrade() -> None:
    op.create_table(
        "project_quarantine",
        sa.Column("id", ID, nullable=False),
        sa.Column("project_id", sa.BigInteger(), nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("external_url", sa.String(length=2048), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("row", sa.JSON(), nullable=False),
        sa.Column("quarantined_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_project_quarantine_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_project_quarantine")),
    )
    op.create_index(
        op.f("ix_project_quarantine_user_id"), "project_quarantine", ["user_id"], unique=False
    )
    # Dropped first so that the backfill's UPDATE of every row does not maintain it as well.
    op.drop_index("ix_projects_user_id_external_url", table_name="projects")
    op.add_column("projects", sa.Column("video_id", sa.String(length=11), nullable=True))
    conn = op.get_bind()
    backfilled, quarantined = _backfill(conn)
    merged = _merge_duplicates(conn)
    with op.batch_alter_table("projects") as batch:
        batch.alter_column("video_id", existing_type=sa.String(length=11), nullable=False)
        batch.create_unique_constraint("uq_projects_user_id_video_id", ["user_id", "video_id"])
    log.info(
        "projects: %d given a video_id, %d quarantined, %d duplicates merged",
        backfilled,
        quarantined,
        merged,
    )


def _backfill(conn: sa.Connection) -> tuple[int, int]:
    """Canonicalise every URL, keyset-paged by id; quarantine the ones that name no video.

    The ids found go to a staging table a batch at a time and reach ``projects`` in one joined
    UPDATE: an UPDATE per row costs a round trip each, minutes at the report's 5M projects.
    """
    staging = op.create_table(
        "_project_video_ids",
        sa.Column("id", ID, primary_key=True),
        sa.Column("video_id", sa.String(length=11), nullable=False),
    )
    last, backfilled, quarantined = 0, 0, 0
    while True:
        rows = conn.execute(
            sa.select(projects.c.id, projects.c.external_url)
            .where(projects.c.id > last)
            .order_by(projects.c.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1].id
        found, reasons = [], {}
        for pid, url in rows:
            try:
                found.append({"id": pid, "video_id": canonical_video_id(url)})
            except InvalidVideoURL as exc:
                reasons[pid] = str(exc)
        if found:
            conn.execute(sa.insert(staging), found)
        if reasons:
            _quarantine(conn, reasons)
        backfilled += len(found)
        quarantined += len(reasons)
    conn.execute(
        sa.update(projects).where(projects.c.id == staging.c.id).values(video_id=staging.c.video_id)
    )
    op.drop_table("_project_video_ids")
    return backfilled, quarantined


def _quarantine(conn: sa.Connection, reasons: dict[int, str]) -> None:
    """Move projects into ``project_quarantine`` with their links, then remove them."""
    ids: sa.BindParameter[list[int]] = sa.bindparam("ids", list(reasons), expanding=True)
    rows = conn.execute(
        sa.text("SELECT * FROM projects WHERE id IN :ids").bindparams(ids)
    ).mappings()
    saved: dict[int, dict[str, Any]] = {
        row["id"]: {"projects": {k: _jsonable(v) for k, v in row.items() if k != "video_id"}}
        for row in rows
    }
    for table, column in (*LINKS, ("import_requests", "id")):
        for pid, other in conn.execute(
            sa.text(
                f"SELECT project_id, {column} FROM {table} WHERE project_id IN :ids"
            ).bindparams(ids)
        ):
            saved[pid].setdefault(table, []).append(other)
    now = datetime.now(UTC)
    conn.execute(
        sa.insert(quarantine),
        [
            {
                "project_id": pid,
                "user_id": row["projects"]["user_id"],
                "external_url": row["projects"]["external_url"],
                "reason": reasons[pid],
                "row": row,
                "quarantined_at": now,
            }
            for pid, row in saved.items()
        ],
    )
    # Explicit, not ON DELETE: SQLite runs migrations with foreign keys off.
    for table, _ in LINKS:
        conn.execute(sa.text(f"DELETE FROM {table} WHERE project_id IN :ids").bindparams(ids))
    conn.execute(
        sa.text("UPDATE import_requests SET project_id = NULL WHERE project_id IN :ids").bindparams(
            ids
        )
    )
    conn.execute(sa.text("DELETE FROM projects WHERE id IN :ids").bindparams(ids))


def _jsonable(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _merge_duplicates(conn: sa.Connection) -> int:
    """Fold every (user, video) group into its lowest id; return how many projects went."""
    op.create_table(
        "_project_merge",
        sa.Column("loser_id", ID, primary_key=True),
        sa.Column("survivor_id", ID, nullable=False),
    )
    conn.execute(
        sa.text(
            "INSERT INTO _project_merge (loser_id, survivor_id) "
            "SELECT p.id, g.survivor_id FROM projects p JOIN ("
            "  SELECT user_id, video_id, MIN(id) AS survivor_id FROM projects"
            "  GROUP BY user_id, video_id HAVING COUNT(*) > 1"
            ") g ON p.user_id = g.user_id AND p.video_id = g.video_id "
            "WHERE p.id <> g.survivor_id"
        )
    )
    losers = "SELECT loser_id FROM _project_merge"
    for table, column in LINKS:
        # DISTINCT and NOT EXISTS: two copies may carry the same tag, the survivor may already.
        conn.execute(
            sa.text(
                f"INSERT INTO {table} (project_id, {column}) "
                f"SELECT DISTINCT m.survivor_id, l.{column} FROM {table} l "
                "JOIN _project_merge m ON l.project_id = m.loser_id "
                f"WHERE NOT EXISTS (SELECT 1 FROM {table} s "
                f"  WHERE s.project_id = m.survivor_id AND s.{column} = l.{column})"
            )
        )
        conn.execute(sa.text(f"DELETE FROM {table} WHERE project_id IN ({losers})"))
    conn.execute(
        sa.text(
            "UPDATE import_requests SET project_id = (SELECT m.survivor_id FROM _project_merge m"
            f" WHERE m.loser_id = import_requests.project_id) WHERE project_id IN ({losers})"
        )
    )
    merged = conn.execute(sa.text(f"DELETE FROM projects WHERE id IN ({losers})")).rowcount
    op.drop_table("_project_merge")
    return merged


def downgrade() -> None:
    with op.batch_alter_table("projects") as batch:
        batch.drop_constraint("uq_projects_user_id_video_id", type_="unique")
        batch.drop_column("video_id")
        batch.create_index("ix_projects_user_id_external_url", ["user_id", "external_url"])
    _restore_quarantined(op.get_bind())
    op.drop_index(op.f("ix_project_quarantine_user_id"), table_name="project_quarantine")
    op.drop_table("project_quarantine")


def _restore_quarantined(conn: sa.Connection) -> None:
    """Put quarantined projects back (0001 accepts any URL), with their links."""
    meta = sa.MetaData()
    tables = {
        name: sa.Table(name, meta, autoload_with=conn)
        for name in ("projects", *(table for table, _ in LINKS))
    }
    saved = conn.execute(sa.select(quarantine.c.row)).scalars().all()
    for row in saved:
        project = {
            key: _parsed(tables["projects"].c[key].type, value)
            for key, value in row["projects"].items()
        }
        conn.execute(sa.insert(tables["projects"]).values(project))
        for table, column in LINKS:
            for other in row.get(table, []):
                conn.execute(
                    sa.insert(tables[table]).values(project_id=project["id"], **{column: other})
                )
        if row.get("import_requests"):
            conn.execute(
                sa.text("UPDATE import_requests SET project_id = :pid WHERE id IN :ids").bindparams(
                    sa.bindparam("ids", row["import_requests"], expanding=True), pid=project["id"]
                )
            )


def _parsed(type_: sa.types.TypeEngine[Any], value: Any) -> Any:
    """JSON kept timestamps as ISO text; typed columns want them back as datetimes."""
    if isinstance(type_, sa.DateTime) and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value
