"""Working-time arithmetic and SLA due times, asserted to the minute.

Dates are 2026/27, whose UK bank holidays are known: Good Friday 3 Apr, Easter Monday 6 Apr
(not in Scotland), St Patrick's Day 17 Mar (Northern Ireland), St Andrew's Day 30 Nov
(Scotland), Christmas Day Fri 25 Dec, Boxing Day Sat 26 Dec (observed Mon 28 Dec), New Year's
Day Fri 1 Jan 2027 (and 4 Jan 2027 in Scotland). Clocks go forward on Sun 29 Mar 2026.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from bot.business_calendar import (
    BusinessCalendar,
    CalendarError,
    calendar_from_settings,
    parse_hours,
)

LONDON = ZoneInfo("Europe/London")
UTC = dt.timezone.utc
H = dt.timedelta(hours=1)


def london(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=LONDON)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


ENGLAND = BusinessCalendar()
SCOTLAND = BusinessCalendar(region="scotland")
NORTHERN_IRELAND = BusinessCalendar(region="northern-ireland")


@pytest.mark.parametrize(
    ("calendar", "start", "hours", "due"),
    [
        # within one working day
        (ENGLAND, london(2026, 11, 23, 10, 0), 4, utc(2026, 11, 23, 14, 0)),
        # a target that uses the day up exactly ends at closing time, not next morning
        (ENGLAND, london(2026, 11, 23, 9, 0), 8, utc(2026, 11, 23, 17, 0)),
        # raised before opening: the clock starts at 09:00
        (ENGLAND, london(2026, 11, 23, 7, 30), 1, utc(2026, 11, 23, 10, 0)),
        # raised after closing on Friday: Monday morning
        (ENGLAND, london(2026, 11, 27, 18, 0), 1, utc(2026, 11, 30, 10, 0)),
        # raised on a Saturday
        (ENGLAND, london(2026, 11, 28, 11, 0), 4, utc(2026, 11, 30, 13, 0)),
        # Friday 15:00 + 4 h: 2 h on Friday, 2 h on Monday
        (ENGLAND, london(2026, 11, 27, 15, 0), 4, utc(2026, 11, 30, 11, 0)),
        # Christmas: Thu 24 Dec 16:00 + 8 h skips Fri 25, the weekend, Mon 28 (Boxing Day
        # observed): 1 h on Thursday, 7 h on Tuesday 29
        (ENGLAND, london(2026, 12, 24, 16, 0), 8, utc(2026, 12, 29, 16, 0)),
        # ... and 40 h: Thu 1, Tue 8, Wed 8, Thu 8, Fri 1 Jan holiday, Mon 4 Jan 8, Tue 5 Jan 7
        (ENGLAND, london(2026, 12, 24, 16, 0), 40, utc(2027, 1, 5, 16, 0)),
        # Scotland also closes on 4 Jan 2027 (2 Jan holiday observed): one more day
        (SCOTLAND, london(2026, 12, 24, 16, 0), 40, utc(2027, 1, 6, 16, 0)),
        # Easter in England & Wales: Thu 2 Apr 14:00 + 16 h; Good Friday and Easter Monday
        # closed; 3 h Thu, 8 h Tue 7, 5 h Wed 8 → 14:00 BST = 13:00 UTC
        (ENGLAND, london(2026, 4, 2, 14, 0), 16, utc(2026, 4, 8, 13, 0)),
        # Scotland works Easter Monday: 3 h Thu, 8 h Mon 6, 5 h Tue 7
        (SCOTLAND, london(2026, 4, 2, 14, 0), 16, utc(2026, 4, 7, 13, 0)),
        # St Patrick's Day (Tue 17 Mar) only in Northern Ireland
        (NORTHERN_IRELAND, london(2026, 3, 16, 16, 0), 2, utc(2026, 3, 18, 10, 0)),
        (ENGLAND, london(2026, 3, 16, 16, 0), 2, utc(2026, 3, 17, 10, 0)),
        # St Andrew's Day (Mon 30 Nov) only in Scotland
        (SCOTLAND, london(2026, 11, 27, 16, 0), 2, utc(2026, 12, 1, 10, 0)),
        # clocks go forward on Sun 29 Mar: Fri 16:00 GMT + 2 h = Mon 10:00 BST = 09:00 UTC
        (ENGLAND, london(2026, 3, 27, 16, 0), 2, utc(2026, 3, 30, 9, 0)),
        # clocks go back on Sun 25 Oct: Fri 16:00 BST + 2 h = Mon 10:00 GMT = 10:00 UTC
        (ENGLAND, london(2026, 10, 23, 16, 0), 2, utc(2026, 10, 26, 10, 0)),
    ],
)
def test_due_times_are_exact(calendar: BusinessCalendar, start: dt.datetime, hours: float,
                             due: dt.datetime) -> None:
    assert calendar.add_working_time(start, hours * H) == due


def test_due_times_come_back_in_utc() -> None:
    due = ENGLAND.add_working_time(london(2026, 6, 1, 9, 0), H)
    assert due.utcoffset() == dt.timedelta(0) and due == utc(2026, 6, 1, 9, 0)


def test_working_time_between_skips_nights_weekends_and_holidays() -> None:
    # Thu 24 Dec 16:00 → Tue 29 Dec 11:00: 1 h + 2 h
    assert ENGLAND.working_time_between(london(2026, 12, 24, 16, 0),
                                        london(2026, 12, 29, 11, 0)) == 3 * H
    assert ENGLAND.working_time_between(london(2026, 12, 29, 11, 0),
                                        london(2026, 12, 24, 16, 0)) == dt.timedelta(0)


def test_adding_what_was_measured_gets_back_to_the_end() -> None:
    start, end = london(2026, 11, 20, 15, 30), london(2026, 11, 25, 10, 15)
    waited = ENGLAND.working_time_between(start, end)
    assert ENGLAND.add_working_time(start, waited) == end.astimezone(UTC)


def test_working_days_land_on_closing_time() -> None:
    # 10 working days after Thu 24 Dec 2026: 29, 30, 31 Dec, 4-8 Jan, 11, 12 Jan
    assert ENGLAND.add_working_days(london(2026, 12, 24, 12, 0), 10) == utc(2027, 1, 12, 17, 0)


def test_configurable_hours_and_closures() -> None:
    calendar = calendar_from_settings("Europe/London", "08:00-18:00", "england-and-wales",
                                      [dt.date(2026, 11, 24)])
    # Mon 23 Nov 17:00 + 3 h: 1 h Monday, Tuesday closed, 2 h Wednesday from 08:00
    assert calendar.add_working_time(london(2026, 11, 23, 17, 0), 3 * H) == utc(2026, 11, 25, 10, 0)


@pytest.mark.parametrize("hours", ["9-17", "17:00-09:00", "09:00", "nine to five"])
def test_malformed_hours_are_refused(hours: str) -> None:
    with pytest.raises(CalendarError):
        parse_hours(hours)


def test_an_unknown_region_is_refused() -> None:
    with pytest.raises(CalendarError):
        BusinessCalendar(region="wales-only")


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError):
        ENGLAND.add_working_time(dt.datetime(2026, 11, 23, 10, 0), H)
