"""Request and response bodies of the HTTP API (its OpenAPI schema is generated from these)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from reference.auth import MAX_USER_ID

#: The longest URL or channel reference kept: the width of ``import_requests.target``.
MAX_TEXT = 2048
#: URLs per duplicate check: a page of a user's pasted list, answered in one indexed query.
MAX_CHECK_URLS = 200


# Control characters (NUL above all, which PostgreSQL refuses in text) and lone surrogates (which
# no database can encode) are refused here, with a message, rather than by the driver.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _printable(text: str) -> str:
    found = _UNPRINTABLE.search(text)
    if found:
        raise ValueError(f"contains U+{ord(found.group()):04X} at {found.start()}: not printable")
    return text


Text = Annotated[str, Field(min_length=1, max_length=MAX_TEXT), AfterValidator(_printable)]
#: Largest id of any row: a signed 64-bit integer, the widest key any backend keeps.
MAX_ID = MAX_USER_ID


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VideoImport(Body):
    url: Text = Field(examples=["https://youtu.be/dQw4w9WgXcQ"])


class ChannelImport(Body):
    channel: Text = Field(
        description="A channel id (UC…), an @handle or a channel URL.", examples=["@chan42"]
    )


class Accepted(BaseModel):
    """An import was recorded and queued; poll ``GET /v1/imports/{request_id}``."""

    request_id: int
    status: Literal["pending"] = "pending"
    kind: Literal["video", "channel"]


class Duplicate(BaseModel):
    """The user has this video already: nothing was queued."""

    status: Literal["duplicate"] = "duplicate"
    video_id: str
    project_id: int


class ImportStatus(BaseModel):
    request_id: int
    kind: str
    target: str
    status: str = Field(description="pending | imported | duplicate | failed")
    project_id: int | None
    reason: str | None
    created_at: datetime
    updated_at: datetime


class DuplicateCheck(Body):
    urls: list[Text] = Field(min_length=1, max_length=MAX_CHECK_URLS)


class Checked(BaseModel):
    url: str
    video_id: str | None = None
    project_id: Annotated[int | None, Field(description="The project of it, if any.")] = None
    error: Annotated[str | None, Field(description="Why the URL names no video.")] = None


class CheckResults(BaseModel):
    results: list[Checked]


class QuotaView(BaseModel):
    """Today's YouTube quota (a Pacific-Time day) as it stands for this user."""

    day: str
    resets_at: datetime
    project_budget: int
    project_used: int
    user_used: int
    user_budget: int | None = Field(description="The per-user cap; null when there is none.")
    remaining: int = Field(description="Units this user can still spend: the least of both.")


class Source(BaseModel):
    id: int
    channel_id: str
    is_active: bool
    next_sync_at: datetime
    last_synced_at: datetime | None
    failure_count: int
    last_error: str | None


class SourcePage(BaseModel):
    items: list[Source]
    next_after: int | None = Field(description="Pass as ``after`` for the next page; null: last.")


class Health(BaseModel):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]


class Problem(BaseModel):
    """Every error answer: ``detail`` says what was wrong, naming the input at fault."""

    detail: str
