"""WebSub lifecycle: what we asked the hub for, under which secret, and why it refused.

``requested_mode``/``requested_secret`` name the (un)subscription we asked for and have not seen
verified (the callback accepts a verification only for that); ``lease_secret`` is the fingerprint
of the secret the running lease was verified with, so a rotated deployment secret resubscribes;
``hub_error`` is the hub's last refusal, while the channel falls back to hourly feed reads.

All four are nullable and start empty: existing leases read as "secret unknown" and are renewed
once, under the current secret. Downgrade drops them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_COLUMNS = (
    ("requested_mode", sa.String(11)),
    ("requested_secret", sa.String(16)),
    ("lease_secret", sa.String(16)),
    ("hub_error", sa.Text()),
)


def upgrade() -> None:
    with op.batch_alter_table("push_subscriptions") as table:
        for name, type_ in _COLUMNS:
            table.add_column(sa.Column(name, type_, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("push_subscriptions") as table:
        for name, _ in reversed(_COLUMNS):
            table.drop_column(name)
