"""The schema: users, projects (one per user and video), tags vocabulary, links, content sources.

Alembic migrations (``migrations/``) build this schema in real databases; ``Base.metadata`` is the
head revision, and a test checks the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from reference.clock import utc_now

# Named constraints so migrations can refer to them on every backend.
NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp stored in UTC and always read back timezone-aware.

    SQLite keeps no zone and compares timestamps as text, so values are normalised to UTC on the way
    in and labelled UTC on the way out; PostgreSQL's ``timestamptz`` behaves the same either way.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: pass a timezone-aware one")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Project(Base):
    """A user's imported video. ``(user_id, video_id)`` is unique: a duplicate cannot exist."""

    __tablename__ = "projects"
    __table_args__ = (UniqueConstraint("user_id", "video_id"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    video_id: Mapped[str] = mapped_column(String(11))
    external_url: Mapped[str] = mapped_column(String(2048))
    title: Mapped[str] = mapped_column(String(200), default="")
    channel_id: Mapped[str | None] = mapped_column(String(24))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    duration_s: Mapped[int | None] = mapped_column(Integer)
    view_count: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class ProjectQuarantine(Base):
    """A project set aside by migration 0002 because its URL names no single video.

    ``row`` keeps the project's columns and its tool, category and import-request links as they
    were, so nothing the user had is lost and the row can be repaired and re-imported by hand.
    """

    __tablename__ = "project_quarantine"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    project_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    external_url: Mapped[str] = mapped_column(String(2048))
    reason: Mapped[str] = mapped_column(Text)
    row: Mapped[dict[str, Any]] = mapped_column(JSON)
    quarantined_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Tool(Base):
    __tablename__ = "tools"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class ToolAlias(Base):
    """Another spelling of a tool's name as it appears in tags ("vscode" for "VS Code")."""

    __tablename__ = "tool_aliases"

    alias: Mapped[str] = mapped_column(String(100), primary_key=True)
    tool_id: Mapped[int] = mapped_column(ForeignKey("tools.id", ondelete="CASCADE"), index=True)


class Category(Base):
    __tablename__ = "categories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)


class ProjectTool(Base):
    __tablename__ = "project_tools"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    tool_id: Mapped[int] = mapped_column(
        ForeignKey("tools.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ProjectCategory(Base):
    __tablename__ = "project_categories"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    category_id: Mapped[int] = mapped_column(
        ForeignKey("categories.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ContentSource(Base):
    """A user's channel kept in sync. The ``due`` index serves "which sources are due now"."""

    __tablename__ = "content_sources"
    __table_args__ = (
        UniqueConstraint("user_id", "channel_id"),
        Index("ix_content_sources_due", "is_active", "next_sync_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    channel_id: Mapped[str] = mapped_column(String(24))
    uploads_playlist_id: Mapped[str | None] = mapped_column(String(34))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    next_sync_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Newest video seen by the last sync; the next sync pages until it meets this id.
    last_video_id: Mapped[str | None] = mapped_column(String(11))
    failure_count: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class PushSubscription(Base):
    """A channel's WebSub subscription: one per channel, however many users sync it.

    ``lease_expires_at`` is what the hub granted when it last verified our intent (None: never
    verified yet); ``requested_at`` keeps a pending (un)subscribe from being sent again each tick.
    ``requested_mode`` and ``requested_secret`` name that pending request (None once verified):
    the callback confirms nothing else. ``lease_secret`` fingerprints the secret the running lease
    signs with, and ``hub_error`` is the hub's last refusal (None once it accepts again).
    """

    __tablename__ = "push_subscriptions"
    __table_args__ = (Index("ix_push_subscriptions_lease_expires_at", "lease_expires_at"),)

    channel_id: Mapped[str] = mapped_column(String(24), primary_key=True)
    requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    requested_mode: Mapped[str | None] = mapped_column(String(11))
    requested_secret: Mapped[str | None] = mapped_column(String(16))
    lease_secret: Mapped[str | None] = mapped_column(String(16))
    hub_error: Mapped[str | None] = mapped_column(Text)


class PendingUpload(Base):
    """A new upload found without spending quota (feed or push), waiting for its details.

    Keyed by video: the feed and a notification reporting the same upload make one row, fetched
    once for every user who syncs the channel. ``claimed_until`` leases a row to one flush.
    """

    __tablename__ = "pending_uploads"
    __table_args__ = (Index("ix_pending_uploads_detected_at", "detected_at"),)

    video_id: Mapped[str] = mapped_column(String(11), primary_key=True)
    channel_id: Mapped[str] = mapped_column(String(24))
    #: "feed" or "push": whichever reported it first.
    via: Mapped[str] = mapped_column(String(8))
    detected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ImportRequest(Base):
    """Every import a user asks for, and how it ended: nothing requested is silently lost."""

    __tablename__ = "import_requests"
    __table_args__ = (Index("ix_import_requests_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # "video" | "channel"
    target: Mapped[str] = mapped_column(String(2048))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(Text)
    project_id: Mapped[int | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utc_now)
