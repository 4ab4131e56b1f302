"""Counting leave in working days: the employee's own pattern, minus their region's bank holidays.

A working pattern gives each weekday as a fraction of a working day (1, 0.5 or 0), so a
part-time employee who works Monday to Thursday and Friday mornings is charged 0.5 for a
Friday. Bank holidays of the employee's jurisdiction are never charged (the civil-service
convention: bank holiday entitlement is separate from annual leave). A half-day request on a
day charges half a day, or the whole of a day that is itself only a half day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum

FULL_TIME = (Decimal(1),) * 5 + (Decimal(0),) * 2
HALF = Decimal("0.5")
ZERO = Decimal(0)
MAX_SPAN_DAYS = 366


class DayKind(str, Enum):
    WORKED = "worked"
    NOT_WORKED = "not_worked"  # not in the pattern (weekend, part-time day off)
    BANK_HOLIDAY = "bank_holiday"


@dataclass(frozen=True)
class DayCharge:
    day: dt.date
    kind: DayKind
    charge: Decimal


@dataclass(frozen=True)
class LeaveCount:
    days: Decimal
    breakdown: tuple[DayCharge, ...]

    @property
    def bank_holidays(self) -> list[dt.date]:
        return [c.day for c in self.breakdown if c.kind is DayKind.BANK_HOLIDAY]


def check_pattern(fractions: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """Monday..Sunday fractions, each 0, 0.5 or 1; at least one day worked."""
    values = tuple(Decimal(str(f)) for f in fractions)
    if len(values) != 7 or any(v not in (ZERO, HALF, Decimal(1)) for v in values):
        raise ValueError("a working pattern is seven day fractions of 0, 0.5 or 1")
    if not any(values):
        raise ValueError("a working pattern needs at least one working day")
    return values


def count_leave_days(
    fractions: Sequence[Decimal],
    start: dt.date,
    end: dt.date,
    bank_holidays: frozenset[dt.date] | set[dt.date],
    *,
    half_day: bool = False,
) -> LeaveCount:
    """Days of leave charged for `start`..`end` inclusive.

    `half_day` applies to a one-day request only (a morning or an afternoon).
    """
    pattern = check_pattern(fractions)
    if end < start:
        raise ValueError("the leave ends before it starts")
    if (end - start).days >= MAX_SPAN_DAYS:
        raise ValueError("a single leave request cannot span more than a year")
    if half_day and start != end:
        raise ValueError("a half day is a single day")
    breakdown = []
    day = start
    while day <= end:
        fraction = pattern[day.weekday()]
        if fraction == ZERO:
            breakdown.append(DayCharge(day, DayKind.NOT_WORKED, ZERO))
        elif day in bank_holidays:
            breakdown.append(DayCharge(day, DayKind.BANK_HOLIDAY, ZERO))
        else:
            breakdown.append(
                DayCharge(day, DayKind.WORKED, min(fraction, HALF) if half_day else fraction)
            )
        day += dt.timedelta(days=1)
    return LeaveCount(sum((c.charge for c in breakdown), ZERO), tuple(breakdown))
