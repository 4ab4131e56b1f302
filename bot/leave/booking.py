"""Booking, cancelling and following up leave.

Booking is two steps, as in the chat: `quote_leave` works out the working days (the
employee's pattern, their region's bank holidays) and checks overlaps and the balance without
writing; `book_leave` hands the absence system the same checks as a guard, which it runs on a
fresh position where it serialises writes (the SQL adapter: under a lock on the employee), so
two requests racing each other cannot both spend the same days. Each booking carries the chat
turn's key, so a retried turn books once (bot/backoffice/writes.py).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from bot.audit import record_access
from bot.backoffice.ports import BackOffice
from bot.backoffice.registry import backoffice
from bot.backoffice.types import (
    ACTIVE_BOOKINGS,
    Booking,
    LeavePosition,
    LeaveType,
    NewBooking,
)
from bot.backoffice.writes import one_off_key, settle, unknown_writes, write_once
from bot.bank_holidays import load as load_bank_holidays
from bot.identity import EmployeeRef, Principal
from bot.records.access import caller_for, read_own
from bot.records.dates import DateRange
from bot.records.errors import LeaveRefusal, LeaveRefused, NotFound
from bot.records.notifications import enqueue_leave_request
from bot.storage.database import Database
from bot.storage.models import AuditOutcome
from bot.working_days import FULL_TIME, count_leave_days

from .balances import balance_on

MAX_DAYS_AHEAD = 548  # about eighteen months
ACTIVE = ACTIVE_BOOKINGS


@dataclass(frozen=True)
class LeaveQuote:
    leave_type: LeaveType
    start: dt.date
    end: dt.date
    half_day: str | None
    days: Decimal
    bank_holidays: tuple[dt.date, ...]
    remaining_before: Decimal
    remaining_after: Decimal
    year_end: dt.date
    manager_name: str | None


@dataclass(frozen=True)
class BookedLeave:
    reference: str
    quote: LeaveQuote
    notify_conversation: str | None = None  # the line manager's, to push the request to


@dataclass(frozen=True)
class _Facts:
    """What a quote needs besides the leave position (read once, outside any lock)."""

    days: Decimal
    bank_holidays: tuple[dt.date, ...]
    manager: str | None


def _facts(office: BackOffice, me: EmployeeRef, dates: DateRange, today: dt.date) -> _Facts:
    if dates.end < dates.start:
        raise LeaveRefused(LeaveRefusal.END_BEFORE_START, start=dates.start, end=dates.end)
    if dates.start < today:
        raise LeaveRefused(LeaveRefusal.IN_THE_PAST, start=dates.start)
    if (dates.start - today).days > MAX_DAYS_AHEAD or (dates.end - dates.start).days > 60:
        raise LeaveRefused(LeaveRefusal.TOO_FAR_AHEAD, start=dates.start, end=dates.end)
    employment = office.people.employment(me.id)
    region = employment.region if employment else "england-and-wales"
    pattern = office.people.working_pattern(me.id, dates.start)
    holidays = load_bank_holidays().dates(region, dates.start, dates.end)
    count = count_leave_days(
        pattern.fractions if pattern else FULL_TIME,
        dates.start,
        dates.end,
        holidays,
        half_day=bool(dates.half_day) and dates.single_day,
    )
    if count.days == 0:
        raise LeaveRefused(
            LeaveRefusal.NO_WORKING_DAYS,
            start=dates.start,
            end=dates.end,
            bank_holidays=tuple(count.bank_holidays),
        )
    manager = None
    if employment and employment.line_manager_id:
        boss = office.people.employment(employment.line_manager_id)
        manager = boss.full_name if boss else None
    return _Facts(count.days, tuple(count.bank_holidays), manager)


def _check(
    position: LeavePosition,
    facts: _Facts,
    leave_type: LeaveType,
    dates: DateRange,
    today: dt.date,
) -> LeaveQuote:
    """The balance and overlap rules on a position; LeaveRefused with the facts if broken."""
    balance = balance_on(position, leave_type, dates.start, today)
    if balance is None:
        raise LeaveRefused(LeaveRefusal.NO_ENTITLEMENT, leave_type=leave_type)
    if dates.end > balance.year_end:
        raise LeaveRefused(LeaveRefusal.SPANS_LEAVE_YEARS, year_end=balance.year_end)
    clashes = [
        b
        for b in position.bookings
        if b.status in ACTIVE and b.start_date <= dates.end and b.end_date >= dates.start
    ]
    if clashes:
        clash = clashes[0]
        raise LeaveRefused(
            LeaveRefusal.OVERLAP,
            start=clash.start_date,
            end=clash.end_date,
            status=clash.status,
            leave_type=clash.leave_type,
        )
    if facts.days > balance.remaining:
        raise LeaveRefused(
            LeaveRefusal.INSUFFICIENT_BALANCE,
            requested=facts.days,
            remaining=balance.remaining,
            leave_type=leave_type,
        )
    return LeaveQuote(
        leave_type,
        dates.start,
        dates.end,
        dates.half_day,
        facts.days,
        facts.bank_holidays,
        balance.remaining,
        balance.remaining - facts.days,
        balance.year_end,
        facts.manager,
    )


def _audited_refusal(
    db: Database, principal: Principal, me: EmployeeRef, action: str, error: LeaveRefused
) -> None:
    with db.unit_of_work() as session:
        record_access(
            session,
            principal=principal,
            actor=me,
            subject_employee_id=me.id,
            record_type="leave_booking",
            action=action,
            outcome=AuditOutcome.ALLOWED,
            reason=f"request refused: {error.reason.value}",
        )


def quote_leave(
    db: Database,
    principal: Principal,
    leave_type: LeaveType,
    dates: DateRange,
    today: dt.date,
    *,
    about: Iterable[str] = (),
) -> LeaveQuote:
    """Working days and the balance after, or LeaveRefused with the reason. Writes nothing."""
    me = caller_for(db, principal, "leave_booking", about)
    office = backoffice(db)

    def read(me_: EmployeeRef) -> LeaveQuote:
        facts = _facts(office, me_, dates, today)
        return _check(office.absence.leave_position(me_.id), facts, leave_type, dates, today)

    try:
        return read_own(db, principal, "leave_booking", read, action="quote")
    except LeaveRefused as error:
        _audited_refusal(db, principal, me, "quote", error)
        raise


def book_leave(
    db: Database,
    principal: Principal,
    leave_type: LeaveType,
    dates: DateRange,
    today: dt.date,
    client_reference: str | None = None,
) -> BookedLeave:
    """Record a pending booking for the line manager, after checking everything again.

    `client_reference` is the chat turn's key: the same turn twice books once."""
    me = caller_for(db, principal, "leave_booking")
    client_reference = client_reference or one_off_key()
    office = backoffice(db)
    quotes: list[LeaveQuote] = []
    try:
        facts = _facts(office, me, dates, today)

        def guard(position: LeavePosition) -> None:
            quotes.append(_check(position, facts, leave_type, dates, today))

        def follow_up(session: Session, booking: Booking, created: bool) -> str | None:
            conversation = enqueue_leave_request(session, me.id, booking.reference)
            record_access(
                session,
                principal=principal,
                actor=me,
                subject_employee_id=me.id,
                record_type="leave_booking",
                action="create",
                outcome=AuditOutcome.ALLOWED,
                reason=None if created else "replayed: the turn had already booked it",
            )
            return conversation

        new = NewBooking(leave_type, dates.start, dates.end, facts.days, client_reference)
        booking, conversation = write_once(
            db,
            key=client_reference,
            employee_id=me.id,
            kind="leave_booking",
            system=office.absence.system,
            find=lambda: office.absence.find_booking(me.id, client_reference),
            write=lambda: office.absence.book(me.id, new, guard),
            reference_of=lambda b: b.reference,
            follow_up=follow_up,
        )
    except LeaveRefused as error:
        _audited_refusal(db, principal, me, "create", error)
        raise
    quote = quotes[-1] if quotes else LeaveQuote(
        booking.leave_type, booking.start_date, booking.end_date, dates.half_day, booking.days,
        facts.bank_holidays, booking.days, Decimal(0), dates.end, facts.manager,
    )
    return BookedLeave(booking.reference, quote, conversation)


def reconcile_bookings(db: Database, me: EmployeeRef) -> None:
    """Settle this employee's bookings whose outcome was unknown: found by their client
    reference in the absence system (the manager is then told), or proved absent."""
    office = backoffice(db)
    for key in unknown_writes(db, me.id, "leave_booking"):
        found = office.absence.find_booking(me.id, key)
        settle(
            db,
            key,
            found.reference if found else None,
            (lambda s, ref=found.reference: enqueue_leave_request(s, me.id, ref)) if found else None,
        )


@dataclass(frozen=True)
class LeaveRequests:
    given_name: str
    bookings: list[Booking]  # the caller's bookings that matter now, soonest first


def my_leave_requests(
    db: Database,
    principal: Principal,
    today: dt.date,
    around: DateRange | None = None,
    *,
    about: Iterable[str] = (),
) -> LeaveRequests:
    """Bookings around given dates, or this leave year's bookings that have not ended."""

    def read(me: EmployeeRef) -> LeaveRequests:
        reconcile_bookings(db, me)
        bookings = backoffice(db).absence.leave_position(me.id).bookings
        if around is not None:
            chosen = [
                b for b in bookings if b.start_date <= around.end and b.end_date >= around.start
            ]
        else:
            chosen = [b for b in bookings if b.end_date >= today - dt.timedelta(days=14)]
        return LeaveRequests(me.given_name, sorted(chosen, key=lambda b: b.start_date))

    return read_own(db, principal, "leave_booking", read, about=about)


def cancellable(
    db: Database, principal: Principal, today: dt.date, around: DateRange | None
) -> list[Booking]:
    """The caller's bookings that could be cancelled (pending or approved, not yet started)."""

    def read(me: EmployeeRef) -> list[Booking]:
        found = [
            b
            for b in backoffice(db).absence.leave_position(me.id).bookings
            if b.status in ACTIVE and b.start_date > today
        ]
        if around is not None:
            found = [b for b in found if b.start_date <= around.end and b.end_date >= around.start]
        return sorted(found, key=lambda b: b.start_date)

    return read_own(db, principal, "leave_booking", read)


def cancel_leave(
    db: Database,
    principal: Principal,
    reference: str,
    today: dt.date,
    client_reference: str | None = None,
) -> Booking:
    """Cancel one of the caller's own future bookings. Another person's booking is NotFound.

    The cancellation is conditional in the system of record (only a pending or approved
    booking that has not started), so it cannot undo a decision that raced it; the same turn
    twice cancels once."""
    me = caller_for(db, principal, "leave_booking")
    client_reference = client_reference or one_off_key()
    office = backoffice(db)

    def find() -> Booking | None:
        booking = office.absence.booking(me.id, reference)
        return booking if booking and booking.status.value == "cancelled" else None

    def write() -> Booking:
        cancelled = office.absence.cancel(me.id, reference, today)
        if cancelled is None:
            raise NotFound("leave_booking")
        return cancelled

    def follow_up(session: Session, booking: Booking, created: bool) -> None:
        record_access(session, principal=principal, actor=me, subject_employee_id=me.id,
                      record_type="leave_booking", action="cancel",
                      outcome=AuditOutcome.ALLOWED)

    try:
        booking, _ = write_once(
            db, key=client_reference, employee_id=me.id, kind="leave_cancel",
            system=office.absence.system, find=find, write=write,
            reference_of=lambda b: b.reference, follow_up=follow_up,
        )
    except NotFound:
        with db.unit_of_work() as session:
            record_access(session, principal=principal, actor=me, subject_employee_id=me.id,
                          record_type="leave_booking", action="cancel",
                          outcome=AuditOutcome.REFUSED,
                          reason="not the caller's cancellable booking")
        raise
    return booking
