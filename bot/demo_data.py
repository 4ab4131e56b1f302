"""A small, deterministic demo organisation: two departments, five employees, a leave year.

Dates are placed relative to `today` so the demo always shows a current leave year. Loading
is idempotent: an existing demo organisation is left as it is.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from .storage.models import (
    BookingStatus,
    ChannelIdentity,
    Department,
    Employee,
    LeaveBooking,
    LeaveEntitlement,
    LeaveType,
)

DEMO_WIDGET_ISSUER = "helpdesk-intranet"

DEPARTMENTS = {
    "DDS": "Department for Digital Services",
    "MPW": "Ministry of Public Works",
}


@dataclass(frozen=True)
class DemoEmployee:
    number: str
    given_name: str
    family_name: str
    department: str
    grade: str
    manager: str | None
    annual_days: Decimal
    carried_over: Decimal
    # (offset of first day from today in days, length in working days, status)
    bookings: tuple[tuple[int, int, BookingStatus], ...]

    @property
    def widget_subject(self) -> str:
        return f"{self.given_name}.{self.family_name}".lower()


P, A = BookingStatus.PENDING, BookingStatus.APPROVED
DEMO_EMPLOYEES = (
    DemoEmployee("E1003", "Chloe", "Singh", "DDS", "G7", None, Decimal(30), Decimal(5),
                 ((-60, 5, A), (21, 3, A))),
    DemoEmployee("E1001", "Alice", "Hughes", "DDS", "HEO", "E1003", Decimal(27), Decimal(3),
                 ((-90, 5, A), (-30, 2, A), (14, 4, A), (45, 1, P))),
    DemoEmployee("E1002", "Ben", "Okafor", "DDS", "EO", "E1003", Decimal(25), Decimal(0),
                 ((-45, 10, A),)),
    DemoEmployee("E1004", "Daniel", "Evans", "MPW", "SEO", None, Decimal(28), Decimal("1.5"),
                 ((-20, 3, A), (30, 5, P))),
    DemoEmployee("E1005", "Fatima", "Rahman", "MPW", "AO", "E1004", Decimal(25), Decimal(2),
                 ()),
)


def leave_year(today: dt.date) -> tuple[dt.date, dt.date]:
    """The civil-service style leave year (1 April to 31 March) containing `today`."""
    start_year = today.year if today.month >= 4 else today.year - 1
    return dt.date(start_year, 4, 1), dt.date(start_year + 1, 3, 31)


def _booking(employee_id: int, today: dt.date, offset: int, days: int,
             status: BookingStatus) -> LeaveBooking:
    start = today + dt.timedelta(days=offset)
    return LeaveBooking(
        employee_id=employee_id,
        leave_type=LeaveType.ANNUAL,
        start_date=start,
        end_date=start + dt.timedelta(days=days - 1),
        days=Decimal(days),
        status=status,
    )


def load_demo_data(session: Session, today: dt.date) -> bool:
    """Add the demo organisation unless it exists; True when something was added."""
    if session.scalar(select(Employee.id).where(Employee.employee_number == "E1001")):
        return False
    departments = {code: Department(code=code, name=name) for code, name in DEPARTMENTS.items()}
    session.add_all(departments.values())
    year_start, year_end = leave_year(today)
    employees: dict[str, Employee] = {}
    for demo in DEMO_EMPLOYEES:  # managers come first in DEMO_EMPLOYEES
        employee = Employee(
            employee_number=demo.number,
            given_name=demo.given_name,
            family_name=demo.family_name,
            email=f"{demo.widget_subject}@{demo.department.lower()}.example.gov.uk",
            department=departments[demo.department],
            grade=demo.grade,
            line_manager_id=employees[demo.manager].id if demo.manager else None,
        )
        session.add(employee)
        session.flush()
        employees[demo.number] = employee
        session.add(ChannelIdentity(channel="widget", tenant=DEMO_WIDGET_ISSUER,
                                    subject=demo.widget_subject, employee_id=employee.id))
        session.add(LeaveEntitlement(employee_id=employee.id, leave_type=LeaveType.ANNUAL,
                                     year_start=year_start, year_end=year_end,
                                     entitlement_days=demo.annual_days,
                                     carried_over_days=demo.carried_over))
        session.add_all(_booking(employee.id, today, *b) for b in demo.bookings)
    return True
