"""The pure arithmetic of a leave year, without a database."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.backoffice.types import Booking, BookingStatus, Entitlement, LeaveType
from bot.demo.organisation import leave_year
from bot.leave import summarise

TODAY = dt.date(2026, 11, 26)
YEAR = (dt.date(2026, 4, 1), dt.date(2027, 3, 31))


def entitlement(days: str = "25", carried: str = "0",
                leave_type: LeaveType = LeaveType.ANNUAL) -> Entitlement:
    return Entitlement(leave_type, YEAR[0], YEAR[1], Decimal(days), Decimal(carried))


def booking(start: dt.date, days: str, status: BookingStatus,
            leave_type: LeaveType = LeaveType.ANNUAL) -> Booking:
    return Booking("1", leave_type, start, start, Decimal(days), status)


def test_an_untouched_year_leaves_the_whole_entitlement() -> None:
    balance = summarise(entitlement("25", "2.5"), [], TODAY)
    assert (balance.entitlement, balance.remaining) == (Decimal("27.5"), Decimal("27.5"))


def test_taken_booked_and_pending_are_told_apart_and_all_reduce_the_balance() -> None:
    bookings = [
        booking(dt.date(2026, 5, 1), "5", BookingStatus.APPROVED),   # past: taken
        booking(dt.date(2026, 12, 1), "0.5", BookingStatus.APPROVED),  # future: booked
        booking(dt.date(2027, 1, 5), "2", BookingStatus.PENDING),
        booking(dt.date(2026, 6, 1), "3", BookingStatus.REJECTED),
        booking(dt.date(2026, 7, 1), "4", BookingStatus.CANCELLED),
    ]
    balance = summarise(entitlement(), bookings, TODAY)
    assert (balance.taken, balance.booked, balance.pending, balance.remaining) == (
        Decimal("5"), Decimal("0.5"), Decimal("2"), Decimal("17.5"))


def test_other_years_and_other_leave_types_do_not_count() -> None:
    bookings = [
        booking(dt.date(2026, 3, 31), "5", BookingStatus.APPROVED),  # last leave year
        booking(dt.date(2027, 4, 1), "5", BookingStatus.APPROVED),   # next leave year
        booking(dt.date(2026, 9, 1), "1", BookingStatus.APPROVED, LeaveType.FLEXI),
    ]
    assert summarise(entitlement(), bookings, TODAY).remaining == Decimal(25)


def test_leave_on_today_counts_as_booked_until_it_has_ended() -> None:
    balance = summarise(entitlement(), [booking(TODAY, "1", BookingStatus.APPROVED)], TODAY)
    assert (balance.taken, balance.booked) == (Decimal(0), Decimal(1))


@pytest.mark.parametrize(
    "today, expected",
    [
        (dt.date(2026, 4, 1), (dt.date(2026, 4, 1), dt.date(2027, 3, 31))),
        (dt.date(2026, 3, 31), (dt.date(2025, 4, 1), dt.date(2026, 3, 31))),
        (dt.date(2027, 1, 1), (dt.date(2026, 4, 1), dt.date(2027, 3, 31))),
    ],
)
def test_the_leave_year_runs_april_to_march(today: dt.date, expected: tuple) -> None:
    assert leave_year(today) == expected
