"""The caller's bank holidays: the next ones of the region they work in (whose bank holidays
apply), how recent the bank-holiday data is, and their privilege leave this leave year."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from bot.backoffice.registry import backoffice
from bot.backoffice.types import Entitlement, LeaveType
from bot.bank_holidays import BankHoliday, DIVISION_NAMES, load as load_bank_holidays
from bot.identity import EmployeeRef, Principal
from bot.records.access import read_own
from bot.storage.database import Database

DEFAULT_REGION = "england-and-wales"  # an employee with no employment record
UPCOMING = 4  # bank holidays listed


@dataclass(frozen=True)
class HolidayFacts:
    region: str  # gov.uk's division name
    region_name: str  # as people say it ("England and Wales")
    upcoming: list[BankHoliday]  # the region's next bank holidays, from today
    data_as_of: str | None  # the day the bank-holiday data was fetched or generated
    privilege: list[Entitlement]  # this leave year's privilege leave, if any


def my_holiday_facts(
    db: Database, principal: Principal, today: dt.date, *, about: Iterable[str] = ()
) -> HolidayFacts:
    def read(me: EmployeeRef) -> tuple[str, list[Entitlement]]:
        office = backoffice(db)
        employment = office.people.employment(me.id)
        privilege = [
            e
            for e in office.absence.leave_position(me.id).entitlements
            if e.leave_type is LeaveType.PRIVILEGE and e.year_start <= today <= e.year_end
        ]
        return (employment.region if employment else DEFAULT_REGION), privilege

    region, privilege = read_own(db, principal, "work_region", read, about=about)
    calendar = load_bank_holidays()
    source = calendar.metadata.get("fetched_at") or calendar.metadata.get("generated_on")
    return HolidayFacts(
        region=region,
        region_name=DIVISION_NAMES[region],
        upcoming=calendar.upcoming(region, today, count=UPCOMING),
        data_as_of=str(source)[:10] if source else None,
        privilege=privilege,
    )
