"""bot.leave.periods: the dates a question about leave is about: a week either side of a named
bank holiday, else the dates named, else a month, else none."""
from __future__ import annotations

import datetime as dt

import pytest

from bot.leave.periods import dates_asked_about, holiday_span
from bot.records.dates import DateRange

TODAY = dt.date(2026, 3, 1)


@pytest.mark.parametrize(("text", "start", "end"), [
    # Good Friday 3 April and Easter Monday 6 April 2026, a week either side
    ("has my Easter leave been approved?", dt.date(2026, 3, 27), dt.date(2026, 4, 13)),
    # Christmas Day 25 December, Boxing Day's substitute Monday 28 December
    ("what about my leave over Christmas", dt.date(2026, 12, 18), dt.date(2027, 1, 4)),
    ("new year", dt.date(2026, 12, 25), dt.date(2027, 1, 8)),
    ("the May bank holiday", dt.date(2026, 4, 27), dt.date(2026, 5, 11)),
])
def test_a_named_bank_holiday_gives_a_week_either_side(text: str, start: dt.date,
                                                        end: dt.date) -> None:
    assert holiday_span(text, TODAY) == DateRange(start, end)
    assert dates_asked_about(text, TODAY) == DateRange(start, end)


def test_the_next_one_within_a_year() -> None:
    after_easter = dt.date(2026, 4, 20)
    span = holiday_span("easter", after_easter)
    assert span is not None and span.start.year == 2027


@pytest.mark.parametrize(("text", "expected"), [
    ("3rd to 7th March", DateRange(dt.date(2026, 3, 3), dt.date(2026, 3, 7))),
    ("anything booked in June?", DateRange(dt.date(2026, 6, 1), dt.date(2026, 6, 30))),
    ("has it been approved?", None),
    ("mayday", None),  # a word, not the holiday
])
def test_otherwise_the_dates_or_the_month_named(text: str, expected: DateRange | None) -> None:
    assert holiday_span(text, TODAY) is None
    assert dates_asked_about(text, TODAY) == expected
