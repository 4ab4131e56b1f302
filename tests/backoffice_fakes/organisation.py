"""The demo organisation as plain values, read from a records demo database (through the SQL
adapter where it has an operation), so every fake system of record serves the same people,
leave, pay and finance documents as the embedded default."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select

from bot.backoffice.record_tables import PurchaseOrder, SicknessAbsence, SupplierInvoice
from bot.backoffice.sql import SqlAbsence, SqlFinance, SqlPayroll, SqlPeople
from bot.backoffice.types import (
    Booking,
    ClaimView,
    ContactDetails,
    Employment,
    Entitlement,
    InvoiceView,
    Pattern,
    PayslipView,
    PensionView,
    PurchaseOrderView,
    SalaryView,
    Sickness,
    TaxCodeView,
)
from bot.storage.database import Database
from bot.storage.models import Employee


@dataclass
class Person:
    number: str
    employment: Employment
    pattern: Pattern | None
    contact: ContactDetails | None
    entitlements: list[Entitlement]
    bookings: list[Booking]
    sickness: list[Sickness]
    payslips: list[PayslipView]
    pay_dates: list[tuple[dt.date, dt.date]]
    salary: SalaryView | None
    tax_code: TaxCodeView | None
    pension: PensionView | None
    claims: list[ClaimView]
    claim_references: dict[str, str] = field(default_factory=dict)  # client ref -> claim


@dataclass
class Organisation:
    people: dict[str, Person]  # by employee number
    purchase_orders: list[PurchaseOrderView]
    invoices: list[InvoiceView]


def export(db: Database, today: dt.date, numbers: list[str] | None = None) -> Organisation:
    people, absence, payroll, finance = SqlPeople(db), SqlAbsence(db), SqlPayroll(db), SqlFinance(db)
    with db.unit_of_work() as session:
        rows = session.execute(select(Employee.id, Employee.employee_number)).all()
        po_numbers = list(session.scalars(select(PurchaseOrder.number)))
        invoice_numbers = sorted(set(session.scalars(select(SupplierInvoice.invoice_number))))
        sickness_rows = session.execute(
            select(SicknessAbsence.employee_id, SicknessAbsence.id, SicknessAbsence.start_date,
                   SicknessAbsence.end_date)
        ).all()
    wanted = set(numbers) if numbers else None
    found: dict[str, Person] = {}
    for employee_id, number in rows:
        if wanted is not None and number not in wanted:
            continue
        position = absence.leave_position(employee_id)
        found[number] = Person(
            number=number,
            employment=people.employment(employee_id),  # type: ignore[arg-type]
            pattern=people.working_pattern(employee_id, today),
            contact=people.contact_details(employee_id),
            entitlements=position.entitlements,
            bookings=position.bookings,
            sickness=[Sickness(str(i), s, e) for emp, i, s, e in sickness_rows if emp == employee_id],
            payslips=payroll.payslips(employee_id, limit=36),
            pay_dates=payroll.pay_dates(employee_id, today - dt.timedelta(days=400),
                                        today + dt.timedelta(days=120)),
            salary=payroll.salary(employee_id, today),
            tax_code=payroll.tax_code(employee_id, today),
            pension=payroll.pension(employee_id),
            claims=finance.expense_claims(employee_id),
        )
    orders = [po for n in po_numbers if (po := finance.purchase_order(n))]
    invoices = [i for n in invoice_numbers for i in finance.invoices(n)]
    return Organisation(found, orders, invoices)


def pounds(pence: int) -> float:
    return round(pence / 100, 2)


def pence(amount: float | str | Decimal) -> int:
    return int((Decimal(str(amount)) * 100).to_integral_value())
