"""Pay: payslips, pay dates, salary and pay band, tax code, P60 / P11D. The caller's own only."""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from dateutil.relativedelta import relativedelta
from bot.bank_holidays import BankHolidayCalendar
from bot.bank_holidays import load as load_bank_holidays
from bot.identity import EmployeeRef, Principal
from bot.storage.database import Database

from .access import read_own
from bot.backoffice.registry import backoffice
from bot.backoffice.types import PayslipView, SalaryView, TaxCodeView

from .tax_codes import TaxCodeMeaning, explain

FULL_TIME_HOURS = 37  # civil-service full-time week (36 in London in some departments)


@dataclass(frozen=True)
class PayslipAnswer:
    given_name: str
    payslip: PayslipView | None  # None: nothing for the month asked (or no payslips at all)
    asked_for: dt.date | None  # first day of the month asked about, if any
    latest_period: dt.date | None


def my_payslip(
    db: Database,
    principal: Principal,
    today: dt.date,
    month: int | None = None,
    year: int | None = None,
    *,
    about: Iterable[str] = (),
) -> PayslipAnswer:
    """The latest payslip, or the one for `month` (the latest such month up to today)."""

    def read(me: EmployeeRef) -> PayslipAnswer:
        slips = backoffice(db).payroll.payslips(me.id, limit=36)
        latest = slips[0].period_start if slips else None
        if month is None:
            return PayslipAnswer(me.given_name, slips[0] if slips else None, None, latest)
        if year is None:  # the most recent such month that has a payslip
            match = next((s for s in slips if s.period_start.month == month), None)
            wanted = (
                match.period_start
                if match
                else dt.date(today.year if month <= today.month else today.year - 1, month, 1)
            )
        else:
            wanted = dt.date(year, month, 1)
            match = next((s for s in slips if s.period_start == wanted), None)
        return PayslipAnswer(me.given_name, match, wanted, latest)

    return read_own(db, principal, "payslip", read, about=about)


@dataclass(frozen=True)
class PayDateAnswer:
    next_pay_date: dt.date
    period: dt.date
    following: dt.date | None
    from_payroll_calendar: bool  # False: worked out by the rule, the calendar had no date


def last_working_day(year: int, month: int, holidays: BankHolidayCalendar, region: str) -> dt.date:
    """The default civil-service pay day: the last working day of the month."""
    day = dt.date(year, month, calendar.monthrange(year, month)[1])
    closed = holidays.dates(region, day.replace(day=1), day)
    while day.weekday() >= 5 or day in closed:
        day -= dt.timedelta(days=1)
    return day


def my_pay_date(
    db: Database, principal: Principal, today: dt.date, *, about: Iterable[str] = ()
) -> PayDateAnswer:
    def read(me: EmployeeRef) -> PayDateAnswer:
        office = backoffice(db)
        dates = office.payroll.pay_dates(me.id, today, today + dt.timedelta(days=70))
        employment = None if dates else office.people.employment(me.id)
        if dates:
            (period, paid), *rest = dates
            return PayDateAnswer(paid, period, rest[0][1] if rest else None, True)
        region = employment.region if employment else "england-and-wales"
        holidays = load_bank_holidays()
        days = []
        for offset in range(3):
            month_start = today.replace(day=1) + relativedelta(months=offset)
            days.append(
                (
                    month_start,
                    last_working_day(month_start.year, month_start.month, holidays, region),
                )
            )
        upcoming = [(p, d) for p, d in days if d >= today]
        return PayDateAnswer(
            upcoming[0][1], upcoming[0][0], upcoming[1][1] if len(upcoming) > 1 else None, False
        )

    return read_own(db, principal, "pay_date", read, about=about)


@dataclass(frozen=True)
class SalaryAnswer:
    salary: SalaryView | None
    grade: str
    contracted_hours: float | None
    actual_annual: int | None  # pro rata for part-time hours


def my_salary(
    db: Database, principal: Principal, today: dt.date, *, about: Iterable[str] = ()
) -> SalaryAnswer:
    def read(me: EmployeeRef) -> SalaryAnswer:
        office = backoffice(db)
        salary = office.payroll.salary(me.id, today)
        employment = office.people.employment(me.id)
        pattern = office.people.working_pattern(me.id, today)
        hours = float(pattern.contracted_hours) if pattern else None
        actual = None
        if salary and hours is not None and hours < FULL_TIME_HOURS:
            actual = round(salary.annual_salary * hours / FULL_TIME_HOURS)
        return SalaryAnswer(salary, employment.grade if employment else "", hours, actual)

    return read_own(db, principal, "salary", read, about=about)


@dataclass(frozen=True)
class TaxCodeAnswer:
    tax_code: TaxCodeView | None
    meaning: TaxCodeMeaning | None


def my_tax_code(
    db: Database, principal: Principal, today: dt.date, *, about: Iterable[str] = ()
) -> TaxCodeAnswer:
    def read(me: EmployeeRef) -> TaxCodeAnswer:
        code = backoffice(db).payroll.tax_code(me.id, today)
        return TaxCodeAnswer(code, explain(code.code, code.basis) if code else None)

    return read_own(db, principal, "tax_code", read, about=about)


def tax_year_of(day: dt.date) -> tuple[dt.date, dt.date]:
    """The UK tax year (6 April to 5 April) containing `day`."""
    start_year = day.year if day >= dt.date(day.year, 4, 6) else day.year - 1
    return dt.date(start_year, 4, 6), dt.date(start_year + 1, 4, 5)


@dataclass(frozen=True)
class TaxYearStatement:
    """What the P60 for the last complete tax year will show, from the caller's payslips."""

    tax_year_start: dt.date
    tax_year_end: dt.date
    issued_by: dt.date  # employers must issue P60s by 31 May
    available: bool
    total_pay: int
    total_tax: int
    payslips: int


def my_annual_tax_statement(
    db: Database, principal: Principal, today: dt.date, *, about: Iterable[str] = ()
) -> TaxYearStatement:
    def read(me: EmployeeRef) -> TaxYearStatement:
        this_start, _ = tax_year_of(today)
        start, end = tax_year_of(this_start - dt.timedelta(days=1))
        slips = [
            s
            for s in backoffice(db).payroll.payslips(me.id, limit=36)
            if start <= s.pay_date <= end
        ]
        issued_by = dt.date(end.year, 5, 31)
        return TaxYearStatement(
            start,
            end,
            issued_by,
            today >= issued_by,
            sum(s.gross for s in slips),
            sum(s.tax for s in slips),
            len(slips),
        )

    return read_own(db, principal, "annual_tax_statement", read, about=about)
