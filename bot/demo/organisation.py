"""The sign-in organisation: the departments of the five sign-in employees, the employees, the
widget identities the development sign-in uses, and their leave this leave year."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.backoffice.record_tables import LeaveBooking, LeaveEntitlement
from bot.backoffice.types import LeaveType
from bot.storage.models import ChannelIdentity, Department, Employee

from .description import DEMO_EMPLOYEES, DEMO_WIDGET_ISSUER, DEPARTMENTS, Booking


def leave_year(today: dt.date) -> tuple[dt.date, dt.date]:
    """The civil-service style leave year (1 April to 31 March) containing `today`."""
    start_year = today.year if today.month >= 4 else today.year - 1
    return dt.date(start_year, 4, 1), dt.date(start_year + 1, 3, 31)


def email_of(given: str, family: str, department: str) -> str:
    return f"{given}.{family}@{department.lower()}.example.gov.uk".lower()


def _booking(employee_id: int, today: dt.date, booking: Booking) -> LeaveBooking:
    start = today + dt.timedelta(days=booking.offset)
    return LeaveBooking(
        employee_id=employee_id,
        leave_type=LeaveType.ANNUAL,
        start_date=start,
        end_date=start + dt.timedelta(days=booking.working_days - 1),
        days=Decimal(booking.working_days),
        status=booking.status,
    )


def seed_organisation(session: Session, today: dt.date) -> bool:
    """Add the sign-in organisation unless it exists; True when something was added."""
    if session.scalar(select(Employee.id).where(Employee.employee_number == "E1001")):
        return False
    codes = {employee.department for employee in DEMO_EMPLOYEES}
    departments = {d.code: Department(code=d.code, name=d.name)
                   for d in DEPARTMENTS if d.code in codes}
    session.add_all(departments.values())
    year_start, year_end = leave_year(today)
    employees: dict[str, Employee] = {}
    for demo in DEMO_EMPLOYEES:  # managers come first
        employee = Employee(
            employee_number=demo.number,
            given_name=demo.given_name,
            family_name=demo.family_name,
            email=email_of(demo.given_name, demo.family_name, demo.department),
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
        session.add_all(_booking(employee.id, today, booking) for booking in demo.bookings)
    return True
