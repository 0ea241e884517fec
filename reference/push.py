"""The WebSub (PubSubHubbub 0.4) subscriber: subscriptions per channel, leases, notifications.

YouTube pushes an Atom entry to a callback when a channel uploads (or retitles a video), through
Google's hub, to whoever subscribed to the channel's topic. This module is our side of it:

- :func:`renew_subscriptions` asks the hub for a subscription on every synced channel that has
  none, whose lease ends within :data:`RENEW_MARGIN`, or whose lease was made under another
  deployment secret (rotated); it cancels those no active source syncs any more. The hub then
  verifies our intent (:func:`verify_intent`, behind ``GET /websub/{channel_id}``), which we
  confirm only for the request we made and have not seen verified, and grants a lease, which we
  cap at what we asked;
- while the hub refuses (``503 Transient error``) or a lease is not live, the channel's sources
  are read by feed hourly, as under ``feed_polling``, and ``/metrics`` counts them
  (``ytscale_websub_fallback_channels``);
- :func:`accept_notification` (behind ``POST /websub/{channel_id}``) checks the HMAC signature
  and records each new upload for the batched detail fetch (:mod:`reference.uploads`).

Each channel's ``hub.secret`` is derived from the deployment secret, so any API process can check
a signature without a lookup. An unsigned or wrongly signed body is ignored, never parsed into
work: the 0.4 spec says to acknowledge it with a 2xx anyway ("MUST still return a 2xx success
response ... but locally ignore the message as invalid"), so a hub retrying a delivery signed with
a rotated secret does not retry forever; the answer and the metrics say it was refused.

Nothing here is trusted to be complete: notifications get lost and leases lapse, so under the
``push`` strategy every source is still read through its feed every so often (the fallback).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final, Literal

import httpx
from sqlalchemy import and_, exists, func, or_, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from reference import uploads
from reference.models import Base, ContentSource, PushSubscription
from reference.projects import dialect_insert
from reference.settings import Settings
from reference.strategies import SyncStrategy
from reference.youtube.atom import AtomError, channel_id_of_topic, parse_feed, topic_url

log = logging.getLogger(__name__)

_SUBSCRIPTIONS = Base.metadata.tables["push_subscriptions"]
#: Lease we ask for; the hub may grant less (Google's grants at most a few days).
LEASE_REQUEST = timedelta(days=10)
#: Renew a lease this long before it ends, so a slow or failed renewal still has time to retry.
RENEW_MARGIN = timedelta(days=1)
#: A (re)subscription not verified within this time is asked for again.
RETRY_AFTER = timedelta(minutes=30)
#: Signature algorithms a hub may use (0.4 uses sha1; W3C WebSub adds the SHA-2 family).
_DIGESTS: Final = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}

Outcome = Literal["accepted", "unsigned", "forged", "malformed"]


class HubError(Exception):
    """The hub refused or failed a subscription request; it is retried after ``RETRY_AFTER``."""


def secret_for(deployment_secret: str, channel_id: str) -> str:
    """The ``hub.secret`` of a channel's subscription: 64 hex characters (the hub takes < 200)."""
    key = deployment_secret.encode()
    return hmac.new(key, f"websub:{channel_id}".encode(), hashlib.sha256).hexdigest()


def sign(secret: str, body: bytes, method: str = "sha1") -> str:
    """The ``X-Hub-Signature`` value a hub sends for ``body``: ``method=hex``."""
    return f"{method}={hmac.new(secret.encode(), body, _DIGESTS[method]).hexdigest()}"


def signature_ok(secret: str, body: bytes, header: str | None) -> bool:
    """Whether ``X-Hub-Signature: method=hex`` is the HMAC of ``body`` under ``secret``."""
    method = (header or "").partition("=")[0].strip().lower()
    if method not in _DIGESTS or header is None:
        return False
    # As bytes: compare_digest raises on a str with non-ASCII characters, which a header can carry.
    expected = sign(secret, body, method).encode()
    return hmac.compare_digest(expected, header.strip().lower().encode("utf-8", "replace"))


def callback_for(settings: Settings, channel_id: str) -> str:
    return f"{settings.callback_url.rstrip('/')}/websub/{channel_id}"


def fingerprint(deployment_secret: str) -> str:
    """16 hex characters that tell secrets apart without revealing them (kept with a lease)."""
    digest = hmac.new(deployment_secret.encode(), b"websub:fingerprint", hashlib.sha256)
    return digest.hexdigest()[:16]


Mode = Literal["subscribe", "unsubscribe"]


class HubClient:
    """Sends (un)subscribe requests to the hub's subscribe endpoint."""

    def __init__(
        self,
        settings: Settings,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
    ) -> None:
        self._settings = settings
        self._http = httpx.Client(transport=transport, timeout=timeout)

    @property
    def fingerprint(self) -> str:
        """The fingerprint of the secret this client's requests carry."""
        return fingerprint(self._settings.secret)

    def close(self) -> None:
        self._http.close()

    def request(self, channel_id: str, mode: Mode) -> None:
        """Ask for (or cancel) the channel's subscription; the hub verifies it later."""
        s = self._settings
        form = {
            "hub.callback": callback_for(s, channel_id),
            "hub.mode": mode,
            "hub.topic": topic_url(channel_id),
            "hub.secret": secret_for(s.secret, channel_id),
            "hub.lease_seconds": str(int(LEASE_REQUEST.total_seconds())),
        }
        try:
            response = self._http.post(s.hub_subscribe_url, data=form)
        except httpx.HTTPError as exc:
            raise HubError(f"{mode} {channel_id}: {exc!r}") from exc
        if response.status_code not in (202, 204):
            detail = response.text.strip()[:200]
            raise HubError(f"{mode} {channel_id}: HTTP {response.status_code} {detail}")


@dataclass(frozen=True)
class Renewed:
    requested: int
    failed: int
    #: Unsubscriptions asked for (channels no active source syncs any more).
    cancelled: int = 0


def _wanted(channel_id: Any) -> Any:
    return exists().where(ContentSource.channel_id == channel_id, ContentSource.is_active == true())


def due_channels(session: Session, *, now: datetime, limit: int, secret: str) -> list[str]:
    """Synced channels whose subscription is missing, ends soon or carries another secret than
    ``secret`` (a fingerprint; the deployment's was rotated), and not asked for lately.

    Channels with an active source but no subscription row are adopted first (a deployment
    switching to ``push``, or a channel imported since), so every channel has one row to lease.
    The chosen rows record the request, which is what the hub's verification must then match.
    """
    missing = (
        select(ContentSource.channel_id)
        .where(
            ContentSource.is_active == true(),
            ~exists().where(_SUBSCRIPTIONS.c.channel_id == ContentSource.channel_id),
        )
        .distinct()
    )
    adopt = dialect_insert(session, _SUBSCRIPTIONS).from_select(["channel_id"], missing)
    session.execute(adopt.on_conflict_do_nothing(index_elements=("channel_id",)))
    s = PushSubscription
    ending = or_(s.lease_expires_at.is_(None), s.lease_expires_at <= now + RENEW_MARGIN)
    rotated = or_(s.lease_secret.is_(None), s.lease_secret != secret)
    chosen = list(
        session.scalars(
            select(s.channel_id)
            .where(or_(ending, rotated), _quiet(now), _wanted(s.channel_id))
            .order_by(s.lease_expires_at.is_not(None), s.lease_expires_at)
            .limit(limit)
        )
    )
    _requested(session, chosen, "subscribe", secret, now)
    return chosen


def unwanted_channels(session: Session, *, now: datetime, limit: int, secret: str) -> list[str]:
    """Subscriptions no active source needs any more, to cancel at the hub.

    One whose lease has ended (or never began) holds nothing at the hub: its row just goes.
    """
    s = PushSubscription
    unwanted = and_(~_wanted(s.channel_id), _quiet(now))
    held = and_(s.lease_expires_at.is_not(None), s.lease_expires_at > now)
    session.execute(
        _SUBSCRIPTIONS.delete().where(
            ~_wanted(_SUBSCRIPTIONS.c.channel_id),
            or_(
                _SUBSCRIPTIONS.c.lease_expires_at.is_(None),
                _SUBSCRIPTIONS.c.lease_expires_at <= now,
            ),
        )
    )
    chosen = list(session.scalars(select(s.channel_id).where(unwanted, held).limit(limit)))
    _requested(session, chosen, "unsubscribe", secret, now)
    return chosen


def _quiet(now: datetime) -> Any:
    s = PushSubscription
    return or_(s.requested_at.is_(None), s.requested_at <= now - RETRY_AFTER)


def _requested(
    session: Session, channels: list[str], mode: Mode, secret: str, now: datetime
) -> None:
    if channels:
        session.execute(
            _SUBSCRIPTIONS.update()
            .where(_SUBSCRIPTIONS.c.channel_id.in_(channels))
            .values(requested_at=now, requested_mode=mode, requested_secret=secret)
        )


def renew_subscriptions(
    sessions: sessionmaker[Session], hub: HubClient, *, now: datetime, limit: int = 2_000
) -> Renewed:
    """Request the subscriptions that are due, and cancel the unwanted (at most ``limit`` each
    per call, to spread the load).

    A channel whose request the hub refuses (Google's hub has answered ``503 Transient error``
    for weeks at a time) keeps the refusal in ``hub_error`` and has its sources read hourly
    through the feed, as ``feed_polling`` would, until a lease is verified again.
    """
    with sessions.begin() as session:
        wanted = due_channels(session, now=now, limit=limit, secret=hub.fingerprint)
        unwanted = unwanted_channels(session, now=now, limit=limit, secret=hub.fingerprint)
    requests: list[tuple[str, Mode]] = [(c, "subscribe") for c in wanted]
    requests += [(c, "unsubscribe") for c in unwanted]
    failed = 0
    for channel_id, mode in requests:
        try:
            hub.request(channel_id, mode)
        except HubError as exc:
            failed += 1
            log.warning("websub: %s (retried after %s)", exc, RETRY_AFTER)
            error: str | None = str(exc)
        else:
            error = None
        with sessions.begin() as session:
            _hub_answered(session, channel_id, error, now=now, fallback=mode == "subscribe")
    return Renewed(requested=len(wanted), failed=failed, cancelled=len(unwanted))


def _hub_answered(
    session: Session, channel_id: str, error: str | None, *, now: datetime, fallback: bool
) -> None:
    session.execute(
        _SUBSCRIPTIONS.update()
        .where(_SUBSCRIPTIONS.c.channel_id == channel_id)
        .values(hub_error=error)
    )
    if error is not None and fallback:
        # Read at once rather than at the push strategy's 6-hour fallback: no lease is coming.
        soon = now + SyncStrategy.FEED_POLLING.interval
        session.execute(
            update(ContentSource)
            .where(ContentSource.channel_id == channel_id, ContentSource.next_sync_at > soon)
            .values(next_sync_at=soon)
        )


def leased(session: Session, channel_id: str, now: datetime) -> bool:
    """Whether the hub holds a live lease for the channel (so notifications are coming)."""
    expires = session.scalar(
        select(PushSubscription.lease_expires_at).where(PushSubscription.channel_id == channel_id)
    )
    return expires is not None and expires > now


def fallback_counts(session: Session, now: datetime) -> dict[str, int]:
    """Synced channels read by feed because they hold no live lease: the hub ``refused`` the last
    request, or none was verified yet (``unleased``)."""
    s = PushSubscription
    unleased = or_(s.lease_expires_at.is_(None), s.lease_expires_at <= now)
    rows = session.execute(
        select(s.hub_error.is_not(None), func.count())
        .where(unleased, _wanted(s.channel_id))
        .group_by(s.hub_error.is_not(None))
    ).all()
    counts = {"refused": 0, "unleased": 0}
    for refused, n in rows:
        counts["refused" if refused else "unleased"] += n
    return counts


def verify_intent(
    session: Session,
    channel_id: str,
    *,
    mode: str,
    topic: str,
    lease_seconds: int | None,
    now: datetime,
) -> bool:
    """Whether the hub is verifying the (un)subscription we asked for and have not seen verified.

    Anything else is refused: a verification for a channel we never asked about, one already
    confirmed, a subscription no active source wants any more, or a cancellation one still does.
    A confirmed subscription records its lease, capped at what we asked for.
    """
    if channel_id_of_topic(topic) != channel_id or mode not in ("subscribe", "unsubscribe"):
        return False
    row = session.get(PushSubscription, channel_id, with_for_update=True)
    if row is None or row.requested_mode != mode:
        return False
    wanted = session.scalar(select(_wanted(channel_id)))
    if mode == "unsubscribe":
        if wanted:
            return False
        session.delete(row)
        return True
    if not wanted or lease_seconds is None or lease_seconds <= 0:
        return False
    # Capped before it becomes a timedelta: a huge one would overflow the date.
    lease = timedelta(seconds=min(lease_seconds, int(LEASE_REQUEST.total_seconds())))
    row.verified_at, row.lease_expires_at = now, now + lease
    row.lease_secret, row.hub_error = row.requested_secret, None
    row.requested_mode = row.requested_secret = None
    return True


@dataclass(frozen=True)
class Notified:
    outcome: Outcome
    #: Uploads newly recorded for the detail fetch (0 for one already pending or refused).
    recorded: int = 0
    entries: int = 0


def accept_notification(
    session: Session,
    settings: Settings,
    channel_id: str,
    body: bytes,
    signature: str | None,
    *,
    now: datetime,
) -> Notified:
    """Check a notification's signature, then record the uploads it names for the detail fetch.

    Entries naming another channel than the callback's are ignored: the signature proves which
    subscription the hub delivered for, and nothing more.
    """
    if not signature:
        return Notified("unsigned")
    if not signature_ok(secret_for(settings.secret, channel_id), body, signature):
        return Notified("forged")
    try:
        feed = parse_feed(body)
    except AtomError as exc:
        log.warning("websub: unreadable notification for %s: %s", channel_id, exc)
        return Notified("malformed")
    ids = [e.video_id for e in feed.entries if e.channel_id == channel_id]
    recorded = uploads.record(session, channel_id, ids, via="push", now=now)
    return Notified("accepted", recorded=recorded, entries=len(feed.entries))
