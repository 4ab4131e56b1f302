"""Booking, cancelling and following up leave; a line manager's approvals and team view.

Booking is two steps, as in the chat: `quote_leave` works out the working days (the
employee's pattern, their region's bank holidays) and checks overlaps and the balance without
writing; `book_leave` re-checks all of it inside a write transaction that locks the employee,
so two requests racing each other cannot both spend the same days, and then records a pending
booking for the line manager.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.audit import record_access
from bot.bank_holidays import load as load_bank_holidays
from bot.identity import EmployeeRef, Principal
from bot.leave import LeaveBalance, summarise
from bot.storage.database import Database
from bot.storage.models import (
    AuditOutcome,
    BookingStatus,
    Employee,
    LeaveBooking,
    LeaveEntitlement,
    LeaveType,
)
from bot.tickets.references import begin_write_transaction
from bot.working_days import FULL_TIME, count_leave_days

from .access import caller_for, direct_reports, read_own, read_report
from .dates import DateRange
from .errors import AccessRefused, LeaveRefusal, LeaveRefused, NotFound
from .models import LeaveDecision
from .notifications import enqueue_leave_decision, enqueue_leave_request
from .port import BackOffice, Booking, open_backoffice

MAX_DAYS_AHEAD = 548  # about eighteen months
ACTIVE = (BookingStatus.PENDING, BookingStatus.APPROVED)


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
    booking_id: int
    quote: LeaveQuote
    notify_conversation: str | None = None  # the line manager's, to push the request to


def _balance(
    office: BackOffice,
    employee_id: int,
    leave_type: LeaveType,
    day: dt.date,
    today: dt.date,
    bookings: list[Booking],
) -> LeaveBalance | None:
    for entitlement in office.entitlements(employee_id):
        if (
            entitlement.leave_type is leave_type
            and entitlement.year_start <= day <= entitlement.year_end
        ):
            row = LeaveEntitlement(
                leave_type=leave_type,
                year_start=entitlement.year_start,
                year_end=entitlement.year_end,
                entitlement_days=entitlement.days,
                carried_over_days=entitlement.carried_over,
            )
            return summarise(row, bookings, today)  # type: ignore[arg-type]
    return None


def _quote(
    session: Session, me: EmployeeRef, leave_type: LeaveType, dates: DateRange, today: dt.date
) -> LeaveQuote:
    office = open_backoffice(session)
    if dates.end < dates.start:
        raise LeaveRefused(LeaveRefusal.END_BEFORE_START, start=dates.start, end=dates.end)
    if dates.start < today:
        raise LeaveRefused(LeaveRefusal.IN_THE_PAST, start=dates.start)
    if (dates.start - today).days > MAX_DAYS_AHEAD or (dates.end - dates.start).days > 60:
        raise LeaveRefused(LeaveRefusal.TOO_FAR_AHEAD, start=dates.start, end=dates.end)
    employment = office.employment(me.id)
    region = employment.region if employment else "england-and-wales"
    pattern = office.working_pattern(me.id, dates.start)
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
    bookings = office.bookings(me.id)
    balance = _balance(office, me.id, leave_type, dates.start, today, bookings)
    if balance is None:
        raise LeaveRefused(LeaveRefusal.NO_ENTITLEMENT, leave_type=leave_type)
    if dates.end > balance.year_end:
        raise LeaveRefused(LeaveRefusal.SPANS_LEAVE_YEARS, year_end=balance.year_end)
    clashes = [
        b
        for b in bookings
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
    if count.days > balance.remaining:
        raise LeaveRefused(
            LeaveRefusal.INSUFFICIENT_BALANCE,
            requested=count.days,
            remaining=balance.remaining,
            leave_type=leave_type,
        )
    manager = None
    if employment and employment.line_manager_id:
        boss = office.employment(employment.line_manager_id)
        manager = f"{boss.given_name} {boss.family_name}" if boss else None
    return LeaveQuote(
        leave_type,
        dates.start,
        dates.end,
        dates.half_day,
        count.days,
        tuple(count.bank_holidays),
        balance.remaining,
        balance.remaining - count.days,
        balance.year_end,
        manager,
    )


def _audited_refusal(
    db: Database,
    principal: Principal,
    me: EmployeeRef,
    record_type: str,
    action: str,
    error: LeaveRefused,
) -> None:
    with db.unit_of_work() as session:
        record_access(
            session,
            principal=principal,
            actor=me,
            subject_employee_id=me.id,
            record_type=record_type,
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
    try:
        return read_own(
            db,
            principal,
            "leave_booking",
            lambda session, me_: _quote(session, me_, leave_type, dates, today),
            action="quote",
        )
    except LeaveRefused as error:
        _audited_refusal(db, principal, me, "leave_booking", "quote", error)
        raise


def book_leave(
    db: Database, principal: Principal, leave_type: LeaveType, dates: DateRange, today: dt.date
) -> BookedLeave:
    """Record a pending booking for the line manager, after checking everything again."""
    me = caller_for(db, principal, "leave_booking")
    try:
        with db.unit_of_work() as session:
            begin_write_transaction(session)
            office = open_backoffice(session)
            office.lock_employee(me.id)
            quote = _quote(session, me, leave_type, dates, today)
            booking_id = office.add_booking(me.id, leave_type, quote.start, quote.end, quote.days)
            manager_conversation = enqueue_leave_request(session, me.id, booking_id)
            record_access(
                session,
                principal=principal,
                actor=me,
                subject_employee_id=me.id,
                record_type="leave_booking",
                action="create",
                outcome=AuditOutcome.ALLOWED,
            )
    except LeaveRefused as error:
        _audited_refusal(db, principal, me, "leave_booking", "create", error)
        raise
    return BookedLeave(booking_id, quote, manager_conversation)


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

    def read(session: Session, me: EmployeeRef) -> LeaveRequests:
        bookings = open_backoffice(session).bookings(me.id)
        if around is not None:
            chosen = [
                b for b in bookings if b.start_date <= around.end and b.end_date >= around.start
            ]
        else:
            chosen = [b for b in bookings if b.end_date >= today - dt.timedelta(days=14)]
        return LeaveRequests(me.given_name, chosen)

    return read_own(db, principal, "leave_booking", read, about=about)


def team_member_leave(
    db: Database, principal: Principal, mention: str, today: dt.date
) -> tuple[str, list[LeaveBalance], list[Booking]]:
    """A line manager's view of one direct report's balances and bookings (audited)."""

    def read(
        session: Session, manager: EmployeeRef, subject: int
    ) -> tuple[str, list[LeaveBalance], list[Booking]]:
        office = open_backoffice(session)
        person = office.employment(subject)
        bookings = office.bookings(subject)
        balances = []
        for entitlement in office.entitlements(subject):
            if entitlement.year_start <= today <= entitlement.year_end:
                b = _balance(office, subject, entitlement.leave_type, today, today, bookings)
                if b:
                    balances.append(b)
        upcoming = [b for b in bookings if b.end_date >= today and b.status in ACTIVE]
        return (f"{person.given_name} {person.family_name}" if person else "", balances, upcoming)

    return read_report(db, principal, "leave_balance", mention, read)


def cancellable(
    db: Database, principal: Principal, today: dt.date, around: DateRange | None
) -> list[Booking]:
    """The caller's bookings that could be cancelled (pending or approved, not yet started)."""

    def read(session: Session, me: EmployeeRef) -> list[Booking]:
        found = [
            b
            for b in open_backoffice(session).bookings(me.id)
            if b.status in ACTIVE and b.start_date > today
        ]
        if around is not None:
            found = [b for b in found if b.start_date <= around.end and b.end_date >= around.start]
        return found

    return read_own(db, principal, "leave_booking", read)


def cancel_leave(db: Database, principal: Principal, booking_id: int, today: dt.date) -> Booking:
    """Cancel one of the caller's own future bookings. Another person's id is NotFound."""
    me = caller_for(db, principal, "leave_booking")
    with db.unit_of_work() as session:
        begin_write_transaction(session)
        office = open_backoffice(session)
        booking = next((b for b in office.bookings(me.id) if b.id == booking_id), None)
        if booking is None or booking.status not in ACTIVE or booking.start_date <= today:
            record_access(
                session,
                principal=principal,
                actor=me,
                subject_employee_id=me.id,
                record_type="leave_booking",
                action="cancel",
                outcome=AuditOutcome.REFUSED,
                reason="not the caller's cancellable booking",
            )
            refused = True
        else:
            office.set_booking_status(booking_id, BookingStatus.CANCELLED)
            record_access(
                session,
                principal=principal,
                actor=me,
                subject_employee_id=me.id,
                record_type="leave_booking",
                action="cancel",
                outcome=AuditOutcome.ALLOWED,
            )
            refused = False
    if refused:
        raise NotFound("leave_booking")
    return booking  # type: ignore[return-value]


@dataclass(frozen=True)
class PendingApproval:
    booking_id: int
    employee_name: str
    leave_type: LeaveType
    start: dt.date
    end: dt.date
    days: Decimal
    notify_conversation: str | None = None  # after a decision: the employee's, to push it to


def pending_approvals(db: Database, principal: Principal) -> list[PendingApproval]:
    """Pending bookings of the caller's direct reports (empty for anyone who manages nobody)."""

    def read(session: Session, me: EmployeeRef) -> list[PendingApproval]:
        reports = direct_reports(session, me.id)
        if not reports:
            return []
        rows = session.execute(
            select(LeaveBooking, Employee)
            .join(Employee, Employee.id == LeaveBooking.employee_id)
            .where(
                LeaveBooking.employee_id.in_(reports), LeaveBooking.status == BookingStatus.PENDING
            )
            .order_by(LeaveBooking.start_date)
        ).all()
        return [
            PendingApproval(
                b.id,
                f"{e.given_name} {e.family_name}",
                b.leave_type,
                b.start_date,
                b.end_date,
                b.days,
            )
            for b, e in rows
        ]

    return read_own(db, principal, "leave_approvals", read)


def decide_leave(
    db: Database, principal: Principal, booking_id: int, approve: bool, today: dt.date
) -> PendingApproval:
    """Approve or reject a pending booking of one of the caller's direct reports."""
    manager = caller_for(db, principal, "leave_approvals")
    with db.unit_of_work() as session:
        begin_write_transaction(session)
        row = session.execute(
            select(LeaveBooking, Employee)
            .join(Employee, Employee.id == LeaveBooking.employee_id)
            .where(LeaveBooking.id == booking_id)
        ).first()
        allowed = (
            row is not None
            and row[1].line_manager_id == manager.id
            and row[0].status is BookingStatus.PENDING
        )
        record_access(
            session,
            principal=principal,
            actor=manager,
            subject_employee_id=row[1].id if row else None,
            record_type="leave_approvals",
            action="approve" if approve else "reject",
            outcome=AuditOutcome.ALLOWED if allowed else AuditOutcome.REFUSED,
            reason=None if allowed else "not a pending booking of a direct report",
        )
        if allowed:
            booking, employee = row  # type: ignore[misc]
            booking.status = BookingStatus.APPROVED if approve else BookingStatus.REJECTED
            session.add(
                LeaveDecision(booking_id=booking.id, decided_by_id=manager.id, approved=approve)
            )
            employee_conversation = enqueue_leave_decision(session, employee.id, booking.id)
            result = PendingApproval(
                booking.id,
                f"{employee.given_name} {employee.family_name}",
                booking.leave_type,
                booking.start_date,
                booking.end_date,
                booking.days,
                employee_conversation,
            )
    if not allowed:
        raise AccessRefused("leave_approvals")
    return result
