"""Leave balances, answered from the caller's own records only."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from .access import identify_caller
from .audit import record_access
from .identity import Principal
from .storage.database import Database
from .storage.models import (
    AuditOutcome,
    BookingStatus,
    LeaveBooking,
    LeaveEntitlement,
    LeaveType,
)

RECORD_TYPE = "leave_balance"
ZERO = Decimal("0")


@dataclass(frozen=True)
class LeaveBalance:
    """One leave type in the current leave year, in days."""

    leave_type: LeaveType
    year_start: dt.date
    year_end: dt.date
    entitlement: Decimal  # this year's allowance plus days carried over
    taken: Decimal  # approved and already in the past
    booked: Decimal  # approved and still to come
    pending: Decimal  # awaiting the line manager
    remaining: Decimal


@dataclass(frozen=True)
class LeaveBalanceAnswer:
    given_name: str
    balances: list[LeaveBalance]


def summarise(
    entitlement: LeaveEntitlement, bookings: Iterable[LeaveBooking], today: dt.date
) -> LeaveBalance:
    """Pure arithmetic of one leave type's year; bookings outside the year are ignored."""
    taken = booked = pending = ZERO
    for booking in bookings:
        if booking.leave_type != entitlement.leave_type:
            continue
        if not entitlement.year_start <= booking.start_date <= entitlement.year_end:
            continue
        if booking.status is BookingStatus.PENDING:
            pending += booking.days
        elif booking.status is BookingStatus.APPROVED:
            if booking.end_date < today:
                taken += booking.days
            else:
                booked += booking.days
    total = entitlement.entitlement_days + entitlement.carried_over_days
    return LeaveBalance(
        leave_type=entitlement.leave_type,
        year_start=entitlement.year_start,
        year_end=entitlement.year_end,
        entitlement=total,
        taken=taken,
        booked=booked,
        pending=pending,
        remaining=total - taken - booked - pending,
    )


def _current_balances(session: Session, employee_id: int, today: dt.date) -> list[LeaveBalance]:
    entitlements = session.scalars(
        select(LeaveEntitlement)
        .where(
            LeaveEntitlement.employee_id == employee_id,
            LeaveEntitlement.year_start <= today,
            LeaveEntitlement.year_end >= today,
        )
        .order_by(LeaveEntitlement.leave_type)
    ).all()
    bookings = session.scalars(
        select(LeaveBooking).where(LeaveBooking.employee_id == employee_id)
    ).all()
    return [summarise(entitlement, bookings, today) for entitlement in entitlements]


def my_leave_balances(db: Database, principal: Principal, today: dt.date) -> LeaveBalanceAnswer:
    """The caller's own balances this leave year. Raises UnknownPrincipal (audited)."""
    employee = identify_caller(db, principal, RECORD_TYPE)
    with db.unit_of_work() as session:
        balances = _current_balances(session, employee.id, today)
        record_access(
            session,
            principal=principal,
            actor=employee,
            subject_employee_id=employee.id,
            record_type=RECORD_TYPE,
            outcome=AuditOutcome.ALLOWED,
        )
    return LeaveBalanceAnswer(employee.given_name, balances)
