import pickle
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from reference import kv
from reference.quota import AtomicLedger, QuotaExhausted, QuotaLedger, Reservation
from reference.quota.days import KEY_GRACE, PACIFIC, ManualClock
from reference.settings import Settings
from tests.backends import LEDGER_STORES, store_url


@pytest.fixture(params=LEDGER_STORES)
def redis_url(request: pytest.FixtureRequest) -> str:
    """The ledger's stores: a Redis Cluster besides those every test runs on."""
    return store_url(request.param)


def pt(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=PACIFIC)


@pytest.fixture
def ledger(client: redis.Redis, key_prefix: str, clock: ManualClock) -> AtomicLedger:
    return AtomicLedger(client, daily_quota=10, user_quota=4, prefix=key_prefix, clock=clock)


def refused(ledger: AtomicLedger, units: int, user_id: int | None = None) -> QuotaExhausted:
    with pytest.raises(QuotaExhausted) as info:
        ledger.reserve(units, user_id=user_id)
    return info.value


# --- charging and refusing ------------------------------------------------------------------------


def test_a_reservation_charges_the_project_and_the_user(ledger: AtomicLedger) -> None:
    reservation = ledger.reserve(3, user_id=1)
    assert (reservation.units, reservation.user_id, reservation.day) == (3, 1, "2025-06-15")
    assert ledger.used() == 3
    assert ledger.used(user_id=1) == 3
    assert ledger.used(user_id=2) == 0


def test_remaining_is_the_tightest_applicable_budget(ledger: AtomicLedger) -> None:
    ledger.reserve(3, user_id=1)
    ledger.reserve(4, user_id=2)
    ledger.reserve(1)
    assert ledger.remaining() == 2  # project: 10 - 8
    assert ledger.remaining(user_id=1) == 1  # user cap 4 - 3 is tighter
    assert ledger.remaining(user_id=3) == 2  # user 3 has 4, the project only 2


def test_the_user_cap_refuses_and_charges_nothing(ledger: AtomicLedger) -> None:
    ledger.reserve(3, user_id=1)
    exc = refused(ledger, 2, user_id=1)
    assert (exc.scope, exc.needed, exc.remaining) == ("user:1", 2, 1)
    assert exc.resets_at == pt(2025, 6, 16)
    assert str(exc) == ("user:1 quota exhausted: 2 units needed, 1 left until 2025-06-16 00:00 PDT")
    assert (ledger.used(), ledger.used(user_id=1)) == (3, 3)
    ledger.reserve(1, user_id=1)  # what does fit still goes through
    assert ledger.remaining(user_id=1) == 0


def test_the_shared_project_budget_binds_every_user(ledger: AtomicLedger) -> None:
    for user_id in (1, 2):
        ledger.reserve(4, user_id=user_id)
    exc = refused(ledger, 3, user_id=3)  # user 3 has its 4, but the project only 2
    assert (exc.scope, exc.remaining) == ("project", 2)
    assert ledger.used(user_id=3) == 0
    ledger.reserve(2)
    assert ledger.remaining() == 0
    assert refused(ledger, 1).scope == "project"


def test_a_reservation_larger_than_the_whole_budget_is_refused(ledger: AtomicLedger) -> None:
    exc = refused(ledger, 11)
    assert (exc.scope, exc.needed, exc.remaining) == ("project", 11, 10)
    assert ledger.used() == 0


def test_users_are_counted_even_without_a_cap(
    client: redis.Redis, key_prefix: str, clock: ManualClock
) -> None:
    ledger = AtomicLedger(client, daily_quota=10, prefix=key_prefix, clock=clock)
    ledger.reserve(7, user_id=5)
    assert ledger.used(user_id=5) == 7
    assert ledger.remaining(user_id=5) == ledger.remaining() == 3


@pytest.mark.parametrize("units", [0, -1])
def test_a_reservation_takes_at_least_one_unit(ledger: AtomicLedger, units: int) -> None:
    with pytest.raises(ValueError, match="at least 1 unit"):
        ledger.reserve(units)


# --- refunds --------------------------------------------------------------------------------------


def test_a_refund_gives_the_units_back_once(ledger: AtomicLedger) -> None:
    kept = ledger.reserve(2, user_id=1)
    returned = ledger.reserve(1, user_id=1)
    ledger.refund(returned)
    assert (ledger.used(), ledger.used(user_id=1)) == (2, 2)
    ledger.refund(returned)
    assert (ledger.used(), ledger.used(user_id=1)) == (2, 2)
    assert kept.id != returned.id


def test_a_refund_returns_what_was_charged_not_what_the_object_claims(
    ledger: AtomicLedger,
) -> None:
    first = ledger.reserve(2)
    ledger.reserve(2)
    ledger.refund(replace(first, units=4))
    assert ledger.used() == 2


@pytest.mark.parametrize(
    "forge",
    [
        lambda r: Reservation(units=5, user_id=None, day=r.day),  # never reserved
        lambda r: replace(r, user_id=2),  # another user's counter
        lambda r: replace(r, day="2025-06-14"),  # another day
    ],
    ids=["unknown-id", "other-user", "other-day"],
)
def test_a_refund_of_a_reservation_never_made_creates_nothing(
    ledger: AtomicLedger, forge: Callable[[Reservation], Reservation]
) -> None:
    ledger.reserve(2, user_id=2)
    real = ledger.reserve(3, user_id=1)
    ledger.refund(forge(real))
    assert (ledger.used(), ledger.used(user_id=1), ledger.used(user_id=2)) == (5, 3, 2)


def test_another_ledger_instance_can_refund_but_only_once(
    ledger: AtomicLedger, client: redis.Redis, key_prefix: str, clock: ManualClock
) -> None:
    other = AtomicLedger(client, daily_quota=10, prefix=key_prefix, clock=clock)
    reservation = pickle.loads(pickle.dumps(ledger.reserve(3, user_id=1)))
    other.refund(reservation)
    ledger.refund(reservation)
    assert (ledger.used(), ledger.used(user_id=1)) == (0, 0)


# --- quotaExceeded from YouTube -------------------------------------------------------------------


def test_mark_exhausted_refuses_everything_until_midnight_pt(
    ledger: AtomicLedger, clock: ManualClock
) -> None:
    ledger.reserve(3)
    ledger.mark_exhausted()
    assert ledger.remaining() == ledger.remaining(user_id=1) == 0
    exc = refused(ledger, 1, user_id=1)
    assert (exc.scope, exc.remaining, exc.resets_at) == ("project", 0, pt(2025, 6, 16))
    assert ledger.used() == 3  # what was charged stays what was charged
    clock.now = pt(2025, 6, 15, 23, 59)
    assert refused(ledger, 1).scope == "project"
    clock.now = pt(2025, 6, 16, 0, 0)
    ledger.reserve(10)


# --- days -----------------------------------------------------------------------------------------


def test_reservations_at_2359_and_0001_pt_land_in_different_days(
    ledger: AtomicLedger, clock: ManualClock
) -> None:
    clock.now = pt(2025, 6, 15, 23, 59)
    late = ledger.reserve(7)
    clock.advance(timedelta(minutes=2))
    early = ledger.reserve(10)  # a whole fresh budget two minutes later
    assert (late.day, early.day) == ("2025-06-15", "2025-06-16")
    assert ledger.used() == 10
    clock.now = pt(2025, 6, 15, 23, 59)
    assert ledger.used() == 7


def test_refunding_yesterdays_reservation_does_not_touch_today(
    ledger: AtomicLedger, clock: ManualClock
) -> None:
    clock.now = pt(2025, 6, 15, 23, 59)
    late = ledger.reserve(4)
    clock.advance(timedelta(minutes=2))
    ledger.reserve(6)
    ledger.refund(late)
    assert ledger.used() == 6
    clock.now = pt(2025, 6, 15, 23, 59)
    assert ledger.used() == 0


def test_the_fall_back_day_keeps_its_budget_for_25_hours(
    ledger: AtomicLedger, clock: ManualClock
) -> None:
    clock.now = pt(2025, 11, 2, 0, 30)
    ledger.reserve(10)
    clock.advance(timedelta(hours=24))  # 23:30 PST: a "24 h window" would have reset by now
    assert refused(ledger, 1).resets_at.astimezone(UTC) == datetime(2025, 11, 3, 8, tzinfo=UTC)
    clock.advance(timedelta(minutes=31))  # 00:01 PST on 3 November
    assert ledger.reserve(10).day == "2025-11-03"


def test_the_spring_forward_day_resets_after_23_hours(
    ledger: AtomicLedger, clock: ManualClock
) -> None:
    clock.now = pt(2025, 3, 8, 23, 59)
    ledger.reserve(10)
    clock.advance(timedelta(minutes=2))
    ledger.reserve(10)  # 00:01 PST on the 9th: a new day
    clock.advance(timedelta(hours=22, minutes=58))  # 23:59 PDT on the 9th, 22 h 58 min later
    assert refused(ledger, 1).resets_at == pt(2025, 3, 10)
    clock.advance(timedelta(minutes=2))
    assert ledger.reserve(10).day == "2025-03-10"


def test_keys_expire_an_hour_after_the_pt_day_ends(
    ledger: AtomicLedger, client: redis.Redis, key_prefix: str, clock: ManualClock
) -> None:
    clock.now = pt(2025, 11, 2, 1, 0)  # the first 01:00, PDT: 24 h of this 25 h day are left
    ledger.reserve(1, user_id=1)
    ledger.mark_exhausted()
    expected = 24 * 3600 + int(KEY_GRACE.total_seconds())
    names = ["project", "user:1", "reservations", "exhausted"]
    keys = [f"{{{key_prefix}2025-11-02}}:{name}" for name in names]  # one hash tag, one slot
    ttls = [client.ttl(key) for key in keys]
    # Redis counts TTLs down in real time; allow the test a few seconds.
    assert all(expected - 5 <= ttl <= expected for ttl in ttls), ttls
    assert sorted(client.scan_iter(f"{{{key_prefix}*")) == sorted(key.encode() for key in keys)


# --- interface ------------------------------------------------------------------------------------


def test_from_settings_takes_the_budgets_and_store_from_settings(
    redis_url: str, key_prefix: str
) -> None:
    settings = Settings(redis_url=redis_url, daily_quota=5, user_quota=2)
    ledger = AtomicLedger.from_settings(settings, prefix=key_prefix)
    assert isinstance(ledger, QuotaLedger)
    assert refused(ledger, 3, user_id=1).scope == "user:1"
    ledger.reserve(2, user_id=1)
    assert ledger.remaining() == 3
    assert AtomicLedger.from_settings(settings, prefix=key_prefix).used() == 2


def test_quota_exhausted_survives_pickling() -> None:
    exc = QuotaExhausted("user:7", 3, 1, pt(2025, 6, 16))
    copy = pickle.loads(pickle.dumps(exc))
    assert (copy.scope, copy.needed, copy.remaining, copy.resets_at, str(copy)) == (
        exc.scope,
        exc.needed,
        exc.remaining,
        exc.resets_at,
        str(exc),
    )


# --- lost replies ---------------------------------------------------------------------------------


def lose_replies(client: kv.Store, monkeypatch: pytest.MonkeyPatch, count: int) -> list[str]:
    """Make the next ``count`` script replies vanish after the script ran, as a cut connection
    would: the client sees a ``ConnectionError`` (and retries, as redis-py does by default).
    Returns the list the lost commands are noted in.

    Patched on the connection class, not on one pool: a cluster client that meets a connection
    error rebuilds its nodes' clients, and their connections must lose replies too.
    """
    lost: list[str] = []
    pool = (
        client.connection_pool
        if isinstance(client, redis.Redis)
        else client.get_default_node().redis_connection.connection_pool
    )
    cls = pool.connection_class
    send, read = cls.send_command, cls.read_response

    def send_command(self: redis.Connection, *args: Any, **kwargs: Any) -> None:
        # Noted once sent: a reconnect inside sends and reads its own handshake first.
        self._ytscale_last = ""  # type: ignore[attr-defined]
        send(self, *args, **kwargs)
        self._ytscale_last = str(args[0]).upper()  # type: ignore[attr-defined]

    def read_response(self: redis.Connection, *args: Any, **kwargs: Any) -> Any:
        reply = read(self, *args, **kwargs)
        last = getattr(self, "_ytscale_last", "")
        if last.startswith("EVAL") and len(lost) < count:
            lost.append(last)
            self.disconnect()
            raise redis.ConnectionError("reply lost (injected)")
        return reply

    monkeypatch.setattr(cls, "send_command", send_command)
    monkeypatch.setattr(cls, "read_response", read_response)
    pool.reset()
    return lost


def test_a_reservation_whose_reply_is_lost_is_charged_once(
    ledger: AtomicLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    lost = lose_replies(ledger.client, monkeypatch, count=1)
    reservation = ledger.reserve(3, user_id=1)  # redis-py resends the script once
    assert lost == ["EVALSHA"]
    assert (ledger.used(), ledger.used(user_id=1)) == (3, 3)
    ledger.refund(reservation)
    assert (ledger.used(), ledger.used(user_id=1)) == (0, 0)


def test_a_retry_that_meets_a_full_budget_still_holds_its_charge(
    ledger: AtomicLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 4 of the user's 4 units: a second run of the script would refuse what it already charged,
    # and the caller, told "exhausted", would never refund the units it holds.
    lose_replies(ledger.client, monkeypatch, count=1)
    reservation = ledger.reserve(4, user_id=1)
    assert ledger.used(user_id=1) == 4
    ledger.refund(reservation)
    assert ledger.used(user_id=1) == 0


def test_a_store_lost_for_good_gets_the_units_back_when_it_can(
    ledger: AtomicLedger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every retry loses its reply too (redis-py gives up after its retries), but the refund gets
    # through: nothing stays charged for a request that will never be sent.
    lose_replies(ledger.client, monkeypatch, count=100)
    with pytest.raises(redis.ConnectionError):
        ledger.reserve(3, user_id=1)
    assert (ledger.used(), ledger.used(user_id=1)) == (0, 0)
