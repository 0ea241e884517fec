"""A WebSub (PubSubHubbub 0.4) hub for YouTube topics, as Google's hub runs it for YouTube.

The fake serves it at ``POST /subscribe`` (``ytscale.fake.youtube``); its work happens in
:meth:`Hub.pump`, called by the fake's background task under uvicorn or by a test by hand::

    hub.submit({"hub.mode": "subscribe", "hub.callback": "http://127.0.0.1:9000/cb",
                "hub.topic": topic_url(channel_id), "hub.secret": "s3cret"})   # then 202
    hub.pump()        # verifies intent, sends what was published, expires leases
    hub.renotify(video_id); hub.delete(video_id); hub.pump()   # an update, a tombstone

**What is charged:** nothing. The hub is Google's, not the Data API: subscribing, verification
and notifications cost no quota, and no fault of ``ytscale.fake.faults`` applies to them.

**Modelled.** Verification of intent (``GET callback?hub.mode&hub.topic&hub.challenge`` and, to
subscribe, ``hub.lease_seconds``), active only once the callback echoes the challenge with a 2xx; a
refused renewal leaves the running subscription to its lease. Leases (``min(requested,
max_lease_s)``, 5 days by default) that lapse: uploads after the end are never sent, even once
renewed. One POST per upload, ``push_delay_s`` after it is published, with ``Link`` headers and,
given a secret, ``X-Hub-Signature: sha1=HMAC-SHA1(secret, body)`` as Google signs. Lost
notifications (``push_loss``, a seeded RNG); failed deliveries (non-2xx, a transport error)
retried on later pumps, :data:`MAX_ATTEMPTS` in all, then dropped. Title changes (:meth:`renotify`)
and deletions (:meth:`delete`), which the catalogue cannot make happen by itself.

**Time.** Everything runs on the fake's simulated clock (or the instant given to ``pump``). One
pump makes the verification requests, then, at its instant, queues what each subscription's
channel published up to then (up to its lease's end, if sooner) and ends lapsed leases, then lets
the verified (un)subscriptions take effect, then delivers. New uploads come from the catalogue's
counts at two instants, so a pump costs O(subscriptions) plus one document per notification.

**Not modelled.** ``hub.verify=sync`` (0.3), the hub's own rate limits and retry schedule (it
retries on pumps, not on a backoff), denial notices, and redirects (never followed). Without an
injected client, callbacks must be loopback: the fake never sends traffic off the machine.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Final

import httpx

from reference.clock import Clock
from reference.youtube.atom import channel_id_of_topic
from ytscale.fake.atom import render_deleted, render_notification
from ytscale.fake.catalogue import Catalogue, ChannelSpec, VideoSpec
from ytscale.net import is_loopback

__all__ = [
    "HUB_URL",
    "MAX_ATTEMPTS",
    "DeferredCallbacks",
    "Hub",
    "HubUnavailable",
    "PumpReport",
    "SubscribeError",
]

#: Where YouTube's notifications say they come from (their ``rel=hub`` link).
HUB_URL: Final = "https://pubsubhubbub.appspot.com"
#: Deliveries of one notification before the hub gives up on it.
MAX_ATTEMPTS: Final = 3
#: WebSub: "the secret MUST be less than 200 bytes".
MAX_SECRET_BYTES: Final = 199
DEFAULT_MAX_LEASE_S: Final = 432_000
CALLBACK_TIMEOUT_S: Final = 5.0
_MODES: Final = ("subscribe", "unsubscribe")


class DeferredCallbacks(httpx.BaseTransport):
    """Callbacks into an in-process app built after the fake (an API needs the fake's transport
    before the hub can call it): set ``target`` to, say, a ``TestClient`` of that app."""

    def __init__(self) -> None:
        self.target: httpx.Client | None = None

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.target is None:
            raise httpx.ConnectError(
                "no callback app yet: set DeferredCallbacks.target", request=request
            )
        answer = self.target.send(request)
        return httpx.Response(
            answer.status_code, headers=answer.headers, content=answer.content, request=request
        )


class SubscribeError(ValueError):
    """A request the hub answers 400; the message names the field."""


class HubUnavailable(Exception):
    """The hub refuses every request for now: ``503 Transient error``, as Google's hub answered
    new and renewed subscriptions for weeks at a time (see :meth:`Hub.refuse`)."""


@dataclass(frozen=True, slots=True)
class PumpReport:
    """What one pump did."""

    at: datetime
    #: Intents the callback confirmed, and those it did not.
    verified: int
    refused: int
    #: Subscriptions whose lease ended.
    expired: int
    #: Notifications answered 2xx; lost to ``push_loss``; given up after the last attempt.
    sent: int
    missed: int
    failed: int
    #: Deliveries made again after a failure, and those left to try on a later pump.
    retried: int
    retrying: int

    def as_json(self) -> dict[str, Any]:
        return asdict(self) | {"at": self.at.isoformat()}


@dataclass(frozen=True, slots=True)
class _Intent:
    mode: str
    callback: str
    topic: str
    channel: int
    lease_s: int
    secret: bytes | None


@dataclass(slots=True)
class _Subscription:
    channel: int
    secret: bytes | None
    expires_at: datetime
    #: Uploads of the channel already notified (or published before the subscription began).
    seen: int


@dataclass(slots=True)
class _Delivery:
    callback: str
    topic: str
    secret: bytes | None
    body: bytes
    attempts: int = 0


class Hub:
    """Subscriptions to the catalogue's channels and their notifications; thread-safe.

    The lock guards the hub's state only: callback requests are made without it, since a
    callback may well call back into the fake (to fetch the feed, say).
    """

    def __init__(
        self,
        catalogue: Catalogue,
        clock: Clock,
        *,
        callbacks: httpx.Client | None = None,
        url: str = HUB_URL,
        push_delay_s: float = 30.0,
        push_loss: float = 0.0,
        max_lease_s: int = DEFAULT_MAX_LEASE_S,
        seed: int = 0,
    ) -> None:
        self.url = url
        self._catalogue = catalogue
        self._clock = clock
        self._injected = callbacks
        self._own: httpx.Client | None = None
        self._push_delay = timedelta(seconds=push_delay_s)
        self._push_loss = push_loss
        self._max_lease_s = max_lease_s
        self._seed = seed
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._intents: list[_Intent] = []
        self._subscriptions: dict[tuple[str, str], _Subscription] = {}
        self._deliveries: list[_Delivery] = []
        self._counts: Counter[str] = Counter()
        self._refusing = False

    # -- requests ----------------------------------------------------------------------------

    def refuse(self, refusing: bool = True) -> None:
        """From now on answer every (un)subscribe request 503 (or, with False, stop); running
        subscriptions keep their leases and notifications meanwhile."""
        with self._lock:
            self._refusing = refusing

    def submit(self, fields: Mapping[str, str]) -> None:
        """Queue a (un)subscription for verification; :class:`SubscribeError` if it is invalid,
        :class:`HubUnavailable` while the hub refuses."""
        with self._lock:
            if self._refusing:
                self._counts["requests_unavailable"] += 1
                raise HubUnavailable("Transient error")
        try:
            intent = self._intent(fields)
        except SubscribeError:
            with self._lock:
                self._counts["requests_refused"] += 1
            raise
        with self._lock:
            self._counts["requests_accepted"] += 1
            self._intents.append(intent)

    def _intent(self, fields: Mapping[str, str]) -> _Intent:
        mode = fields.get("hub.mode", "")
        if mode not in _MODES:
            raise SubscribeError(f"hub.mode must be 'subscribe' or 'unsubscribe', not {mode!r}")
        callback = fields.get("hub.callback", "")
        self._check_callback(callback)
        topic = fields.get("hub.topic", "")
        if not topic:
            raise SubscribeError("hub.topic is required")
        channel_id = channel_id_of_topic(topic) or ""
        index = self._catalogue.locate_channel(channel_id) if channel_id.startswith("UC") else None
        if index is None:
            raise SubscribeError(
                f"hub.topic {topic!r} is not the feed of a YouTube channel this hub knows: "
                "expected https://www.youtube.com/xml/feeds/videos.xml?channel_id=UC…"
            )
        return _Intent(
            mode, callback, topic, index, self._lease(fields), _secret(fields.get("hub.secret"))
        )

    def _check_callback(self, callback: str) -> None:
        if not callback:
            raise SubscribeError("hub.callback is required")
        try:
            url = httpx.URL(callback)
        except httpx.InvalidURL as exc:
            raise SubscribeError(f"hub.callback {callback!r} is not a URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise SubscribeError(f"hub.callback {callback!r} is not an absolute http(s) URL")
        if self._injected is None and not is_loopback(url.host):
            raise SubscribeError(
                f"hub.callback {callback!r} is not on loopback: this fake hub only calls back "
                "127.0.0.0/8, ::1 or localhost (inject a client to reach others in-process)"
            )

    def _lease(self, fields: Mapping[str, str]) -> int:
        raw = fields.get("hub.lease_seconds", "")
        if not raw:
            return self._max_lease_s
        if not raw.isascii() or not raw.isdigit() or int(raw) == 0:
            raise SubscribeError(f"hub.lease_seconds must be a positive integer, not {raw!r}")
        return min(int(raw), self._max_lease_s)

    # -- the hub's work ----------------------------------------------------------------------

    def pump(self, now: datetime | None = None) -> PumpReport:
        """Verify queued intents, notify new uploads, expire leases, deliver; all at ``now``."""
        at = self._clock() if now is None else now
        with self._lock:
            intents, self._intents = self._intents, []
            challenges = [f"{self._rng.getrandbits(128):032x}" for _ in intents]
        confirmed = [self._verify(i, c) for i, c in zip(intents, challenges, strict=True)]
        with self._lock:
            # Uploads up to now (and up to each lease's end) came first; what was verified now
            # takes effect after them, so a renewal after a lapse does not bridge the gap.
            expired = self._notify_uploads(at)
            for intent, ok in zip(intents, confirmed, strict=True):
                self._apply(intent, ok, at)
            sending, lost = self._take_due()
        retried = sum(d.attempts > 0 for d in sending)
        failed = [d for d in sending if not self._deliver(d)]
        retrying = [d for d in failed if d.attempts < MAX_ATTEMPTS]
        report = PumpReport(
            at=at,
            verified=sum(confirmed),
            refused=len(confirmed) - sum(confirmed),
            expired=expired,
            sent=len(sending) - len(failed),
            missed=lost,
            failed=len(failed) - len(retrying),
            retried=retried,
            retrying=len(retrying),
        )
        with self._lock:
            self._deliveries.extend(retrying)
            self._counts.update(
                {
                    "pumps": 1,
                    "verifications_ok": report.verified,
                    "verifications_failed": report.refused,
                    "leases_expired": report.expired,
                    "notifications_sent": report.sent,
                    "notifications_missed": report.missed,
                    "notifications_failed": report.failed,
                    "notifications_retried": report.retried,
                }
            )
        return report

    def _take_due(self) -> tuple[list[_Delivery], int]:
        """The queued deliveries to make now, and how many of them were lost instead."""
        due, self._deliveries = self._deliveries, []
        sending = []
        for delivery in due:
            # Only a first attempt can be lost: a retry is the hub's own, already decided on.
            if delivery.attempts == 0 and self._rng.random() < self._push_loss:
                continue
            sending.append(delivery)
        return sending, len(due) - len(sending)

    def _notify_uploads(self, at: datetime) -> int:
        """Queue a notification per upload published since each subscription's last check."""
        expired = 0
        for (callback, topic), sub in list(self._subscriptions.items()):
            until = min(at, sub.expires_at) - self._push_delay
            count = self._catalogue.video_count(sub.channel, until)
            if count > sub.seen:
                channel = self._catalogue.channel(sub.channel)
                for number in range(sub.seen, count):
                    video = self._catalogue.video(channel, number)
                    body = render_notification(
                        [(video, channel)], updated=at, hub=self.url, topic=topic
                    )
                    self._deliveries.append(_Delivery(callback, topic, sub.secret, body))
                sub.seen = count
            if sub.expires_at <= at:
                del self._subscriptions[callback, topic]
                expired += 1
        return expired

    def _apply(self, intent: _Intent, confirmed: bool, at: datetime) -> None:
        if not confirmed:
            return
        key = (intent.callback, intent.topic)
        if intent.mode == "unsubscribe":
            self._subscriptions.pop(key, None)
            return
        expires_at = at + timedelta(seconds=intent.lease_s)
        current = self._subscriptions.get(key)
        if current is not None:
            current.expires_at, current.secret = expires_at, intent.secret
            return
        seen = self._catalogue.video_count(intent.channel, at - self._push_delay)
        self._subscriptions[key] = _Subscription(intent.channel, intent.secret, expires_at, seen)

    def _verify(self, intent: _Intent, challenge: str) -> bool:
        params = {"hub.mode": intent.mode, "hub.topic": intent.topic, "hub.challenge": challenge}
        if intent.mode == "subscribe":
            params["hub.lease_seconds"] = str(intent.lease_s)
        try:
            response = self._client().get(intent.callback, params=params)
        except httpx.HTTPError:
            return False
        return response.is_success and response.content == challenge.encode()

    def _deliver(self, delivery: _Delivery) -> bool:
        delivery.attempts += 1
        headers = {
            "Content-Type": "application/atom+xml",
            "Link": f"<{self.url}>; rel=hub, <{delivery.topic}>; rel=self",
        }
        if delivery.secret is not None:
            digest = hmac.new(delivery.secret, delivery.body, hashlib.sha1).hexdigest()
            headers["X-Hub-Signature"] = f"sha1={digest}"
        try:
            response = self._client().post(
                delivery.callback, content=delivery.body, headers=headers
            )
        except httpx.HTTPError:
            return False
        return response.is_success

    def _client(self) -> httpx.Client:
        if self._injected is not None:
            return self._injected
        with self._lock:
            if self._own is None:
                # No proxies from the environment and no redirects: loopback stays loopback.
                self._own = httpx.Client(timeout=CALLBACK_TIMEOUT_S, trust_env=False)
            return self._own

    # -- events the catalogue cannot make happen ---------------------------------------------

    def renotify(self, video_id: str, now: datetime | None = None) -> int:
        """Notify ``video_id`` again, as on a title change; sent on the next pump. How many."""
        at = self._clock() if now is None else now
        video, channel = self._public_video(video_id, at)
        return self._queue_for(
            channel.index,
            at,
            lambda topic: render_notification(
                [(video, channel)], updated=at, hub=self.url, topic=topic
            ),
        )

    def delete(self, video_id: str, now: datetime | None = None) -> int:
        """Send a deleted-entry for ``video_id`` on the next pump (the catalogue keeps it)."""
        at = self._clock() if now is None else now
        video, channel = self._public_video(video_id, at)
        return self._queue_for(
            channel.index,
            at,
            lambda topic: render_deleted(
                video.id,
                channel.id,
                when=at,
                topic=topic,
                hub=self.url,
                channel_title=channel.title,
            ),
        )

    def _public_video(self, video_id: str, at: datetime) -> tuple[VideoSpec, ChannelSpec]:
        found = self._catalogue.locate_video(video_id, at)
        if found is None:
            raise LookupError(f"no public video {video_id!r} in the catalogue")
        channel = self._catalogue.channel(found[0])
        return self._catalogue.video(channel, found[1]), channel

    def _queue_for(self, channel: int, at: datetime, render: Callable[[str], bytes]) -> int:
        with self._lock:
            subscribers = [
                (callback, topic, sub.secret)
                for (callback, topic), sub in self._subscriptions.items()
                if sub.channel == channel and sub.expires_at > at
            ]
            for callback, topic, secret in subscribers:
                self._deliveries.append(_Delivery(callback, topic, secret, render(topic)))
        return len(subscribers)

    # -- bookkeeping -------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        with self._lock:
            counts = Counter(self._counts)
            active, pending = len(self._subscriptions), len(self._intents)
            queued = len(self._deliveries)
        return {
            "requests": {
                "accepted": counts["requests_accepted"],
                "refused": counts["requests_refused"],
                "unavailable": counts["requests_unavailable"],
            },
            # As of the last pump: a lease that ended since is removed by the next.
            "subscriptions": {"active": active, "pending": pending},
            "verifications": {
                "ok": counts["verifications_ok"],
                "failed": counts["verifications_failed"],
            },
            "notifications": {
                "sent": counts["notifications_sent"],
                "missed": counts["notifications_missed"],
                "failed": counts["notifications_failed"],
                "retried": counts["notifications_retried"],
                "queued": queued,
            },
            "leases_expired": counts["leases_expired"],
            "pumps": counts["pumps"],
        }

    def reset(self) -> None:
        """Forget subscriptions, queues and counters and restart the RNG: the same run again."""
        with self._lock:
            self._rng = random.Random(self._seed)
            self._intents.clear()
            self._subscriptions.clear()
            self._deliveries.clear()
            self._counts.clear()

    def close(self) -> None:
        """Close the hub's own callback client (an injected one is the caller's to close)."""
        with self._lock:
            own, self._own = self._own, None
        if own is not None:
            own.close()


def _secret(raw: str | None) -> bytes | None:
    if not raw:
        return None
    secret = raw.encode()
    if len(secret) > MAX_SECRET_BYTES:
        raise SubscribeError(
            f"hub.secret is {len(secret)} bytes: it must be at most {MAX_SECRET_BYTES}"
        )
    return secret
