"""Leave dates in the words people type: "3rd to 7th March", "next Friday", "w/c 14 April",
"half day on Friday afternoon", "14/04 - 17/04", and corrections ("actually make that the 8th").

Individual calendar dates ("7 March 2027", "14/04", "2027-04-14") are read by dateutil's
parser, day first (UK usage); this module adds what a general parser does not do: ranges that
share a month, weekdays relative to today, weeks commencing, half days, and the rule that a
date without a year is the next one to come. Weekdays: "Friday" and "next Friday" both mean
the first Friday after today ("this Friday" may be today); the confirmation step always shows
the actual date, so the employee can correct it.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, replace

from dateutil import parser as date_parser
from dateutil.relativedelta import relativedelta

MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
DAY = r"(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?"
YEAR = r"(?:20\d\d)"
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
WEEKDAY = r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|sat(?:urday)?|sun(?:day)?)"

TOKEN = re.compile(
    rf"""
    (?P<iso>\b20\d\d-\d\d-\d\d\b)
  | (?P<numeric>\b\d{{1,2}}[/.]\d{{1,2}}(?:[/.](?:20)?\d\d)?\b)
  | (?P<daymonth>\b{DAY}(?:\s+of)?\s+{MONTH}\b(?:,?\s+{YEAR}\b)?)
  | (?P<monthday>\b{MONTH}\s+{DAY}\b(?:,?\s+{YEAR}\b)?)
  | (?P<relative>\b(?:today|tomorrow|tmrw|day\s+after\s+tomorrow)\b)
  | (?P<weekday>\b(?:(?:next|this|on|coming)\s+)?{WEEKDAY}\b(?:\s+(?:next|this)\s+week\b)?)
  | (?P<bareday>\b(?:the\s+)?{DAY}\b(?!\s*(?:days?|weeks?|hours?|hrs?|am|pm|%|miles?)\b))
    """,
    re.IGNORECASE | re.VERBOSE,
)
WEEK_COMMENCING = re.compile(
    r"\b(?:w/?c|wc|week\s+(?:commencing|beginning|starting|of))\b\.?", re.I
)
NEXT_WEEK = re.compile(r"\b(?:all\s+(?:of\s+)?)?next\s+week\b", re.I)
HALF_DAY = re.compile(r"\b(half[\s-]?day|morning|afternoon|a\.?m\.?|p\.?m\.?)\b", re.I)
MORNING = re.compile(r"\b(morning|a\.?m\.?)\b", re.I)
AFTERNOON = re.compile(r"\b(afternoon|p\.?m\.?)\b", re.I)
START_WORDS = re.compile(r"\b(start|starting|begin|beginning|from|first\s+day)\b", re.I)
END_WORDS = re.compile(r"\b(end|ending|finish|finishing|until|till|til|last\s+day|back)\b", re.I)


class DateNotUnderstood(ValueError):
    """No date, or an impossible one, in the text."""


@dataclass(frozen=True)
class DateRange:
    start: dt.date
    end: dt.date
    half_day: str | None = None  # None, "morning", "afternoon" or "half" (unspecified)

    @property
    def single_day(self) -> bool:
        return self.start == self.end


@dataclass(frozen=True)
class _Token:
    kind: str
    text: str
    position: int


def _tokens(text: str) -> list[_Token]:
    found = []
    for match in TOKEN.finditer(text):
        kind = match.lastgroup or ""
        found.append(_Token(kind, match.group(0), match.start()))
    # "Monday 7 December", "Friday the 10th": the weekday names the date that follows it
    merged = []
    for index, token in enumerate(found):
        following = found[index + 1] if index + 1 < len(found) else None
        if (
            token.kind == "weekday"
            and following is not None
            and following.kind in ("iso", "numeric", "daymonth", "monthday", "bareday")
            and following.position - (token.position + len(token.text)) <= 3
        ):
            continue
        merged.append(token)
    return merged


def _next_on_or_after(day: int, month: int, today: dt.date) -> dt.date:
    for year in (today.year, today.year + 1):
        try:
            candidate = dt.date(year, month, day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise DateNotUnderstood(f"{day}/{month} is not a date")


def _explicit(token: _Token, today: dt.date) -> tuple[dt.date, bool]:
    """(date, year given) for a calendar date token."""
    text = re.sub(r"(\d)(st|nd|rd|th)\b", r"\1", token.text, flags=re.I).replace(" of ", " ")
    has_year = bool(re.search(r"20\d\d", text)) or (
        token.kind == "numeric" and text.count("/") + text.count(".") == 2
    )
    try:
        parsed = date_parser.parse(
            text,
            dayfirst=token.kind != "iso",
            yearfirst=token.kind == "iso",
            default=dt.datetime(today.year, today.month, 1),
        ).date()
    except (ValueError, OverflowError) as error:
        raise DateNotUnderstood(token.text) from error
    if has_year:
        return parsed, True
    return _next_on_or_after(parsed.day, parsed.month, today), False


def _weekday(token: _Token, today: dt.date) -> dt.date:
    text = token.text.lower()
    name = re.search(WEEKDAY, text, re.I).group(0)[:3]  # type: ignore[union-attr]
    index = [w[:3] for w in WEEKDAYS].index(name)
    if "next week" in text:
        monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
        return monday + dt.timedelta(days=index)
    if "this week" in text:
        return today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=index)
    if text.startswith("this"):
        return today + relativedelta(weekday=index)  # today or later
    return today + dt.timedelta(days=1) + relativedelta(weekday=index)  # strictly after today


def _relative(token: _Token, today: dt.date) -> dt.date:
    text = token.text.lower()
    if text == "today":
        return today
    if "after" in text:
        return today + dt.timedelta(days=2)
    return today + dt.timedelta(days=1)


def _bare_day(token: _Token) -> int:
    return int(re.search(r"\d+", token.text).group(0))  # type: ignore[union-attr]


def _resolve(token: _Token, today: dt.date, month_hint: dt.date | None = None) -> dt.date:
    if token.kind in ("iso", "numeric", "daymonth", "monthday"):
        return _explicit(token, today)[0]
    if token.kind == "weekday":
        return _weekday(token, today)
    if token.kind == "relative":
        return _relative(token, today)
    day = _bare_day(token)
    if month_hint is not None:
        try:
            return month_hint.replace(day=day)
        except ValueError as error:
            raise DateNotUnderstood(token.text) from error
    for months_ahead in range(0, 3):  # this month if still to come, else the next
        base = today.replace(day=1) + relativedelta(months=months_ahead)
        try:
            candidate = base.replace(day=day)
        except ValueError:
            continue
        if candidate >= today:
            return candidate
    raise DateNotUnderstood(token.text)


def _half(text: str) -> str | None:
    if not HALF_DAY.search(text):
        return None
    if MORNING.search(text):
        return "morning"
    if AFTERNOON.search(text):
        return "afternoon"
    return "half"


def _range_from(tokens: list[_Token], today: dt.date) -> tuple[dt.date, dt.date]:
    first, second = tokens[0], tokens[1]
    if first.kind == "bareday" and second.kind != "bareday":
        end = _resolve(second, today)
        start = _resolve(first, today, month_hint=end)
        if start > end:  # "28th to 3rd March" spans a month end
            start = end.replace(day=1) - relativedelta(months=1)
            start = start.replace(day=_bare_day(first))
        return start, end
    start = _resolve(first, today)
    if second.kind == "bareday":
        end = _resolve(second, today, month_hint=start)
        if end < start:
            end = (start.replace(day=1) + relativedelta(months=1)).replace(day=_bare_day(second))
        return start, end
    end = _resolve(second, today)
    if (
        end < start
        and second.kind in ("daymonth", "monthday", "numeric")
        and not re.search(r"20\d\d", second.text)
    ):
        end = end.replace(year=end.year + 1)
    return start, end


def parse_leave_dates(text: str, today: dt.date) -> DateRange:
    """The leave dates in `text`; raises DateNotUnderstood if there are none."""
    text = " ".join((text or "").split())
    if NEXT_WEEK.search(text) and not re.search(WEEKDAY, text, re.I):
        monday = today - dt.timedelta(days=today.weekday()) + dt.timedelta(days=7)
        return DateRange(monday, monday + dt.timedelta(days=4))
    tokens = [t for t in _tokens(text)]
    strong = [t for t in tokens if t.kind != "bareday"]
    if not strong:
        # bare numbers alone ("the 8th", "3 to 7") are dates only when said as ordinals
        tokens = [t for t in tokens if re.search(r"(st|nd|rd|th)$|^the\s", t.text, re.I)]
        if not tokens:
            raise DateNotUnderstood(text)
    week = WEEK_COMMENCING.search(text)
    if week:
        after = [t for t in tokens if t.position > week.start()]
        if not after:
            raise DateNotUnderstood(text)
        start = _resolve(after[0], today)
        return DateRange(start, start + dt.timedelta(days=(4 - start.weekday()) % 7 or 0))
    if len(tokens) >= 2:
        start, end = _range_from(tokens, today)
        return DateRange(start, end)
    day = _resolve(tokens[0], today)
    return DateRange(day, day, _half(text))


def apply_correction(text: str, current: DateRange, today: dt.date) -> DateRange:
    """The range after a correction such as "make that the 8th" or "start on the 4th instead".

    A new full range replaces the old one; a single date replaces the start if the text says
    so ("start", "from"), else the end ("end", "until", or simply a date after the start); a
    one-day booking moves. Bare day numbers keep the month of the date they replace.
    """
    text = " ".join((text or "").split())
    tokens = _tokens(text)
    if not tokens:
        raise DateNotUnderstood(text)
    if len(tokens) >= 2 or WEEK_COMMENCING.search(text) or NEXT_WEEK.search(text):
        return parse_leave_dates(text, today)
    token = tokens[0]
    wants_start = bool(START_WORDS.search(text)) and not END_WORDS.search(text)
    anchor = current.start if wants_start else current.end
    new = _resolve(token, today, month_hint=anchor if token.kind == "bareday" else None)
    half = _half(text)
    if current.single_day:
        return DateRange(new, new, half if half else current.half_day)
    if wants_start:
        return replace(current, start=new)
    if END_WORDS.search(text) or new >= current.start:
        return replace(current, end=new)
    return replace(current, start=new)


PAST_RELATIVE = re.compile(r"\b(today|yesterday|day before yesterday)\b", re.I)


def parse_past_date(text: str, today: dt.date) -> dt.date:
    """One date on or before today, for things that have happened (an expense, a first day
    off sick): "yesterday", "last Tuesday", "Monday", "3 November", "03/11". A date without a
    year is the most recent one; a weekday is the most recent such day (today counts)."""
    text = " ".join((text or "").split())
    relative = PAST_RELATIVE.search(text)
    if relative:
        word = relative.group(1).lower()
        return today - dt.timedelta(days={"today": 0, "yesterday": 1}.get(word, 2))
    tokens = [t for t in _tokens(text) if t.kind != "relative"]
    strong = [t for t in tokens if t.kind != "bareday"] or [
        t for t in tokens if re.search(r"(st|nd|rd|th)$|^the\s", t.text, re.I)
    ]
    if not strong:
        raise DateNotUnderstood(text)
    token = strong[0]
    if token.kind == "weekday":
        name = re.search(WEEKDAY, token.text, re.I).group(0)[:3].lower()  # type: ignore[union-attr]
        index = [w[:3] for w in WEEKDAYS].index(name)
        return today - dt.timedelta(days=(today.weekday() - index) % 7)
    if token.kind == "bareday":
        day = _bare_day(token)
        for months_back in range(0, 3):
            base = today.replace(day=1) - relativedelta(months=months_back)
            try:
                candidate = base.replace(day=day)
            except ValueError:
                continue
            if candidate <= today:
                return candidate
        raise DateNotUnderstood(text)
    day, has_year = _explicit(token, today)
    if not has_year:
        while day > today:
            day = day.replace(year=day.year - 1)
    return day


MONTH_ALONE = re.compile(rf"\b(?:in|during|for|of)?\s*({MONTH})\b(?:\s+({YEAR}))?", re.I)


def parse_month(text: str, today: dt.date) -> DateRange | None:
    """A whole month named on its own ("my leave in June"): the next such month (this one counts)."""
    match = MONTH_ALONE.search(text or "")
    if (
        not match
        or match.group(1).lower() in ("may",)
        and not re.search(r"\b(in|during|for)\s+may\b", text, re.I)
    ):
        return None
    month = date_parser.parse(match.group(1)).month
    year = (
        int(match.group(2))
        if match.group(2)
        else (today.year if month >= today.month else today.year + 1)
    )
    start = dt.date(year, month, 1)
    return DateRange(start, start + relativedelta(months=1) - dt.timedelta(days=1))
