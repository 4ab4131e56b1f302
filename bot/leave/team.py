"""A line manager's view of their direct reports' leave, and decisions on their requests.

Who reports to whom comes from the identity directory (bot/records/access.py); the leave
itself is read and decided through the back-office port. A system that runs its own approval
workflow (Oracle HCM, SuccessFactors) raises DecidedElsewhere and the manager is sent there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from bot.audit import record_access
from bot.backoffice.registry import backoffice
from bot.backoffice.types import ACTIVE_BOOKINGS, Booking, BookingStatus, LeaveType
from bot.identity import EmployeeRef, Principal
from bot.records.access import caller_for, direct_reports, read_own, read_report
from bot.records.errors import AccessRefused
from bot.records.notifications import enqueue_leave_decision
from bot.storage.database import Database
from bot.storage.models import AuditOutcome, Employee

from .balances import LeaveBalance, current_balances


def team_member_leave(
    db: Database, principal: Principal, mention: str, today: dt.date
) -> tuple[str, list[LeaveBalance], list[Booking]]:
    """A line manager's view of one direct report's balances and bookings (audited)."""

    def read(manager: EmployeeRef, subject: int) -> tuple[str, list[LeaveBalance], list[Booking]]:
        office = backoffice(db)
        person = office.people.employment(subject)
        position = office.absence.leave_position(subject)
        upcoming = sorted(
            (b for b in position.bookings if b.end_date >= today and b.status in ACTIVE_BOOKINGS),
            key=lambda b: b.start_date,
        )
        return (person.full_name if person else "", current_balances(position, today), upcoming)

    return read_report(db, principal, "leave_balance", mention, read)


@dataclass(frozen=True)
class PendingApproval:
    reference: str
    employee_id: int
    employee_name: str
    leave_type: LeaveType
    start: dt.date
    end: dt.date
    days: Decimal
    notify_conversation: str | None = None  # after a decision: the employee's, to push it to

    @property
    def button_reference(self) -> str:
        """What a decision button carries: whose booking, and which."""
        return f"{self.employee_id}-{self.reference}"


def _names(db: Database, ids: list[int]) -> dict[int, str]:
    with db.unit_of_work() as session:
        rows = session.execute(
            select(Employee.id, Employee.given_name, Employee.family_name).where(Employee.id.in_(ids))
        ).all()
    return {i: f"{given} {family}" for i, given, family in rows}


def pending_approvals(db: Database, principal: Principal) -> list[PendingApproval]:
    """Pending bookings of the caller's direct reports (empty for anyone who manages nobody)."""

    def read(me: EmployeeRef) -> list[PendingApproval]:
        with db.unit_of_work() as session:
            reports = direct_reports(session, me.id)
        if not reports:
            return []
        names = _names(db, reports)
        office = backoffice(db)
        found = []
        for report in reports:
            for b in office.absence.leave_position(report).bookings:
                if b.status is BookingStatus.PENDING:
                    found.append(PendingApproval(b.reference, report, names[report],
                                                 b.leave_type, b.start_date, b.end_date, b.days))
        return sorted(found, key=lambda p: p.start)

    return read_own(db, principal, "leave_approvals", read)


def parse_button_reference(value: str) -> tuple[int, str] | None:
    """(employee id, booking reference) from a decision button's payload, if well formed."""
    employee, _, reference = value.partition("-")
    if not employee.isdigit() or not reference or len(value) > 80:
        return None
    if not all(c.isalnum() or c in "-_" for c in reference):
        return None
    return int(employee), reference


def _typed_reference(db: Database, manager: EmployeeRef, reference: str) -> tuple[int, str] | None:
    """The direct report whose pending booking has this reference, if exactly one does."""
    with db.unit_of_work() as session:
        reports = direct_reports(session, manager.id)
    office = backoffice(db)
    owners = [r for r in reports if office.absence.booking(r, reference) is not None]
    return (owners[0], reference) if len(owners) == 1 else None


def decide_leave(
    db: Database, principal: Principal, button_reference: str, approve: bool, today: dt.date
) -> PendingApproval:
    """Approve or reject a pending booking of one of the caller's direct reports.

    The decision is a conditional update in the system of record (only a pending booking),
    so it cannot race a cancellation or another decision into two effects."""
    manager = caller_for(db, principal, "leave_approvals")
    parsed = parse_button_reference(button_reference)
    if parsed is None and button_reference.isdigit():  # typed: "approve request 42"
        parsed = _typed_reference(db, manager, button_reference)
    subject = None
    booking = None
    if parsed is not None:
        with db.unit_of_work() as session:
            subject = session.get(Employee, parsed[0])
            if subject is not None and subject.line_manager_id != manager.id:
                subject = None
        if subject is not None:
            booking = backoffice(db).absence.decide(subject.id, parsed[1], approve, manager.id)
    allowed = booking is not None
    with db.unit_of_work() as session:
        record_access(
            session,
            principal=principal,
            actor=manager,
            subject_employee_id=subject.id if subject else None,
            record_type="leave_approvals",
            action="approve" if approve else "reject",
            outcome=AuditOutcome.ALLOWED if allowed else AuditOutcome.REFUSED,
            reason=None if allowed else "not a pending booking of a direct report",
        )
        conversation = (
            enqueue_leave_decision(session, subject.id, booking.reference)  # type: ignore[union-attr]
            if allowed
            else None
        )
    if not allowed:
        raise AccessRefused("leave_approvals")
    return PendingApproval(
        booking.reference,  # type: ignore[union-attr]
        subject.id,  # type: ignore[union-attr]
        f"{subject.given_name} {subject.family_name}",  # type: ignore[union-attr]
        booking.leave_type,  # type: ignore[union-attr]
        booking.start_date,  # type: ignore[union-attr]
        booking.end_date,  # type: ignore[union-attr]
        booking.days,  # type: ignore[union-attr]
        conversation,
    )
