"""Importing real extracts: CSV files in the documented format (docs/csv-import.md).

Each row is validated on its own (types, ranges, formats: pydantic models), then against the
rest of the file and the database (unknown department, duplicate key, a line manager who does
not exist, a net pay that isn't gross minus deductions). If any row is rejected nothing is
written: the report lists every rejected row with its line number, column and reason (never
the value, which may be personal data). A clean file is written in one transaction, so an
error while writing leaves nothing half-imported either. Re-importing a file updates the rows
it matched (by employee number, by employee and month, ...) rather than duplicating them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.backoffice.record_tables import (
    CostCentre,
    EmploymentRecord,
    LeaveEntitlement,
    Payslip,
    WorkingPattern,
)
from bot.backoffice.types import LeaveType, Region
from bot.storage.database import Database
from bot.storage.models import Department, Employee

from .money import parse_pounds

MAX_ROWS = 200_000


class CsvImportError(ValueError):
    """The file itself cannot be imported (unknown kind, wrong header, unreadable)."""


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


def _pence(value: Any) -> int:
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if not re.fullmatch(r"-?\d+(\.\d{1,2})?", text.replace(",", "")):
        raise ValueError("must be an amount in pounds with at most two decimals, e.g. 1234.56")
    negative = text.startswith("-")
    pence = parse_pounds(text.lstrip("-"))
    if pence is None:
        raise ValueError("must be an amount in pounds")
    return -pence if negative else pence


def _pattern(value: Any) -> tuple[Decimal, ...]:
    parts = [p.strip() for p in str(value).split(",")]
    if len(parts) != 7:
        raise ValueError("must be seven day fractions, Monday to Sunday, e.g. 1,1,1,1,0.5,0,0")
    fractions = tuple(Decimal(p) for p in parts)
    if any(f not in (Decimal(0), Decimal("0.5"), Decimal(1)) for f in fractions) or not any(
        fractions
    ):
        raise ValueError("each day must be 0, 0.5 or 1, with at least one working day")
    return fractions


Text = Annotated[
    str, BeforeValidator(lambda v: " ".join(str(v).split())), Field(min_length=1, max_length=100)
]
EmployeeNumber = Annotated[
    str, BeforeValidator(lambda v: str(v).strip().upper()), Field(pattern=r"^E\d{4,6}$")
]
Money = Annotated[int, BeforeValidator(_pence)]
NonNegativeMoney = Annotated[int, BeforeValidator(_pence), Field(ge=0)]
Email = Annotated[
    str,
    BeforeValidator(lambda v: str(v).strip()),
    Field(pattern=r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$", max_length=254),
]
DayCount = Annotated[Decimal, Field(ge=0, le=100, multiple_of=Decimal("0.5"))]
Month = Annotated[
    dt.date,
    BeforeValidator(
        lambda v: dt.date.fromisoformat(f"{str(v).strip()}-01")
        if re.fullmatch(r"\d{4}-\d{2}", str(v).strip())
        else v
    ),
]


class _Row(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class EmployeeRow(_Row):
    employee_number: EmployeeNumber
    given_name: Text
    family_name: Text
    email: Email
    department_code: Annotated[str, Field(pattern=r"^[A-Z]{2,16}$")]
    grade: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,16}$")]
    line_manager_number: Annotated[EmployeeNumber | None, BeforeValidator(_blank_to_none)] = None
    cost_centre_code: Annotated[str, Field(pattern=r"^[A-Z]{2,8}-\d{1,6}$")]
    work_region: Region
    start_date: dt.date
    working_pattern: Annotated[tuple[Decimal, ...], BeforeValidator(_pattern)]
    contracted_hours: Annotated[Decimal, Field(gt=0, le=48, decimal_places=1)]

    @model_validator(mode="after")
    def _not_own_manager(self) -> "EmployeeRow":
        if self.line_manager_number == self.employee_number:
            raise ValueError("line_manager_number: an employee cannot be their own line manager")
        return self


class LeaveEntitlementRow(_Row):
    employee_number: EmployeeNumber
    leave_type: LeaveType
    year_start: dt.date
    year_end: dt.date
    entitlement_days: DayCount
    carried_over_days: DayCount = Decimal(0)

    @model_validator(mode="after")
    def _year(self) -> "LeaveEntitlementRow":
        days = (self.year_end - self.year_start).days
        if not 300 <= days <= 370:
            raise ValueError("year_end: a leave year runs for about a year after year_start")
        return self


class PayslipRow(_Row):
    employee_number: EmployeeNumber
    period: Month
    pay_date: dt.date
    tax_code: Annotated[
        str,
        BeforeValidator(lambda v: " ".join(str(v).split()).upper()),
        Field(pattern=r"^[A-Z0-9 /]{2,12}$"),
    ]
    gross: NonNegativeMoney
    tax: Money
    ni: NonNegativeMoney
    pension: NonNegativeMoney
    other: NonNegativeMoney = 0
    net: Money

    @model_validator(mode="after")
    def _sums(self) -> "PayslipRow":
        if self.period.day != 1:
            raise ValueError("period: must be a month, YYYY-MM")
        if self.gross - self.tax - self.ni - self.pension - self.other != self.net:
            raise ValueError("net: must equal gross - tax - ni - pension - other")
        if not self.period <= self.pay_date <= self.period + dt.timedelta(days=62):
            raise ValueError("pay_date: must fall in or just after the pay period")
        return self


@dataclass(frozen=True)
class Rejection:
    line: int  # line number in the file (the header is line 1)
    column: str
    reason: str


@dataclass
class ImportReport:
    kind: str
    rows: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    inserted: int = 0
    updated: int = 0
    written: bool = False

    def summary(self) -> str:
        if self.written:
            return (
                f"{self.kind}: {self.rows} rows imported ({self.inserted} new, "
                f"{self.updated} updated)"
            )
        lines = [
            f"{self.kind}: nothing imported; {len({r.line for r in self.rejected})} of "
            f"{self.rows} rows rejected"
        ]
        lines += [f"  line {r.line}: {r.column}: {r.reason}" for r in self.rejected[:200]]
        if len(self.rejected) > 200:
            lines.append(f"  ... and {len(self.rejected) - 200} more")
        return "\n".join(lines)


@dataclass(frozen=True)
class _Kind:
    model: type[_Row]
    key: Callable[[Any], tuple]
    check: Callable[[Session, list[tuple[int, Any]]], list[Rejection]]
    write: Callable[[Session, list[Any]], tuple[int, int]]


def _employees(session: Session) -> dict[str, Employee]:
    return {e.employee_number: e for e in session.scalars(select(Employee))}


def _check_employees(session: Session, rows: list[tuple[int, EmployeeRow]]) -> list[Rejection]:
    problems = []
    departments = set(session.scalars(select(Department.code)))
    cost_centres = {c.code: c.department.code for c in session.scalars(select(CostCentre))}
    known = set(_employees(session)) | {row.employee_number for _, row in rows}
    emails: dict[str, str] = {
        e.email.lower(): e.employee_number for e in _employees(session).values()
    }
    for line, row in rows:
        if row.department_code not in departments:
            problems.append(Rejection(line, "department_code", "unknown department"))
        if row.cost_centre_code not in cost_centres:
            problems.append(Rejection(line, "cost_centre_code", "unknown cost centre"))
        elif (
            row.department_code in departments
            and cost_centres[row.cost_centre_code] != row.department_code
        ):
            problems.append(Rejection(line, "cost_centre_code", "belongs to another department"))
        if row.line_manager_number and row.line_manager_number not in known:
            problems.append(
                Rejection(
                    line, "line_manager_number", "no such employee in the file or the database"
                )
            )
        owner = emails.get(str(row.email).lower())
        if owner and owner != row.employee_number:
            problems.append(Rejection(line, "email", "already used by another employee"))
        emails[str(row.email).lower()] = row.employee_number
    return problems


def _write_employees(session: Session, rows: list[EmployeeRow]) -> tuple[int, int]:
    departments = {d.code: d.id for d in session.scalars(select(Department))}
    cost_centres = {c.code: c.id for c in session.scalars(select(CostCentre))}
    existing = _employees(session)
    inserted = updated = 0
    for row in rows:  # first pass: the people, so managers can refer to each other
        employee = existing.get(row.employee_number)
        if employee is None:
            employee = Employee(employee_number=row.employee_number)
            session.add(employee)
            existing[row.employee_number] = employee
            inserted += 1
        else:
            updated += 1
        employee.given_name, employee.family_name = row.given_name, row.family_name
        employee.email, employee.grade = str(row.email), row.grade
        employee.department_id = departments[row.department_code]
    session.flush()
    for row in rows:
        employee = existing[row.employee_number]
        employee.line_manager_id = (
            existing[row.line_manager_number].id if row.line_manager_number else None
        )
        record = session.get(EmploymentRecord, employee.id) or EmploymentRecord(
            employee_id=employee.id
        )
        record.cost_centre_id = cost_centres[row.cost_centre_code]
        record.work_region, record.start_date = row.work_region, row.start_date
        session.add(record)
        pattern = session.scalars(
            select(WorkingPattern).where(
                WorkingPattern.employee_id == employee.id,
                WorkingPattern.effective_from == row.start_date,
            )
        ).first() or WorkingPattern(employee_id=employee.id, effective_from=row.start_date)
        (
            pattern.monday,
            pattern.tuesday,
            pattern.wednesday,
            pattern.thursday,
            pattern.friday,
            pattern.saturday,
            pattern.sunday,
        ) = row.working_pattern
        pattern.contracted_hours = row.contracted_hours
        session.add(pattern)
    return inserted, updated


def _check_known_employees(session: Session, rows: list[tuple[int, Any]]) -> list[Rejection]:
    known = set(_employees(session))
    return [
        Rejection(line, "employee_number", "no such employee")
        for line, row in rows
        if row.employee_number not in known
    ]


def _write_entitlements(session: Session, rows: list[LeaveEntitlementRow]) -> tuple[int, int]:
    people = {number: e.id for number, e in _employees(session).items()}
    inserted = updated = 0
    for row in rows:
        entitlement = session.scalars(
            select(LeaveEntitlement).where(
                LeaveEntitlement.employee_id == people[row.employee_number],
                LeaveEntitlement.leave_type == row.leave_type,
                LeaveEntitlement.year_start == row.year_start,
            )
        ).first()
        if entitlement is None:
            entitlement = LeaveEntitlement(
                employee_id=people[row.employee_number],
                leave_type=row.leave_type,
                year_start=row.year_start,
            )
            session.add(entitlement)
            inserted += 1
        else:
            updated += 1
        entitlement.year_end = row.year_end
        entitlement.entitlement_days, entitlement.carried_over_days = (
            row.entitlement_days,
            row.carried_over_days,
        )
    return inserted, updated


def _write_payslips(session: Session, rows: list[PayslipRow]) -> tuple[int, int]:
    people = {number: e.id for number, e in _employees(session).items()}
    inserted = updated = 0
    for row in rows:
        payslip = session.scalars(
            select(Payslip).where(
                Payslip.employee_id == people[row.employee_number],
                Payslip.period_start == row.period,
            )
        ).first()
        if payslip is None:
            payslip = Payslip(employee_id=people[row.employee_number], period_start=row.period)
            session.add(payslip)
            inserted += 1
        else:
            updated += 1
        payslip.pay_date, payslip.tax_code = row.pay_date, row.tax_code
        payslip.gross_pence, payslip.tax_pence, payslip.ni_pence = row.gross, row.tax, row.ni
        payslip.pension_pence, payslip.other_deductions_pence, payslip.net_pence = (
            row.pension,
            row.other,
            row.net,
        )
    return inserted, updated


KINDS: dict[str, _Kind] = {
    "employees": _Kind(
        EmployeeRow, lambda r: (r.employee_number,), _check_employees, _write_employees
    ),
    "leave_entitlements": _Kind(
        LeaveEntitlementRow,
        lambda r: (r.employee_number, r.leave_type, r.year_start),
        _check_known_employees,
        _write_entitlements,
    ),
    "payslips": _Kind(
        PayslipRow, lambda r: (r.employee_number, r.period), _check_known_employees, _write_payslips
    ),
}
IMPORT_ORDER = ("employees", "leave_entitlements", "payslips")


def _column(error: dict[str, Any]) -> tuple[str, str]:
    location = [str(part) for part in error.get("loc", ()) if not str(part).isdigit()]
    message = str(error.get("msg", "invalid"))
    if not location and ":" in message:  # model-level checks name their column first
        column, _, message = message.removeprefix("Value error, ").partition(": ")
        return column, message
    if message.startswith("String should match pattern"):
        message = "is not in the expected format (see docs/csv-import.md)"
    return (location[0] if location else "row"), message.removeprefix("Value error, ")


def import_rows(db: Database, kind: str, text: str) -> ImportReport:
    """Validate every row of one CSV text, then write all of it or nothing."""
    if kind not in KINDS:
        raise CsvImportError(f"unknown kind {kind!r}; one of {', '.join(KINDS)}")
    spec = KINDS[kind]
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    expected = list(spec.model.model_fields)
    header = [h.strip() for h in (reader.fieldnames or [])]
    required = [name for name, f in spec.model.model_fields.items() if f.is_required()]
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in expected]
    if missing or unknown:
        raise CsvImportError(
            f"{kind}: header must have the columns {', '.join(expected)}"
            + (f"; missing {', '.join(missing)}" if missing else "")
            + (f"; unknown {', '.join(unknown)}" if unknown else "")
        )
    report = ImportReport(kind)
    valid: list[tuple[int, Any]] = []
    seen: dict[tuple, int] = {}
    for number, raw in enumerate(reader, start=2):
        report.rows += 1
        if report.rows > MAX_ROWS:
            raise CsvImportError(f"{kind}: more than {MAX_ROWS} rows; split the file")
        if None in raw or any(v is None for v in raw.values()):
            report.rejected.append(Rejection(number, "row", "wrong number of columns"))
            continue
        values = {k.strip(): v for k, v in raw.items() if k is not None}
        values = {
            k: v
            for k, v in values.items()
            if not (v == "" and not spec.model.model_fields[k].is_required())
        }
        try:
            row = spec.model.model_validate(values)
        except ValidationError as error:
            for problem in error.errors(include_input=False, include_url=False):
                column, reason = _column(problem)
                report.rejected.append(Rejection(number, column, reason))
            continue
        key = spec.key(row)
        if key in seen:
            report.rejected.append(Rejection(number, "row", f"duplicates line {seen[key]}"))
            continue
        seen[key] = number
        valid.append((number, row))
    with db.unit_of_work() as session:
        report.rejected += spec.check(session, valid)
        report.rejected.sort(key=lambda r: r.line)
        if report.rejected or not valid:
            return report
        report.inserted, report.updated = spec.write(session, [row for _, row in valid])
        report.written = True
    return report


def import_file(db: Database, kind: str, path: Path | str) -> ImportReport:
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise CsvImportError(f"cannot read {path}: {type(error).__name__}") from error
    return import_rows(db, kind, text)


def kinds_in(folder: Path) -> list[tuple[str, Path]]:
    """The known CSV files of a folder, in the order they must be imported."""
    return [
        (kind, folder / f"{kind}.csv") for kind in IMPORT_ORDER if (folder / f"{kind}.csv").exists()
    ]


def import_folder(db: Database, folder: Path | str) -> list[ImportReport]:
    """Import every known file of a folder (employees first); stops at the first rejected file.

    Each file is all-or-nothing on its own; files before a rejected one stay imported.
    """
    reports = []
    for kind, path in kinds_in(Path(folder)):
        report = import_file(db, kind, path)
        reports.append(report)
        if not report.written:
            break
    return reports
