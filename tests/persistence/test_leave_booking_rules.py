"""Booking leave: working days on the employee's pattern and region, overlaps and balances
refused with a reason, races, cancellation, and a line manager's decisions."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.backoffice.record_tables import LeaveBooking, LeaveDecision
from bot.backoffice.types import BookingStatus, LeaveType
from bot.errors import AccessRefused
from bot.leave import my_leave_balances
from bot.leave.booking import (
    book_leave,
    cancel_leave,
    cancellable,
    my_leave_requests,
    quote_leave,
)
from bot.leave.team import decide_leave, pending_approvals, team_member_leave
from bot.records.dates import DateRange
from bot.records.errors import InvalidRequest, LeaveRefusal, LeaveRefused, NotFound
from bot.records.sickness import report_sickness
from bot.storage.database import Database
from bot.storage.models import AuditOutcome
from tests.records_support import (
    TODAY,
    audit_since,
    employee_id,
    last_audit_id,
    records_database,
    widget,
)

ALICE, BEN, CHLOE = widget("alice.hughes"), widget("ben.okafor"), widget("chloe.singh")
DANIEL, FATIMA = widget("daniel.evans"), widget("fatima.rahman")
ANNUAL = LeaveType.ANNUAL
d = dt.date


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with records_database(request.param, tmp_path, employees=12) as database:
        yield database


def remaining(db: Database, who) -> Decimal:  # type: ignore[no-untyped-def]
    return next(
        b.remaining for b in my_leave_balances(db, who, TODAY).balances if b.leave_type is ANNUAL
    )


def refusal(call) -> LeaveRefused:  # type: ignore[no-untyped-def]
    with pytest.raises(LeaveRefused) as caught:
        call()
    return caught.value


def test_working_days_follow_the_pattern_and_the_region(db: Database) -> None:
    alice = quote_leave(db, ALICE, ANNUAL, DateRange(d(2027, 3, 3), d(2027, 3, 7)), TODAY)
    assert (alice.days, alice.remaining_before, alice.remaining_after) == (3, 18, 15)
    assert alice.manager_name == "Chloe Singh"
    ben = quote_leave(db, BEN, ANNUAL, DateRange(d(2027, 3, 1), d(2027, 3, 5)), TODAY)
    assert ben.days == Decimal("4.5")  # Friday is a half day for Ben
    fatima = quote_leave(db, FATIMA, ANNUAL, DateRange(d(2027, 3, 1), d(2027, 3, 7)), TODAY)
    assert fatima.days == 3  # Monday to Wednesday only
    easter = quote_leave(db, ALICE, ANNUAL, DateRange(d(2027, 3, 22), d(2027, 3, 26)), TODAY)
    assert easter.days == 4 and easter.bank_holidays == (d(2027, 3, 26),)


@pytest.mark.parametrize(
    "who, day",
    [
        (CHLOE, d(2026, 11, 30)),  # St Andrew's Day, Scotland
        (DANIEL, d(2027, 3, 17)),  # St Patrick's Day, Northern Ireland
        (ALICE, d(2026, 12, 5)),  # a Saturday
        (FATIMA, d(2026, 12, 3)),  # a Thursday: Fatima works Monday to Wednesday
    ],
)
def test_a_day_with_nothing_to_book_is_refused(db: Database, who, day: dt.date) -> None:  # type: ignore[no-untyped-def]
    error = refusal(lambda: quote_leave(db, who, ANNUAL, DateRange(day, day), TODAY))
    assert error.reason is LeaveRefusal.NO_WORKING_DAYS


def test_a_half_day(db: Database) -> None:
    quote = quote_leave(
        db, ALICE, ANNUAL, DateRange(d(2026, 12, 2), d(2026, 12, 2), "afternoon"), TODAY
    )
    assert quote.days == Decimal("0.5") and quote.half_day == "afternoon"


def test_overlap_with_a_booking_is_refused_with_its_dates(db: Database) -> None:
    # Alice's approved booking starts 14 days after TODAY and lasts four days (bot/demo/description.py)
    error = refusal(
        lambda: quote_leave(db, ALICE, ANNUAL, DateRange(d(2026, 12, 11), d(2026, 12, 11)), TODAY)
    )
    assert error.reason is LeaveRefusal.OVERLAP
    assert (error.facts["start"], error.facts["end"], error.facts["status"]) == (
        d(2026, 12, 10),
        d(2026, 12, 13),
        BookingStatus.APPROVED,
    )


def test_more_than_the_balance_is_refused(db: Database) -> None:
    error = refusal(
        lambda: quote_leave(db, BEN, ANNUAL, DateRange(d(2027, 2, 1), d(2027, 2, 26)), TODAY)
    )
    assert error.reason is LeaveRefusal.INSUFFICIENT_BALANCE
    assert (error.facts["requested"], error.facts["remaining"]) == (Decimal("18"), Decimal(15))


@pytest.mark.parametrize(
    "dates, reason",
    [
        (DateRange(d(2026, 11, 25), d(2026, 11, 25)), LeaveRefusal.IN_THE_PAST),
        (DateRange(d(2027, 3, 29), d(2027, 4, 2)), LeaveRefusal.SPANS_LEAVE_YEARS),
        (DateRange(d(2027, 3, 5), d(2027, 3, 1)), LeaveRefusal.END_BEFORE_START),
        (DateRange(d(2028, 9, 1), d(2028, 9, 1)), LeaveRefusal.TOO_FAR_AHEAD),
        (DateRange(d(2027, 4, 6), d(2027, 4, 6)), LeaveRefusal.NO_ENTITLEMENT),  # next leave year
    ],
)
def test_other_refusals(db: Database, dates: DateRange, reason: LeaveRefusal) -> None:
    assert refusal(lambda: quote_leave(db, ALICE, ANNUAL, dates, TODAY)).reason is reason


def test_refusals_are_audited(db: Database) -> None:
    before = last_audit_id(db)
    refusal(lambda: quote_leave(db, BEN, ANNUAL, DateRange(d(2027, 2, 1), d(2027, 2, 26)), TODAY))
    [event] = audit_since(db, before)
    assert event.reason == "request refused: insufficient_balance"
    assert event.subject_employee_id == employee_id(db, "E1002")


def test_booking_records_a_pending_request_that_uses_the_balance(db: Database) -> None:
    booked = book_leave(db, ALICE, ANNUAL, DateRange(d(2027, 3, 3), d(2027, 3, 7)), TODAY)
    assert booked.quote.days == 3
    with db.unit_of_work() as session:
        row = session.get(LeaveBooking, int(booked.reference))
        assert (row.status, row.start_date, row.days) == (BookingStatus.PENDING, d(2027, 3, 3), 3)  # type: ignore[union-attr]
    assert remaining(db, ALICE) == 15
    again = refusal(
        lambda: book_leave(db, ALICE, ANNUAL, DateRange(d(2027, 3, 5), d(2027, 3, 5)), TODAY)
    )
    assert again.reason is LeaveRefusal.OVERLAP
    statuses = [(b.start_date, b.status) for b in my_leave_requests(db, ALICE, TODAY).bookings]
    assert (d(2027, 3, 3), BookingStatus.PENDING) in statuses


def test_two_racing_requests_cannot_spend_the_same_days(db: Database) -> None:
    """Ben has 15 days; two 10-day requests race each other: exactly one wins."""
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def attempt(dates: DateRange) -> None:
        barrier.wait()
        try:
            outcomes.append(book_leave(db, BEN, ANNUAL, dates, TODAY))
        except LeaveRefused as error:
            outcomes.append(error.reason)

    threads = [
        threading.Thread(target=attempt, args=(r,))
        for r in (
            DateRange(d(2027, 1, 11), d(2027, 1, 22)),
            DateRange(d(2027, 2, 8), d(2027, 2, 19)),
        )
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(type(o).__name__ for o in outcomes) == ["BookedLeave", "LeaveRefusal"]
    assert LeaveRefusal.INSUFFICIENT_BALANCE in outcomes
    assert remaining(db, BEN) == 15 - 9  # 2 x (4 full days + Friday halves) = 9 days for the winner


def test_cancelling_gives_the_days_back_and_only_for_your_own_bookings(db: Database) -> None:
    [future] = cancellable(db, ALICE, TODAY, DateRange(d(2026, 12, 11), d(2026, 12, 11)))
    assert (future.start_date, future.status) == (d(2026, 12, 10), BookingStatus.APPROVED)
    before = remaining(db, ALICE)
    cancelled = cancel_leave(db, ALICE, future.reference, TODAY)
    assert remaining(db, ALICE) == before + cancelled.days
    with pytest.raises(NotFound):
        cancel_leave(db, ALICE, future.reference, TODAY)  # already cancelled
    [bens] = [b for b in my_leave_requests(db, BEN, TODAY - dt.timedelta(days=400)).bookings]
    audit_before = last_audit_id(db)
    with pytest.raises(NotFound):
        cancel_leave(db, ALICE, bens.reference, TODAY)  # Ben's booking: looks like nothing at all
    [event] = audit_since(db, audit_before)
    assert event.outcome is AuditOutcome.REFUSED and event.action == "cancel"
    assert my_leave_requests(db, BEN, TODAY - dt.timedelta(days=400)).bookings == [bens]


def test_the_line_manager_approves_and_only_the_line_manager(db: Database) -> None:
    booked = book_leave(db, ALICE, ANNUAL, DateRange(d(2027, 3, 3), d(2027, 3, 5)), TODAY)
    pending = pending_approvals(db, CHLOE)
    assert booked.reference in [p.reference for p in pending]
    assert pending_approvals(db, DANIEL) == [] and pending_approvals(db, ALICE) == []
    before = last_audit_id(db)
    with pytest.raises(AccessRefused):
        decide_leave(db, DANIEL, booked.reference, True, TODAY)
    with pytest.raises(AccessRefused):
        decide_leave(db, ALICE, booked.reference, True, TODAY)  # not her own approver
    assert [e.outcome for e in audit_since(db, before)] == [AuditOutcome.REFUSED] * 2
    decided = decide_leave(db, CHLOE, booked.reference, True, TODAY)
    assert decided.employee_name == "Alice Hughes"
    with db.unit_of_work() as session:
        assert session.get(LeaveBooking, int(booked.reference)).status is BookingStatus.APPROVED  # type: ignore[union-attr]
        assert session.scalar(
            select(LeaveDecision.approved).where(LeaveDecision.booking_id == int(booked.reference))
        )
    with pytest.raises(AccessRefused):
        decide_leave(db, CHLOE, booked.reference, False, TODAY)  # already decided


def test_a_manager_sees_direct_reports_leave_and_nobody_elses(db: Database) -> None:
    name, balances, _ = team_member_leave(db, CHLOE, "Ben", TODAY)
    assert name == "Ben Okafor" and [b.remaining for b in balances] == [Decimal(15)]
    assert team_member_leave(db, CHLOE, "E1001", TODAY)[0] == "Alice Hughes"
    before = last_audit_id(db)
    for attempt in [
        (CHLOE, "Fatima Rahman"),
        (CHLOE, "E1005"),
        (ALICE, "Ben Okafor"),
        (DANIEL, "Alice"),
    ]:
        with pytest.raises(AccessRefused):
            team_member_leave(db, attempt[0], attempt[1], TODAY)
    events = audit_since(db, before)
    assert [e.outcome for e in events] == [AuditOutcome.REFUSED] * 4
    assert events[0].subject_employee_id == employee_id(db, "E1005")
    assert all(e.reason == "not a direct report" for e in events)


def test_reporting_sickness(db: Database) -> None:
    first = report_sickness(db, ALICE, TODAY, TODAY)
    assert not first.already_open and first.manager_name == "Chloe Singh"
    again = report_sickness(db, ALICE, TODAY, TODAY)
    assert again.already_open and again.reference == first.reference
    with pytest.raises(InvalidRequest):
        report_sickness(db, BEN, TODAY - dt.timedelta(days=10), TODAY)
    with pytest.raises(InvalidRequest):
        report_sickness(db, BEN, TODAY + dt.timedelta(days=5), TODAY)
