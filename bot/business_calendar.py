"""Working time: when the helpdesk is staffed, and arithmetic in working minutes.

A `BusinessCalendar` is opening hours in one time zone (Mon-Fri 09:00-17:00 Europe/London by
default) minus the UK bank holidays of one jurisdiction. SLA due times are "start + N working
hours" on this calendar. Holidays come from the `holidays` package (it knows the substitute
days, e.g. Boxing Day observed on the Monday); extra closure days (privilege days, office
closures) can be added per deployment.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

# Bank holidays differ between the UK's three legal jurisdictions.
REGIONS = {
    "england-and-wales": "ENG",
    "scotland": "SCT",
    "northern-ireland": "NIR",
}
WEEKDAYS = frozenset(range(5))  # Monday..Friday


class CalendarError(ValueError):
    """A business calendar setting is malformed."""


@lru_cache(maxsize=64)
def _bank_holidays(region: str, year: int) -> frozenset[dt.date]:
    try:
        subdivision = REGIONS[region]
    except KeyError:
        raise CalendarError(f"unknown bank holiday region {region!r}; "
                            f"choose one of {', '.join(sorted(REGIONS))}") from None
    return frozenset(holidays.country_holidays("GB", subdiv=subdivision, years=year))


def parse_hours(value: str) -> tuple[dt.time, dt.time]:
    """'09:00-17:00' → (09:00, 17:00); the day must open before it closes."""
    try:
        opens, closes = (dt.time.fromisoformat(part.strip()) for part in value.split("-"))
    except ValueError:
        raise CalendarError(f"business hours must look like 09:00-17:00, not {value!r}") from None
    if opens >= closes:
        raise CalendarError(f"business hours {value!r} close before they open")
    return opens, closes


@dataclass(frozen=True)
class BusinessCalendar:
    """Opening hours in `timezone` on working days that are not bank holidays."""

    timezone: str = "Europe/London"
    opens: dt.time = dt.time(9, 0)
    closes: dt.time = dt.time(17, 0)
    region: str = "england-and-wales"
    working_weekdays: frozenset[int] = WEEKDAYS
    extra_closures: frozenset[dt.date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        _bank_holidays(self.region, 2000)  # fail fast on an unknown region
        ZoneInfo(self.timezone)

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    def is_working_day(self, day: dt.date) -> bool:
        return (
            day.weekday() in self.working_weekdays
            and day not in _bank_holidays(self.region, day.year)
            and day not in self.extra_closures
        )

    def _window(self, day: dt.date) -> tuple[dt.datetime, dt.datetime]:
        # Opening hours never straddle a DST change (those happen at 01:00-02:00), so
        # wall-clock differences inside one day's window are real elapsed time.
        return (dt.datetime.combine(day, self.opens, tzinfo=self.zone),
                dt.datetime.combine(day, self.closes, tzinfo=self.zone))

    def _local(self, moment: dt.datetime) -> dt.datetime:
        if moment.tzinfo is None:
            raise ValueError("business calendar arithmetic needs timezone-aware datetimes")
        return moment.astimezone(self.zone)

    def add_working_time(self, start: dt.datetime, duration: dt.timedelta) -> dt.datetime:
        """The moment `duration` of working time after `start` (returned in UTC).

        A target that uses up a day exactly ends at closing time that day, not at opening
        time on the next working day.
        """
        if duration < dt.timedelta(0):
            raise ValueError("duration must not be negative")
        cursor = self._local(start)
        remaining = duration
        day = cursor.date()
        for _ in range(3660):  # ten years of days: a calendar with no working day is an error
            if self.is_working_day(day):
                opens, closes = self._window(day)
                begin = max(cursor, opens)
                if begin <= closes:
                    available = closes - begin
                    if remaining <= available:
                        return (begin + remaining).astimezone(dt.timezone.utc)
                    remaining -= available
            day += dt.timedelta(days=1)
        raise CalendarError("no working time found within ten years")

    def working_time_between(self, start: dt.datetime, end: dt.datetime) -> dt.timedelta:
        """Working time elapsed from `start` to `end` (zero if `end` is not after `start`)."""
        begin, finish = self._local(start), self._local(end)
        total = dt.timedelta(0)
        day = begin.date()
        while day <= finish.date():
            if self.is_working_day(day):
                opens, closes = self._window(day)
                low, high = max(begin, opens), min(finish, closes)
                if high > low:
                    total += high - low
            day += dt.timedelta(days=1)
        return total

    def add_working_days(self, start: dt.datetime, days: int) -> dt.datetime:
        """Closing time of the `days`-th working day after the day of `start` (in UTC)."""
        day = self._local(start).date()
        counted = 0
        while counted < days:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return self._window(day)[1].astimezone(dt.timezone.utc)


def calendar_from_settings(
    timezone: str, hours: str, region: str, closures: Iterable[dt.date] = ()
) -> BusinessCalendar:
    opens, closes = parse_hours(hours)
    return BusinessCalendar(timezone=timezone, opens=opens, closes=closes, region=region,
                            extra_closures=frozenset(closures))
