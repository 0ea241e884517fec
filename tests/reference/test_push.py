"""The WebSub subscriber's parts: secrets, signatures, which leases are due, the hub request."""

from __future__ import annotations

import hashlib
import hmac
from datetime import timedelta
from urllib.parse import parse_qs

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from reference import push
from reference.models import ContentSource, PushSubscription
from reference.services import Services
from reference.settings import Settings
from reference.youtube.atom import channel_id_of_topic, topic_url
from ytscale.fake.catalogue import EPOCH

CHANNEL = "UC" + "A" * 22
FP = push.fingerprint("s")


def test_each_channel_has_its_own_secret_under_the_hubs_limit() -> None:
    a, b = push.secret_for("s", CHANNEL), push.secret_for("s", "UC" + "B" * 22)
    assert a != b and a == push.secret_for("s", CHANNEL) != push.secret_for("t", CHANNEL)
    assert len(a.encode()) < 200


@given(st.binary(max_size=2_000), st.sampled_from(["sha1", "sha256", "sha384", "sha512"]))
def test_a_signature_is_checked_against_an_independent_hmac(body: bytes, method: str) -> None:
    digest = getattr(hashlib, method)
    header = f"{method}={hmac.new(b'key', body, digest).hexdigest()}"
    assert push.sign("key", body, method) == header
    assert push.signature_ok("key", body, header)
    assert push.signature_ok("key", body, header.upper().replace(method.upper(), method))
    assert not push.signature_ok("other", body, header)
    assert not push.signature_ok("key", body + b"x", header)


@pytest.mark.parametrize(
    "header",
    [None, "", "sha1", "sha1=", "md5=0123", "sha1=zz", "=abc", "sha1 abc", "sha1=\u00e9\u00e9"],
)
def test_malformed_signature_headers_never_pass(header: str | None) -> None:
    assert not push.signature_ok("key", b"body", header)


def test_the_hub_request_names_callback_topic_secret_and_lease() -> None:
    sent: list[httpx.Request] = []

    def hub(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(202)

    settings = Settings(callback_url="https://api.example/", hub_url="https://hub.example/sub")
    client = push.HubClient(settings, transport=httpx.MockTransport(hub))
    client.request(CHANNEL, "subscribe")
    form = {k: v[0] for k, v in parse_qs(sent[0].content.decode()).items()}
    assert str(sent[0].url) == "https://hub.example/sub"
    assert form["hub.callback"] == f"https://api.example/websub/{CHANNEL}"
    assert channel_id_of_topic(form["hub.topic"]) == CHANNEL
    assert form["hub.secret"] == push.secret_for(settings.secret, CHANNEL)
    assert int(form["hub.lease_seconds"]) == push.LEASE_REQUEST.total_seconds()


@pytest.mark.parametrize(
    "answer",
    [httpx.Response(400, text="hub.topic: unknown"), httpx.ConnectError("refused")],
    ids=["refused", "down"],
)
def test_a_hub_that_refuses_or_is_down_raises_hub_error(answer: object) -> None:
    def hub(request: httpx.Request) -> httpx.Response:
        if isinstance(answer, Exception):
            raise answer
        assert isinstance(answer, httpx.Response)
        return answer

    client = push.HubClient(Settings(), transport=httpx.MockTransport(hub))
    with pytest.raises(push.HubError, match=CHANNEL):
        client.request(CHANNEL, "subscribe")


def _source(services: Services, user_id: int, channel_id: str, active: bool = True) -> None:
    with services.sessions.begin() as session:
        session.add(
            ContentSource(
                user_id=user_id, channel_id=channel_id, next_sync_at=EPOCH, is_active=active
            )
        )


def test_due_channels_adopt_new_ones_renew_ending_ones_and_wait_for_pending(
    services: Services,
) -> None:
    a, b, c = ("UC" + ch * 22 for ch in "abc")
    _source(services, 1, a)
    _source(services, 2, a)  # two users, one subscription
    _source(services, 1, b)
    _source(services, 3, c, active=False)
    now = EPOCH
    with services.sessions.begin() as session:
        first = push.due_channels(session, now=now, limit=10, secret=FP)
    assert sorted(first) == [a, b], "adopted once each; the inactive source's channel is not"
    with services.sessions.begin() as session:
        assert push.due_channels(session, now=now + timedelta(minutes=1), limit=10, secret=FP) == []
        subscription = session.get(PushSubscription, a)
        assert subscription is not None
        subscription.lease_expires_at = now + timedelta(days=5)
        subscription.lease_secret = FP
    later = now + push.RETRY_AFTER
    with services.sessions.begin() as session:
        # b was never verified: asked again; a holds a lease beyond the margin.
        assert push.due_channels(session, now=later, limit=10, secret=FP) == [b]
    near_end = now + timedelta(days=5) - push.RENEW_MARGIN
    with services.sessions.begin() as session:
        assert push.due_channels(session, now=near_end, limit=1, secret=FP) == [b]
        assert push.due_channels(session, now=near_end, limit=10, secret=FP) == [a]
    rotated = push.fingerprint("rotated")
    with services.sessions.begin() as session:
        # b was asked for at near_end; a, asked before, now carries the old secret.
        assert push.due_channels(session, now=near_end, limit=10, secret=rotated) == []
    with services.sessions.begin() as session:
        again = push.due_channels(
            session, now=near_end + push.RETRY_AFTER, limit=10, secret=rotated
        )
    assert sorted(again) == [a, b]


def test_a_renewal_that_fails_is_retried_after_its_wait(services: Services) -> None:
    _source(services, 1, CHANNEL)
    calls: list[str] = []

    def hub(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        return httpx.Response(503)

    client = push.HubClient(services.settings, transport=httpx.MockTransport(hub))
    assert push.renew_subscriptions(services.sessions, client, now=EPOCH) == push.Renewed(1, 1)
    assert push.renew_subscriptions(services.sessions, client, now=EPOCH) == push.Renewed(0, 0)
    retry = EPOCH + push.RETRY_AFTER
    assert push.renew_subscriptions(services.sessions, client, now=retry) == push.Renewed(1, 1)
    assert calls == ["POST", "POST"]


def _verify(services: Services, mode: str, lease_seconds: int | None = 60) -> bool:
    with services.sessions.begin() as session:
        return push.verify_intent(
            session,
            CHANNEL,
            mode=mode,
            topic=topic_url(CHANNEL),
            lease_seconds=lease_seconds,
            now=EPOCH,
        )


def test_only_the_request_we_made_and_have_not_seen_verified_is_confirmed(
    services: Services,
) -> None:
    _source(services, 1, CHANNEL)
    assert not _verify(services, "subscribe"), "never asked for"
    with services.sessions.begin() as session:
        push.due_channels(session, now=EPOCH, limit=10, secret=FP)
    assert not _verify(services, "unsubscribe"), "we asked for the other mode"
    assert _verify(services, "subscribe", lease_seconds=2**70)
    assert not _verify(services, "subscribe"), "a replay of a confirmed one"
    with services.sessions() as session:
        row = session.get(PushSubscription, CHANNEL)
    assert row is not None and row.lease_expires_at == EPOCH + push.LEASE_REQUEST, "capped"
    assert row.lease_secret == FP and row.requested_mode is None
