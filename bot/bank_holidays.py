"""UK bank holidays from the official data, in gov.uk's own JSON format.

The official source is https://www.gov.uk/bank-holidays.json: one object per division
(`england-and-wales`, `scotland`, `northern-ireland`), each with `events` of `title`, `date`
(ISO), `notes` and `bunting`. A dated copy ships in `bot/reference_data/bank-holidays.json`
and `python -m bot.cli refresh-bank-holidays` replaces it from a configurable URL
(`HELPDESK_BANK_HOLIDAYS_URL`), after checking what it fetched. The copy carries a `metadata`
object (where it came from and when); gov.uk consumers ignore keys they do not know.

The copy shipped in the repository was generated, not downloaded (the build machine has no
internet): `generate_from_holidays_package` writes the `holidays` package's UK calendars in
gov.uk's format, keeping gov.uk's conventions (weekday dates only, "Substitute day" notes).
Run the refresh command on a connected machine to replace it with the official file.

For a year the data does not cover, `BankHolidayCalendar.dates` falls back to the `holidays`
package's rules, so arithmetic never silently treats a far-future bank holiday as a working day.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

DIVISIONS = ("england-and-wales", "scotland", "northern-ireland")
DIVISION_NAMES = {
    "england-and-wales": "England and Wales",
    "scotland": "Scotland",
    "northern-ireland": "Northern Ireland",
}
DEFAULT_URL = "https://www.gov.uk/bank-holidays.json"
DEFAULT_PATH = Path(__file__).resolve().parent / "reference_data" / "bank-holidays.json"
_HOLIDAYS_SUBDIVISIONS = {"england-and-wales": "ENG", "scotland": "SCT", "northern-ireland": "NIR"}
MAX_BYTES = 2_000_000  # the official file is about 20 kB


class BankHolidayDataError(ValueError):
    """Bank-holiday data is missing, malformed or not in gov.uk's format."""


@dataclass(frozen=True)
class BankHoliday:
    date: dt.date
    title: str
    notes: str = ""


def validate(data: Any) -> dict[str, list[BankHoliday]]:
    """Check gov.uk's format and return the holidays of each division, sorted by date."""
    if not isinstance(data, Mapping):
        raise BankHolidayDataError("bank-holiday data must be a JSON object")
    result: dict[str, list[BankHoliday]] = {}
    for division in DIVISIONS:
        block = data.get(division)
        if not isinstance(block, Mapping) or not isinstance(block.get("events"), list):
            raise BankHolidayDataError(f"division {division!r} is missing or has no events")
        if block.get("division", division) != division:
            raise BankHolidayDataError(
                f"division {division!r} is labelled {block.get('division')!r}"
            )
        events: list[BankHoliday] = []
        for index, event in enumerate(block["events"]):
            if not isinstance(event, Mapping):
                raise BankHolidayDataError(f"{division} event {index} is not an object")
            title, date, notes = event.get("title"), event.get("date"), event.get("notes", "")
            if not isinstance(title, str) or not title.strip():
                raise BankHolidayDataError(f"{division} event {index} has no title")
            try:
                day = dt.date.fromisoformat(date) if isinstance(date, str) else None
            except ValueError:
                day = None
            if day is None:
                raise BankHolidayDataError(f"{division} event {index} has no ISO date")
            events.append(BankHoliday(day, title.strip(), notes if isinstance(notes, str) else ""))
        if not events:
            raise BankHolidayDataError(f"division {division!r} has no events")
        events.sort(key=lambda h: h.date)
        result[division] = events
    return result


class BankHolidayCalendar:
    """The bank holidays of the three divisions, with a rule-based fallback beyond the data."""

    def __init__(
        self, events: Mapping[str, list[BankHoliday]], metadata: Mapping[str, Any] | None = None
    ) -> None:
        self._events = {division: list(events[division]) for division in DIVISIONS}
        self.metadata = dict(metadata or {})
        all_dates = [h.date for events_ in self._events.values() for h in events_]
        self.first_year = min(all_dates).year
        self.last_year = max(all_dates).year

    @classmethod
    def from_json(cls, data: Any) -> "BankHolidayCalendar":
        metadata = data.get("metadata") if isinstance(data, Mapping) else None
        return cls(validate(data), metadata if isinstance(metadata, Mapping) else None)

    def covers(self, year: int) -> bool:
        return self.first_year <= year <= self.last_year

    def holidays_in(self, division: str, start: dt.date, end: dt.date) -> list[BankHoliday]:
        """Bank holidays of `division` from `start` to `end` inclusive."""
        _check_division(division)
        found = [h for h in self._events[division] if start <= h.date <= end]
        for year in range(start.year, end.year + 1):
            if not self.covers(year):
                found.extend(h for h in _computed(division, year) if start <= h.date <= end)
        return sorted(found, key=lambda h: h.date)

    def dates(self, division: str, start: dt.date, end: dt.date) -> frozenset[dt.date]:
        return frozenset(h.date for h in self.holidays_in(division, start, end))

    def upcoming(self, division: str, today: dt.date, count: int = 3) -> list[BankHoliday]:
        """The next `count` bank holidays on or after `today`."""
        horizon = today + dt.timedelta(days=400 + 370 * (count // 8))
        return self.holidays_in(division, today, horizon)[:count]


def _check_division(division: str) -> None:
    if division not in DIVISIONS:
        raise BankHolidayDataError(f"unknown division {division!r}; one of {', '.join(DIVISIONS)}")


# gov.uk's titles for the holidays the `holidays` package names differently.
_GOVUK_TITLES = {
    "New Year's Day": "New Year’s Day",
    "New Year Holiday": "2nd January",
    "May Day": "Early May bank holiday",
    "Spring Bank Holiday": "Spring bank holiday",
    "Late Summer Bank Holiday": "Summer bank holiday",
    "Summer Bank Holiday": "Summer bank holiday",
    "Saint Andrew's Day": "St Andrew’s Day",
    "Saint Patrick's Day": "St Patrick’s Day",
    "Battle of the Boyne": "Battle of the Boyne (Orangemen’s Day)",
}


@lru_cache(maxsize=64)
def _computed(division: str, year: int) -> tuple[BankHoliday, ...]:
    """One year of one division from the `holidays` package, in gov.uk's conventions."""
    import holidays  # imported lazily: only needed beyond the official data

    calendar = holidays.country_holidays("GB", subdiv=_HOLIDAYS_SUBDIVISIONS[division], years=year)
    result = []
    for day, names in sorted(calendar.items()):
        if day.weekday() >= 5:  # gov.uk lists the weekday a holiday is observed on
            continue
        for name in names.split("; "):
            observed = name.endswith(" (observed)")
            base = name.removesuffix(" (observed)")
            result.append(
                BankHoliday(
                    day, _GOVUK_TITLES.get(base, base), "Substitute day" if observed else ""
                )
            )
            break
    return tuple(result)


def generate_from_holidays_package(years: Iterable[int], generated_on: dt.date) -> dict[str, Any]:
    """gov.uk-format data computed by the `holidays` package (for a machine without internet)."""
    import holidays

    data: dict[str, Any] = {
        "metadata": {
            "source": f"generated from the 'holidays' Python package {holidays.__version__}, "
            "not downloaded from gov.uk",
            "format": DEFAULT_URL,
            "generated_on": generated_on.isoformat(),
            "replace_with": "python -m bot.cli refresh-bank-holidays",
        }
    }
    for division in DIVISIONS:
        events = [
            {"title": h.title, "date": h.date.isoformat(), "notes": h.notes, "bunting": True}
            for year in years
            for h in _computed(division, year)
        ]
        data[division] = {"division": division, "events": events}
    return data


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime_ns: int) -> BankHolidayCalendar:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as error:
        raise BankHolidayDataError(f"cannot read bank-holiday data {path}: {error}") from error
    return BankHolidayCalendar.from_json(data)


def load(path: Path | str | None = None) -> BankHolidayCalendar:
    """The calendar in `path` (the shipped copy by default), re-read when the file changes."""
    file = Path(path) if path else DEFAULT_PATH
    try:
        mtime = file.stat().st_mtime_ns
    except OSError as error:
        raise BankHolidayDataError(f"no bank-holiday data at {file}") from error
    return _load_cached(str(file), mtime)


def refresh(
    url: str,
    path: Path | str | None = None,
    *,
    timeout: float = 20.0,
    now: dt.datetime | None = None,
) -> BankHolidayCalendar:
    """Fetch gov.uk-format JSON from `url`, check it, and replace the file atomically.

    Raises BankHolidayDataError (the file is left untouched) on any network, size or format
    problem.
    """
    import requests

    target = Path(path) if path else DEFAULT_PATH
    try:
        response = requests.get(url, timeout=timeout, headers={"Accept": "application/json"})
        response.raise_for_status()
        body = response.content
    except requests.RequestException as error:
        raise BankHolidayDataError(f"could not fetch {url}: {type(error).__name__}") from error
    if len(body) > MAX_BYTES:
        raise BankHolidayDataError(f"{url} returned more than {MAX_BYTES} bytes")
    try:
        data = json.loads(body)
    except ValueError as error:
        raise BankHolidayDataError(f"{url} did not return JSON") from error
    calendar = BankHolidayCalendar.from_json(data)  # validates before anything is written
    fetched = (now or dt.datetime.now(dt.timezone.utc)).isoformat(timespec="seconds")
    data = {key: value for key, value in data.items() if key in DIVISIONS}
    data["metadata"] = {
        "source": url,
        "fetched_at": fetched,
        "replace_with": "python -m bot.cli refresh-bank-holidays",
    }
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=".bank-holidays-", suffix=".json"
    )
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            json.dump(data, stream, ensure_ascii=False, indent=1)
            stream.write("\n")
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    calendar.metadata = data["metadata"]
    return calendar
