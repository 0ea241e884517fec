"""The schema as the P0 report left it: projects keyed by URL, duplicates possible.

``projects`` has no ``video_id``; the report's "index on external_url" is a plain (non-unique) index
on ``(user_id, external_url)``, so two URL forms of one video, or one URL imported twice by racing
workers, give two projects. Revision 0002 repairs that.

Revision ID: 0001
Revises:
Create Date: 2025-11-29
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# SQLite only makes INTEGER PRIMARY KEY columns auto-increment.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _created_updated() -> list[sa.Column[Any]]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    ]


def upgrade() -> None:
    for vocabulary in ("categories", "tools"):
        op.create_table(
            vocabulary,
            sa.Column("id", sa.Integer(), nullable=False),
            sa.Column("name", sa.String(length=100), nullable=False),
            sa.Column("is_active", sa.Boolean(), nullable=False),
            sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{vocabulary}")),
            sa.UniqueConstraint("name", name=op.f(f"uq_{vocabulary}_name")),
        )
    op.create_table(
        "users",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
    )
    op.create_table(
        "content_sources",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("channel_id", sa.String(length=24), nullable=False),
        sa.Column("uploads_playlist_id", sa.String(length=34), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("next_sync_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_video_id", sa.String(length=11), nullable=True),
        sa.Column("failure_count", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_content_sources_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_content_sources")),
        sa.UniqueConstraint(
            "user_id", "channel_id", name=op.f("uq_content_sources_user_id_channel_id")
        ),
    )
    op.create_index(
        "ix_content_sources_due", "content_sources", ["is_active", "next_sync_at"], unique=False
    )
    op.create_table(
        "projects",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("external_url", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("channel_id", sa.String(length=24), nullable=True),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("view_count", sa.BigInteger(), nullable=True),
        *_created_updated(),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_projects_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    # The report's models.Index(fields=["user", "external_url"]): it speeds the lookup up but does
    # not make a duplicate impossible.
    op.create_index(
        op.f("ix_projects_user_id_external_url"),
        "projects",
        ["user_id", "external_url"],
        unique=False,
    )
    op.create_table(
        "tool_aliases",
        sa.Column("alias", sa.String(length=100), nullable=False),
        sa.Column("tool_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tool_id"],
            ["tools.id"],
            name=op.f("fk_tool_aliases_tool_id_tools"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("alias", name=op.f("pk_tool_aliases")),
    )
    op.create_index(op.f("ix_tool_aliases_tool_id"), "tool_aliases", ["tool_id"], unique=False)
    op.create_table(
        "import_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("user_id", ID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target", sa.String(length=2048), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("project_id", ID, nullable=True),
        *_created_updated(),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_import_requests_project_id_projects"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_import_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_requests")),
    )
    op.create_index(
        "ix_import_requests_user_id_created_at",
        "import_requests",
        ["user_id", "created_at"],
        unique=False,
    )
    for link, tag, tags in (
        ("project_tools", "tool_id", "tools"),
        ("project_categories", "category_id", "categories"),
    ):
        op.create_table(
            link,
            sa.Column("project_id", ID, nullable=False),
            sa.Column(tag, sa.Integer(), nullable=False),
            sa.ForeignKeyConstraint(
                ["project_id"],
                ["projects.id"],
                name=op.f(f"fk_{link}_project_id_projects"),
                ondelete="CASCADE",
            ),
            sa.ForeignKeyConstraint(
                [tag], [f"{tags}.id"], name=op.f(f"fk_{link}_{tag}_{tags}"), ondelete="CASCADE"
            ),
            sa.PrimaryKeyConstraint("project_id", tag, name=op.f(f"pk_{link}")),
        )
        op.create_index(op.f(f"ix_{link}_{tag}"), link, [tag], unique=False)


def downgrade() -> None:
    for table in (
        "project_categories",
        "project_tools",
        "import_requests",
        "tool_aliases",
        "projects",
        "content_sources",
        "users",
        "tools",
        "categories",
    ):
        op.drop_table(table)
