"""Leave balances: the arithmetic of one leave year, and the caller's own balances."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from bot.backoffice.registry import backoffice
from bot.backoffice.types import Booking, BookingStatus, Entitlement, LeavePosition, LeaveType
from bot.identity import EmployeeRef, Principal
from bot.records.access import read_own
from bot.storage.database import Database

RECORD_TYPE = "leave_balance"
ZERO = Decimal("0")


@dataclass(frozen=True)
class LeaveBalance:
    """One leave type in one leave year, in days."""

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


def summarise(entitlement: Entitlement, bookings: Iterable[Booking], today: dt.date) -> LeaveBalance:
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
    total = entitlement.days + entitlement.carried_over
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


def balance_on(
    position: LeavePosition, leave_type: LeaveType, day: dt.date, today: dt.date
) -> LeaveBalance | None:
    """The balance of the leave year containing `day`, if there is an entitlement for it."""
    for entitlement in position.entitlements:
        if entitlement.leave_type is leave_type and entitlement.year_start <= day <= entitlement.year_end:
            return summarise(entitlement, position.bookings, today)
    return None


def current_balances(position: LeavePosition, today: dt.date) -> list[LeaveBalance]:
    """This leave year's balance of every leave type there is an entitlement for."""
    current = [e for e in position.entitlements if e.year_start <= today <= e.year_end]
    return [
        summarise(e, position.bookings, today)
        for e in sorted(current, key=lambda e: e.leave_type.value)
    ]


def my_leave_balances(db: Database, principal: Principal, today: dt.date) -> LeaveBalanceAnswer:
    """The caller's own balances this leave year. Raises UnknownPrincipal (audited)."""

    def read(me: EmployeeRef) -> LeaveBalanceAnswer:
        position = backoffice(db).absence.leave_position(me.id)
        return LeaveBalanceAnswer(me.given_name, current_balances(position, today))

    return read_own(db, principal, RECORD_TYPE, read)
