"""Deterministic schedules: the report's patterns lose units by exact counts, ours is exact.

Every count here is the arithmetic of the schedule, the same on fakeredis and on real Redis: e.g.
"hold-one" holds A after its read while B to I charge 8 units one by one, then A writes 0 + 1
over them (9 granted, 1 recorded, 8 lost, 1 past the budget of 8).
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import redis

from reference.quota import AtomicLedger, KeyValueLedger
from reference.quota.ledger import Refusal, Reservation, Scope
from reference.settings import Settings
from ytscale.instruments.interleave import (
    SCHEDULES,
    Controller,
    ScheduleError,
    interleave,
    round_trips,
    run_schedule,
)
from ytscale.variants.quota import VARIANTS, ReportBeforeLedger

#: (schedule, variant) → (granted, recorded, lost, over_granted, phantom).
EXPECTED = {
    ("lost-update", "before"): (2, 1, 1, 1, 0),
    ("lost-update", "after"): (2, 1, 1, 1, 0),
    ("lost-update", "ours"): (1, 1, 0, 0, 0),
    ("hold-one", "before"): (9, 1, 8, 1, 0),
    ("hold-one", "after"): (9, 1, 8, 1, 0),
    ("hold-one", "ours"): (8, 8, 0, 0, 0),
    ("all-missing", "before"): (16, 1, 15, 8, 0),
    ("all-missing", "after"): (16, 1, 15, 8, 0),
    ("all-missing", "ours"): (8, 8, 0, 0, 0),
}


def test_every_schedule_and_variant_has_its_expected_counts() -> None:
    assert set(EXPECTED) == {(s, v) for s in SCHEDULES for v in VARIANTS}


@pytest.mark.parametrize(("name", "variant"), sorted(EXPECTED), ids="-".join)
def test_a_schedule_gives_its_exact_counts_and_runs_in_its_order(
    name: str, variant: str, redis_url: str, key_prefix: str
) -> None:
    run = run_schedule(Settings(redis_url=redis_url), variant, name, prefix=key_prefix)
    r = run.result
    assert (r.granted, r.recorded, r.lost, r.over_granted, r.phantom) == EXPECTED[name, variant]
    assert (r.attempts, r.budget) == (SCHEDULES[name].workers, SCHEDULES[name].budget)
    assert [step.worker for step in run.order] == list(run.steps)


@pytest.mark.parametrize(
    ("variant", "commands"),
    [
        ("before", ["GET", "GET", "SET", "SET"]),
        ("after", ["EXISTS", "EXISTS", "SET", "SET"]),
        ("ours", ["EVALSHA", "EVALSHA"]),
    ],
)
def test_the_lost_update_reads_both_then_writes_both(
    variant: str, commands: list[str], redis_url: str, key_prefix: str
) -> None:
    run = run_schedule(Settings(redis_url=redis_url), variant, "lost-update", prefix=key_prefix)
    workers = ["A", "B", "A", "B"] if len(commands) == 4 else ["A", "B"]
    assert [(s.worker, s.command) for s in run.order] == list(zip(workers, commands, strict=True))


def test_hold_one_keeps_a_between_its_round_trips(redis_url: str, key_prefix: str) -> None:
    run = run_schedule(Settings(redis_url=redis_url), "after", "hold-one", prefix=key_prefix)
    assert run.steps == ("A", *"BBCCDDEEFFGGHHII", "A")
    assert [str(s) for s in run.order[:3]] == ["A:EXISTS", "B:EXISTS", "B:SET"]
    assert str(run.order[-1]) == "A:SET"


@pytest.mark.parametrize(("variant", "trips"), [("before", 2), ("after", 2), ("ours", 1)])
def test_a_reservation_sends_one_command_only_in_ours(
    variant: str, trips: int, client: redis.Redis, key_prefix: str
) -> None:
    assert round_trips(VARIANTS[variant](client, prefix=key_prefix)) == trips


def test_a_schedule_naming_a_worker_with_no_command_left_fails(
    client: redis.Redis, key_prefix: str
) -> None:
    with pytest.raises(ScheduleError, match=r"step 3 of 4 \(A\): worker A has no command left"):
        interleave(AtomicLedger(client, prefix=key_prefix), ["A", "B", "A", "B"])


def test_a_schedule_that_ends_with_commands_unsent_fails(
    client: redis.Redis, key_prefix: str
) -> None:
    ledger = ReportBeforeLedger(client, prefix=key_prefix)
    with pytest.raises(ScheduleError, match=r"commands still to send: B \(SET\)"):
        interleave(ledger, ["A", "B", "A"])


class SecondComerLedger(KeyValueLedger):
    """Charges a missing counter, and fails on one already charged as a dropped connection would."""

    def _charge(
        self, reservation: Reservation, scopes: Sequence[Scope], ttl: int
    ) -> Refusal | None:
        if self.client.get(scopes[0].key) is not None:
            raise ConnectionError("connection lost")
        self.client.set(scopes[0].key, reservation.units, ex=ttl)
        return None


def test_a_worker_error_is_reported_not_waited_on(client: redis.Redis, key_prefix: str) -> None:
    ledger = SecondComerLedger(client, prefix=key_prefix)
    with pytest.raises(ScheduleError, match=r"step 4 .* worker B failed: ConnectionError"):
        interleave(ledger, ["A", "A", "B", "B"])


def test_a_step_whose_worker_never_comes_fails_naming_the_step() -> None:
    with pytest.raises(ScheduleError, match=r"step 1 of 1 \(A\): worker A reached no command"):
        Controller(timeout=0.01).run(["A"], {"A"})


def test_a_worker_the_schedule_never_names_gives_up() -> None:
    controller = Controller(timeout=0.01)
    with (
        pytest.raises(ScheduleError, match="worker A waited to send GET"),
        controller.turn("A", "GET"),
    ):
        pass
    assert controller.order == []


def test_an_unknown_schedule_is_refused(key_prefix: str) -> None:
    with pytest.raises(ValueError, match="unknown schedule 'both-win'"):
        run_schedule(Settings(), "after", "both-win", prefix=key_prefix)
