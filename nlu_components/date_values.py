"""What a date entity means: its first and last day (and a half day), as of a given day.

The pattern extractor (entity_patterns.py) finds the span; this reads it, so that each `date`
entity carries the days it names in `additional_info` (Rasa's place for a normalised value,
as Duckling's extractor uses it): `{"start": "2026-12-11", "end": "2026-12-11", "half_day": null,
"as_of": "2026-12-07"}`. The entity's `value` stays the text as typed, which is what the forms
(bot/records/dates.py reads the whole message) and the conversation tests compare.

The calendar dates and leave ranges are read by the assistant's own reader, bot/records/dates.py
(the leave and expense forms' code: a date without a year is the next one to come, a past
form such as "yesterday" the most recent); this module adds the spans that reader does not take
(named days, "last week", "two weeks ago", "in a fortnight", "end of the month", "mid-January",
"Monday week") and returns None for a span it cannot read ("Christmas holidays").
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Any

from dateutil.easter import easter
from dateutil.relativedelta import relativedelta

from bot.records.dates import (
    DateNotUnderstood,
    parse_leave_dates,
    parse_month,
    parse_past_date,
)

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY = (r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:s|nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|"
           r"sat(?:urday)?|sun(?:day)?)")
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
         r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
NUMBERS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
           "seven": 7, "eight": 8, "nine": 9, "ten": 10}
TOMORROW = re.compile(r"\b(?:tomorow|tommorow|tommorrow|tomorrw|2moro|2morrow|tmrw|tmr|tomoz)\b")
Days = tuple[dt.date, dt.date, str | None]


def _number(word: str) -> int:
    return NUMBERS.get(word) or int(word)


def _weekday_index(name: str) -> int:
    return WEEKDAYS.index(name[:3])


def _month_index(name: str) -> int:
    return MONTHS.index(name[:3]) + 1


def _monday(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def _week(monday: dt.date) -> Days:
    return monday, monday + dt.timedelta(days=4), None


def _month(first: dt.date) -> Days:
    return first, first + relativedelta(months=1) - dt.timedelta(days=1), None


def _next_month_named(index: int, today: dt.date, year: int | None = None) -> dt.date:
    if year:
        return dt.date(year, index, 1)
    return dt.date(today.year if index >= today.month else today.year + 1, index, 1)


def _next_yearly(month: int, day: int, today: dt.date) -> dt.date:
    this_year = dt.date(today.year, month, day)
    return this_year if this_year >= today else dt.date(today.year + 1, month, day)


def _easter_after(today: dt.date) -> dt.date:
    """The Easter Sunday whose Monday is still to come."""
    sunday = easter(today.year)
    return sunday if sunday + dt.timedelta(days=1) >= today else easter(today.year + 1)


def _holiday(text: str, today: dt.date) -> Days | None:
    fixed = {"christmas eve": (12, 24), "christmas day": (12, 25), "christmas": (12, 25),
             "boxing day": (12, 26), "new year's eve": (12, 31), "new years eve": (12, 31),
             "new year eve": (12, 31), "new year's day": (1, 1), "new years day": (1, 1),
             "new year day": (1, 1), "new year": (1, 1), "st andrew's day": (11, 30),
             "st patrick's day": (3, 17), "st david's day": (3, 1), "st george's day": (4, 23)}
    key = text.replace("st. ", "st ")
    if key in fixed:
        day = _next_yearly(*fixed[key], today)
        return day, day, None
    if key == "christmas week":
        return _week(_monday(_next_yearly(12, 25, today)))
    sunday = _easter_after(today)
    offsets = {"good friday": (-2, -2), "easter saturday": (-1, -1), "easter sunday": (0, 0),
               "easter monday": (1, 1), "easter": (-2, 1), "easter weekend": (-2, 1),
               "easter week": (1, 5)}
    if key in offsets:
        first, last = offsets[key]
        return sunday + dt.timedelta(days=first), sunday + dt.timedelta(days=last), None
    if key == "may day":
        for year in (today.year, today.year + 1):
            first = dt.date(year, 5, 1)
            monday = first + dt.timedelta(days=(7 - first.weekday()) % 7)
            if monday >= today:
                return monday, monday, None
    return None


def _period(text: str, today: dt.date) -> Days | None:
    """Weeks, months and years named relative to today, and distances in days."""
    monday = _monday(today)
    match = re.fullmatch(r"(?:all\s+(?:of\s+)?)?(last|this|next|coming|following)\s+(?:week|wk)", text)
    if match:
        shift = {"last": -7, "this": 0}.get(match.group(1), 7)
        return _week(monday + dt.timedelta(days=shift))
    if re.fullmatch(r"(?:the\s+)?week\s+after\s+next", text):
        return _week(monday + dt.timedelta(days=14))
    match = re.fullmatch(r"(last|this|next|coming|following)\s+(month|year|weekend)", text)
    if match:
        shift = {"last": -1, "this": 0}.get(match.group(1), 1)
        if match.group(2) == "month":
            return _month(today.replace(day=1) + relativedelta(months=shift))
        if match.group(2) == "year":
            first = dt.date(today.year + shift, 1, 1)
            return first, dt.date(first.year, 12, 31), None
        saturday = monday + dt.timedelta(days=5 + 7 * shift)
        return saturday, saturday + dt.timedelta(days=1), None
    match = re.fullmatch(r"(a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d{1,2})\s+"
                         r"(day|week|month|fortnight)s?\s+ago", text)
    if match:
        count, unit = _number(match.group(1)), match.group(2)
        day = today - (relativedelta(months=count) if unit == "month" else
                       dt.timedelta(days=count * {"day": 1, "week": 7, "fortnight": 14}[unit]))
        return day, day, None
    match = re.fullmatch(r"in\s+(a|an|one|two|three|four|five|six|seven|eight|nine|ten|\d{1,2})\s+"
                         r"(day|week|month|fortnight)(?:s|'s)?(?:'?\s+time)?", text)
    match = match or re.fullmatch(r"(a|one|two|three|four|five|six|seven|eight|nine|ten|\d{1,2})\s+"
                                  r"(day|week)s?\s+(?:from\s+(?:now|today)|today)", text)
    if match:
        count, unit = _number(match.group(1)), match.group(2)
        day = today + (relativedelta(months=count) if unit == "month" else
                       dt.timedelta(days=count * {"day": 1, "week": 7, "fortnight": 14}[unit]))
        return day, day, None
    match = re.fullmatch(r"(a|one|two|three|\d)\s+weeks?\s+(?:from\s+)?tomorrow", text)
    if match:
        day = today + dt.timedelta(days=7 * _number(match.group(1)) + 1)
        return day, day, None
    return None


def _business_year(kind: str, today: dt.date, shift: int) -> tuple[dt.date, dt.date]:
    """The leave or financial year (1 April to 31 March) or the tax year (6 April to 5 April)
    holding today, moved by `shift` years."""
    first_day = 6 if kind in ("tax", "pay") else 1
    year = today.year if today >= dt.date(today.year, 4, first_day) else today.year - 1
    start = dt.date(year + shift, 4, first_day)
    return start, start + relativedelta(years=1) - dt.timedelta(days=1)


BUSINESS_YEAR = r"(leave|holiday|tax|financial|pay)\s+year"
SHIFTS = {"this": 0, "the": 0, "": 0, "next": 1, "the following": 1, "following": 1,
          "last": -1, "previous": -1, "the previous": -1}


def _part_of(text: str, today: dt.date) -> Days | None:
    """The start, middle or end of a week, month or year; early, mid or late in a month."""
    match = re.fullmatch(rf"(?:(end|start|beginning|middle)\s+of\s+)?(?:(the\s+following|the\s+previous|"
                         rf"the|this|next|last|following|previous)\s+)?{BUSINESS_YEAR}", text)
    if match and (match.group(1) or match.group(2) not in (None, "the")):
        part, which, kind = match.groups()
        first, last = _business_year(kind, today, SHIFTS[" ".join((which or "").split())])
        if part in ("start", "beginning"):
            return first, first, None
        if part == "end":
            return last, last, None
        return first, last, None
    if text == "weekend":
        saturday = today + dt.timedelta(days=(5 - today.weekday()) % 7)
        if today.weekday() == 6:
            saturday = today - dt.timedelta(days=1)
        return saturday, saturday + dt.timedelta(days=1), None
    match = re.fullmatch(r"(morning|afternoon)\s+of\s+(?:the\s+)?(.+)", text)
    if match:
        found = read_date(match.group(2) if re.match(r"\d", match.group(2)) else match.group(2), today)
        if found:
            return found[0], found[1], match.group(1)
        return None
    match = re.fullmatch(rf"(end|start|beginning|middle)\s+of\s+(?:the\s+)?(this\s+|next\s+|last\s+)?"
                         rf"(week|wk|month|year|{MONTH})(?:\s+(20\d\d))?", text)
    if match:
        part, which, unit, year = match.groups()
        shift = {"next ": 1, "last ": -1}.get(which or "", 0)
        if unit in ("week", "wk"):
            first = _monday(today) + dt.timedelta(days=7 * shift)
            last = first + dt.timedelta(days=4)
        elif unit == "month":
            first, last, _ = _month(today.replace(day=1) + relativedelta(months=shift))
        elif unit == "year":
            first, last = dt.date(today.year + shift, 1, 1), dt.date(today.year + shift, 12, 31)
        else:
            first, last, _ = _month(_next_month_named(_month_index(unit), today,
                                                      int(year) if year else None))
        if part in ("start", "beginning"):
            return first, first, None
        if part == "end":
            return last, last, None
        middle = first + (last - first) / 2
        return middle, middle, None
    match = re.fullmatch(rf"(mid|early|late)[\s-]+(?:({MONTH})(?:\s+(20\d\d))?|next\s+(month))", text)
    if match:
        part, name, year, next_month = match.groups()
        if next_month:
            first = today.replace(day=1) + relativedelta(months=1)
        else:
            first = _next_month_named(_month_index(name), today, int(year) if year else None)
        last = _month(first)[1]
        ranges = {"early": (1, 10), "mid": (11, 20), "late": (21, last.day)}
        start, end = ranges[part]
        return first.replace(day=start), first.replace(day=end), None
    match = re.fullmatch(rf"(first|second|third|fourth|last|1st|2nd|3rd|4th)\s+week\s+(?:of|in)\s+"
                         rf"(?:(?:the|this)\s+month|(next)\s+month|({MONTH})(?:\s+(20\d\d))?)", text)
    if match:
        which, next_month, name, year = match.groups()
        if name:
            first = _next_month_named(_month_index(name), today, int(year) if year else None)
        else:
            first = today.replace(day=1) + relativedelta(months=1 if next_month else 0)
        mondays = [first + dt.timedelta(days=d) for d in range(_month(first)[1].day)
                   if (first + dt.timedelta(days=d)).weekday() == 0]
        index = {"first": 0, "1st": 0, "second": 1, "2nd": 1, "third": 2, "3rd": 2,
                 "fourth": 3, "4th": 3, "last": -1}[which]
        return _week(mondays[index])
    match = re.fullmatch(rf"(first|last)\s+(working\s+)?day\s+of\s+(?:the\s+|this\s+)?(next\s+)?"
                         rf"(month|{MONTH})", text)
    if match:
        which, working, next_month, unit = match.groups()
        if unit == "month":
            first = today.replace(day=1) + relativedelta(months=1 if next_month else 0)
        else:
            first = _next_month_named(_month_index(unit), today)
        day = first if which == "first" else _month(first)[1]
        step = dt.timedelta(days=1 if which == "first" else -1)
        while working and day.weekday() >= 5:
            day += step
        return day, day, None
    return None


def _weekday_phrase(text: str, today: dt.date) -> Days | None:
    """Weekdays the reader takes differently: "last Tuesday", "Monday week", "Monday after
    next", "a week on Monday", "a week today"."""
    match = re.fullmatch(rf"last\s+({WEEKDAY})", text)
    if match:
        back = (today.weekday() - _weekday_index(match.group(1))) % 7 or 7
        day = today - dt.timedelta(days=back)
        return day, day, None
    match = (re.fullmatch(rf"(?:next\s+)?({WEEKDAY})\s+(?:week|after\s+next)", text)
             or re.fullmatch(rf"a\s+week\s+on\s+({WEEKDAY})", text))
    if match:
        ahead = (_weekday_index(match.group(1)) - today.weekday()) % 7 or 7
        day = today + dt.timedelta(days=ahead + 7)
        return day, day, None
    match = re.fullmatch(r"a\s+week\s+(today|tomorrow)", text)
    if match:
        day = today + dt.timedelta(days=7 if match.group(1) == "today" else 8)
        return day, day, None
    return None


def _cleaned(span: str) -> str:
    text = " ".join(span.lower().replace("’", "'").split()).strip(" .,")
    text = TOMORROW.sub("tomorrow", text)
    text = re.sub(r"\bweds\b", "wed", text)
    text = re.sub(r"\bwk\b", "week", text)
    text = re.sub(r"\by'?day\b", "yesterday", text)
    text = re.sub(r"'(\d\d)\b", r"20\1", text)  # 2nd June '26
    text = re.sub(r"\b(\d{1,2})-(\d{1,2})-((?:20)?\d\d)\b", r"\1/\2/\3", text)  # 23-12-2026
    text = re.sub(rf"\b(?:this\s+coming|following|coming)\s+({WEEKDAY})\b", r"next \1", text)
    text = re.sub(rf"\b({WEEKDAY})\s+coming\b", r"\1", text)
    return text


def read_date(span: str, today: dt.date) -> Days | None:
    """(first day, last day, half day or None) of a date span as of `today`; None if unread."""
    text = _cleaned(span)
    if not text:
        return None
    for reader in (_holiday, _period, _part_of, _weekday_phrase):
        found = reader(text, today)
        if found:
            return found
    if text in ("this morning", "this afternoon", "this evening", "tonight"):
        return today, today, "morning" if text == "this morning" else "afternoon"
    text = re.sub(r"^(\d{1,2}(?:st|nd|rd|th)?)\s+and\s+", r"\1 to ", text)  # between 10 and 14 May
    text = re.sub(rf"^([^\s]+(?:\s+{MONTH})?)\s+and\s+(?=\S)", r"\1 to ", text)
    past = re.search(r"\b(?:yesterday|ago|last|since)\b", text)
    readers = ((_past, _future) if past else (_future, _past))
    for reader in readers:
        try:
            return reader(text, today)
        except (DateNotUnderstood, ValueError, OverflowError, IndexError):
            continue
    month = parse_month(text, today)
    if month:
        return month.start, month.end, None
    return _range_of_two(text, today)


def _range_of_two(text: str, today: dt.date) -> Days | None:
    """Two spans the reader takes alone, as a range: "Christmas to New Year"."""
    parts = re.split(r"\s*(?:-|–|\bto\b|\buntil\b|\btill\b|\bthrough\b|\bthru\b)\s*(?:the\s+)?", text,
                     maxsplit=1)
    if len(parts) != 2 or not all(parts):
        return None
    first, second = read_date(parts[0], today), read_date(parts[1], today)
    if first is None or second is None or second[1] < first[0]:
        return None
    return first[0], second[1], None


def _future(text: str, today: dt.date) -> Days:
    dates = parse_leave_dates(text, today)
    return dates.start, dates.end, dates.half_day


def _past(text: str, today: dt.date) -> Days:
    day = parse_past_date(text, today)
    return day, day, None


def date_info(span: str, today: dt.date) -> dict[str, Any] | None:
    """The `additional_info` of a date entity (None when the span cannot be read)."""
    days = read_date(span, today)
    if days is None:
        return None
    start, end, half_day = days
    return {"start": start.isoformat(), "end": end.isoformat(), "half_day": half_day,
            "as_of": today.isoformat()}


def month_info(span: str, today: dt.date) -> dict[str, Any] | None:
    """The `additional_info` of a month entity: the next such month (this one counts)."""
    match = re.fullmatch(MONTH, span.strip().lower())
    if not match:
        return None
    first, last, _ = _month(_next_month_named(_month_index(match.group(0)), today))
    return {"start": first.isoformat(), "end": last.isoformat(), "half_day": None,
            "as_of": today.isoformat()}
