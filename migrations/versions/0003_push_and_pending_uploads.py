"""Quota-free sync (issue 7): WebSub subscriptions per channel, and uploads awaiting details.

Both tables are new and start empty; nothing existing changes, so downgrade simply drops them
(pending uploads then go unfetched until the next API-polling sync finds them again).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _at(name: str, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "push_subscriptions",
        sa.Column("channel_id", sa.String(24), nullable=False),
        _at("requested_at"),
        _at("verified_at"),
        _at("lease_expires_at"),
        sa.PrimaryKeyConstraint("channel_id", name="pk_push_subscriptions"),
    )
    op.create_index(
        "ix_push_subscriptions_lease_expires_at", "push_subscriptions", ["lease_expires_at"]
    )
    op.create_table(
        "pending_uploads",
        sa.Column("video_id", sa.String(11), nullable=False),
        sa.Column("channel_id", sa.String(24), nullable=False),
        sa.Column("via", sa.String(8), nullable=False),
        _at("detected_at", nullable=False),
        _at("claimed_until"),
        sa.PrimaryKeyConstraint("video_id", name="pk_pending_uploads"),
    )
    op.create_index("ix_pending_uploads_detected_at", "pending_uploads", ["detected_at"])


def downgrade() -> None:
    op.drop_index("ix_pending_uploads_detected_at", "pending_uploads")
    op.drop_table("pending_uploads")
    op.drop_index("ix_push_subscriptions_lease_expires_at", "push_subscriptions")
    op.drop_table("push_subscriptions")
