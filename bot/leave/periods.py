"""The dates a question about leave is about ("has my Easter leave been approved?", "can I
cancel 3rd to 7th March?"): dates the employee named, the span around a named bank holiday,
or a month."""

from __future__ import annotations

import datetime as dt
import re

from bot.bank_holidays import load as load_bank_holidays
from bot.records.dates import DateNotUnderstood, DateRange, parse_leave_dates, parse_month

# The words for a bank holiday and the gov.uk titles of its days.
HOLIDAY_WORDS = {
    "easter": ("Good Friday", "Easter Monday"),
    "christmas": ("Christmas Day", "Boxing Day"),
    "new year": ("New Year’s Day",),
    "may": ("Early May bank holiday",),
}
# Leave around a bank holiday: its days, and a week either side of them.
AROUND_A_HOLIDAY = dt.timedelta(days=7)
# The span is a window to look for bookings in: England and Wales's dates place it for every
# region (Scotland has no Easter Monday holiday, and the window still holds the Monday).
HOLIDAY_DIVISION = "england-and-wales"


def holiday_span(text: str, today: dt.date) -> DateRange | None:
    """A week either side of the next bank holiday the text names ("Easter"), within a year."""
    lowered = text.lower()
    for word, titles in HOLIDAY_WORDS.items():
        if re.search(rf"\b{word}\b", lowered):
            found = [
                holiday
                for holiday in load_bank_holidays().holidays_in(
                    HOLIDAY_DIVISION, today, today + dt.timedelta(days=366)
                )
                if holiday.title in titles
            ]
            if found:
                return DateRange(found[0].date - AROUND_A_HOLIDAY,
                                 found[-1].date + AROUND_A_HOLIDAY)
    return None


def dates_asked_about(text: str, today: dt.date) -> DateRange | None:
    """The span of a named bank holiday, else the dates named, else a month named; or None."""
    span = holiday_span(text, today)
    if span is not None:
        return span
    try:
        return parse_leave_dates(text, today)
    except DateNotUnderstood:
        return parse_month(text, today)
