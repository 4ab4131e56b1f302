"""Working-day counting: the employee's pattern (part-time, half days) and their region's bank holidays."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from bot.bank_holidays import load
from bot.working_days import FULL_TIME, DayKind, count_leave_days

D = Decimal
FOUR_AND_A_HALF = (D(1), D(1), D(1), D(1), D("0.5"), D(0), D(0))
THREE_DAYS = (D(1), D(1), D(1), D(0), D(0), D(0), D(0))
CALENDAR = load()


def holidays(region: str, start: dt.date, end: dt.date) -> frozenset[dt.date]:
    return CALENDAR.dates(region, start, end)


def count(pattern, start, end, region="england-and-wales", half_day=False) -> Decimal:  # type: ignore[no-untyped-def]
    return count_leave_days(
        pattern, start, end, holidays(region, start, end), half_day=half_day
    ).days


def test_a_full_time_week_is_five_days_and_the_weekend_is_free() -> None:
    assert count(FULL_TIME, dt.date(2027, 3, 1), dt.date(2027, 3, 7)) == 5  # Mon..Sun


def test_easter_costs_two_days_less_in_england_and_wales() -> None:
    # Thursday 25 March to Wednesday 31 March 2027: Good Friday 26th, Easter Monday 29th
    result = count_leave_days(
        FULL_TIME,
        dt.date(2027, 3, 25),
        dt.date(2027, 3, 31),
        holidays("england-and-wales", dt.date(2027, 3, 25), dt.date(2027, 3, 31)),
    )
    assert result.days == 3
    assert result.bank_holidays == [dt.date(2027, 3, 26), dt.date(2027, 3, 29)]


def test_easter_monday_is_a_working_day_in_scotland() -> None:
    assert count(FULL_TIME, dt.date(2027, 3, 25), dt.date(2027, 3, 31), "scotland") == 4


@pytest.mark.parametrize(
    "region, day, is_holiday",
    [
        ("scotland", dt.date(2027, 1, 4), True),  # 2 January (a Saturday) moves to Monday 4th
        ("england-and-wales", dt.date(2027, 1, 4), False),
        ("northern-ireland", dt.date(2027, 3, 17), True),  # St Patrick's Day
        ("england-and-wales", dt.date(2027, 3, 17), False),
        ("northern-ireland", dt.date(2027, 7, 12), True),  # Battle of the Boyne
        ("scotland", dt.date(2026, 11, 30), True),  # St Andrew's Day
        ("scotland", dt.date(2027, 8, 2), True),  # Scotland's summer bank holiday: first Monday
        ("england-and-wales", dt.date(2027, 8, 30), True),  # E&W: last Monday of August
    ],
)
def test_each_region_has_its_own_bank_holidays(region: str, day: dt.date, is_holiday: bool) -> None:
    assert count(FULL_TIME, day, day, region) == (0 if is_holiday else 1)


def test_a_substitute_day_for_christmas_on_a_weekend_is_not_charged() -> None:
    # 2027: Christmas Day Saturday, Boxing Day Sunday, substitute days Monday 27 and Tuesday 28
    result = count_leave_days(
        FULL_TIME,
        dt.date(2027, 12, 24),
        dt.date(2027, 12, 31),
        holidays("england-and-wales", dt.date(2027, 12, 24), dt.date(2027, 12, 31)),
    )
    assert result.days == 4  # 24, 29, 30, 31
    assert [c.day.day for c in result.breakdown if c.kind is DayKind.BANK_HOLIDAY] == [27, 28]


def test_a_part_timer_with_a_half_day_friday_is_charged_half_for_it() -> None:
    assert count(FOUR_AND_A_HALF, dt.date(2027, 3, 1), dt.date(2027, 3, 5)) == D("4.5")
    assert count(FOUR_AND_A_HALF, dt.date(2027, 3, 5), dt.date(2027, 3, 5)) == D("0.5")


def test_days_a_part_timer_does_not_work_cost_nothing() -> None:
    assert count(THREE_DAYS, dt.date(2027, 3, 1), dt.date(2027, 3, 14)) == 6
    assert count(THREE_DAYS, dt.date(2027, 3, 4), dt.date(2027, 3, 5)) == 0  # Thu, Fri


def test_a_half_day_is_half_of_a_full_day_and_all_of_a_half_day() -> None:
    assert count(FULL_TIME, dt.date(2027, 3, 3), dt.date(2027, 3, 3), half_day=True) == D("0.5")
    assert count(FOUR_AND_A_HALF, dt.date(2027, 3, 5), dt.date(2027, 3, 5), half_day=True) == D(
        "0.5"
    )
    assert (
        count(FULL_TIME, dt.date(2027, 3, 6), dt.date(2027, 3, 6), half_day=True) == 0
    )  # Saturday


@pytest.mark.parametrize(
    "pattern", [(D(1),) * 6, (D(2),) + (D(1),) * 6, (D(0),) * 7, (D("0.3"),) * 7]
)
def test_malformed_patterns_are_refused(pattern: tuple) -> None:
    with pytest.raises(ValueError):
        count_leave_days(pattern, dt.date(2027, 3, 1), dt.date(2027, 3, 2), frozenset())


def test_impossible_requests_are_refused() -> None:
    with pytest.raises(ValueError):
        count_leave_days(FULL_TIME, dt.date(2027, 3, 2), dt.date(2027, 3, 1), frozenset())
    with pytest.raises(ValueError):
        count_leave_days(
            FULL_TIME, dt.date(2027, 3, 1), dt.date(2027, 3, 2), frozenset(), half_day=True
        )
    with pytest.raises(ValueError):
        count_leave_days(FULL_TIME, dt.date(2027, 1, 1), dt.date(2028, 1, 5), frozenset())
