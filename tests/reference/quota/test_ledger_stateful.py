"""Ours against a model, over random sequences of reserves, refunds, exhaustion and passing time.

Each step is checked against a plain-Python model of what the ledger should hold, per PT day:
nothing granted past a budget, granted + remaining = budget, refunds never create units and a
second refund is a no-op, the per-user cap holds, and days change at midnight PT (the clock starts
the evening before the fall-back day, so the 25-hour day is crossed in most runs).
"""

import uuid
from collections import Counter
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    MultipleResults,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)

from reference import kv
from reference.quota import AtomicLedger, QuotaExhausted, Reservation
from reference.quota.days import PACIFIC, ManualClock

USERS = st.none() | st.integers(1, 3)
LOS_ANGELES = ZoneInfo("America/Los_Angeles")


class LedgerMachine(RuleBasedStateMachine):
    reservations = Bundle("reservations")
    refunded = Bundle("refunded")

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(datetime(2025, 11, 1, 22, tzinfo=PACIFIC))
        #: Units charged per (day, scope), as the ledger should hold them.
        self.charged: Counter[tuple[str, str]] = Counter()
        self.exhausted: set[str] = set()

    @initialize(budget=st.integers(1, 30), user_cap=st.none() | st.integers(1, 12))
    def connect(self, budget: int, user_cap: int | None) -> None:
        self.budget, self.user_cap = budget, user_cap
        client = kv.connect(f"fakeredis://{uuid.uuid4().hex}")
        self.ledger = AtomicLedger(
            client, daily_quota=budget, user_quota=user_cap, clock=self.clock
        )

    @property
    def day(self) -> str:
        # Worked out apart from ``QuotaDay``, so a mistake there shows as a mismatch.
        return self.clock().astimezone(LOS_ANGELES).date().isoformat()

    def scopes(self, user_id: int | None) -> list[str]:
        return ["project"] if user_id is None else ["project", f"user:{user_id}"]

    def capped(self, scope: str) -> bool:
        return scope == "project" or self.user_cap is not None

    def left(self, scope: str) -> int:
        budget = self.budget if scope == "project" else self.user_cap
        assert budget is not None
        return budget - self.charged[self.day, scope]

    def expected_refusal(self, units: int, user_id: int | None) -> str | None:
        if self.day in self.exhausted:
            return "project"
        scopes = self.scopes(user_id)
        return next((s for s in scopes if self.capped(s) and self.left(s) < units), None)

    @rule(target=reservations, units=st.integers(1, 8), user_id=USERS)
    def reserve(self, units: int, user_id: int | None) -> MultipleResults[Reservation]:
        expected = self.expected_refusal(units, user_id)
        try:
            reservation = self.ledger.reserve(units, user_id=user_id)
        except QuotaExhausted as exc:
            assert (exc.scope, exc.needed) == (expected, units)
            return multiple()
        assert expected is None
        for scope in self.scopes(user_id):
            self.charged[self.day, scope] += units
        return multiple(reservation)

    @rule(target=refunded, reservation=consumes(reservations), extra=st.sampled_from([0, 1, 20]))
    def refund(self, reservation: Reservation, extra: int) -> Reservation:
        """Refund, maybe with the units edited upwards: only what was charged comes back."""
        self.ledger.refund(replace(reservation, units=reservation.units + extra))
        for scope in self.scopes(reservation.user_id):
            self.charged[reservation.day, scope] -= reservation.units
        return reservation

    @rule(reservation=refunded)
    def refund_again(self, reservation: Reservation) -> None:
        self.ledger.refund(reservation)

    @rule(units=st.integers(1, 8), user_id=USERS)
    def refund_never_reserved(self, units: int, user_id: int | None) -> None:
        self.ledger.refund(Reservation(units=units, user_id=user_id, day=self.day))

    @rule()
    def mark_exhausted(self) -> None:
        self.ledger.mark_exhausted()
        self.exhausted.add(self.day)

    @rule(minutes=st.integers(1, 4 * 60))
    def wait(self, minutes: int) -> None:
        self.clock.advance(timedelta(minutes=minutes))

    @invariant()
    def counts_match_the_model(self) -> None:
        assert self.ledger.used() == self.charged[self.day, "project"]
        for user_id in (1, 2, 3):
            assert self.ledger.used(user_id=user_id) == self.charged[self.day, f"user:{user_id}"]

    @invariant()
    def nothing_granted_past_a_budget(self) -> None:
        for (_, scope), units in self.charged.items():
            assert units >= 0
            limit = self.budget if scope == "project" else self.user_cap
            assert limit is None or units <= limit

    @invariant()
    def granted_plus_remaining_is_the_budget(self) -> None:
        if self.day in self.exhausted:
            assert self.ledger.remaining() == 0
            return
        assert self.ledger.used() + self.ledger.remaining() == self.budget
        for user_id in (1, 2, 3):
            expected = min(self.left(s) for s in self.scopes(user_id) if self.capped(s))
            assert self.ledger.remaining(user_id=user_id) == expected


LedgerMachine.TestCase.settings = settings(max_examples=60, stateful_step_count=40, deadline=None)
test_ledger_matches_its_model = LedgerMachine.TestCase
