"""The back-office port: what the assistant needs from an HR / payroll / finance system.

`BackOffice` is the interface; `SqlBackOffice` (the helpdesk database) is the default adapter.
An Oracle HCM or SAP SuccessFactors adapter implements the same methods against that system's
APIs and is plugged in with `use_backoffice`. Services in `bot.records` see only this port and
the plain value objects below (never ORM rows), always for an employee they already authorised.

An adapter is opened per unit of work (`open_backoffice(session)`); the SQL adapter works in
that session, so a service's read and its audit record commit together.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.models import BookingStatus, Employee, LeaveBooking, LeaveEntitlement, LeaveType

from .models import (
    ClaimStatus,
    CostCentre,
    EmploymentRecord,
    ExpenseClaim,
    ExpenseLine,
    ExpenseType,
    InvoiceStatus,
    PayDate,
    PayRange,
    Payslip,
    PensionMembership,
    PersonalDetails,
    PersonalDetailsChange,
    PurchaseOrder,
    PurchaseOrderStatus,
    SalaryRecord,
    SicknessAbsence,
    SicknessStatus,
    Supplier,
    SupplierInvoice,
    TaxCodeRecord,
    WorkingPattern,
)


@dataclass(frozen=True)
class Employment:
    employee_id: int
    given_name: str
    family_name: str
    department_id: int
    department_name: str
    grade: str
    line_manager_id: int | None
    cost_centre_id: int | None
    cost_centre_code: str | None
    region: str
    start_date: dt.date | None


@dataclass(frozen=True)
class Pattern:
    fractions: tuple[Decimal, ...]  # Monday..Sunday
    contracted_hours: Decimal


@dataclass(frozen=True)
class PayslipView:
    period_start: dt.date
    pay_date: dt.date
    tax_code: str
    gross: int
    tax: int
    ni: int
    pension: int
    other: int
    net: int


@dataclass(frozen=True)
class SalaryView:
    annual_salary: int
    pay_band: str
    effective_from: dt.date
    reason: str
    band_minimum: int | None
    band_maximum: int | None
    previous_salary: int | None


@dataclass(frozen=True)
class TaxCodeView:
    code: str
    basis: str
    effective_from: dt.date
    source: str
    previous_code: str | None


@dataclass(frozen=True)
class PensionView:
    scheme: str
    member_rate: Decimal
    employer_rate: Decimal
    joined_on: dt.date


@dataclass(frozen=True)
class ContactDetails:
    preferred_name: str | None
    address_line1: str
    address_line2: str | None
    town: str
    postcode: str
    phone: str | None
    emergency_contact_name: str | None
    emergency_contact_phone: str | None
    bank_account_last4: str | None


@dataclass(frozen=True)
class Booking:
    id: int
    leave_type: LeaveType
    start_date: dt.date
    end_date: dt.date
    days: Decimal
    status: BookingStatus


@dataclass(frozen=True)
class Entitlement:
    leave_type: LeaveType
    year_start: dt.date
    year_end: dt.date
    days: Decimal
    carried_over: Decimal


@dataclass(frozen=True)
class ClaimView:
    reference: str
    status: ClaimStatus
    submitted_on: dt.date
    decided_on: dt.date | None
    paid_on: dt.date | None
    total: int
    summary: str


@dataclass(frozen=True)
class ClaimLine:
    expense_type: ExpenseType
    incurred_on: dt.date
    description: str
    amount: int
    miles: Decimal | None = None


@dataclass(frozen=True)
class PurchaseOrderView:
    number: str
    cost_centre_id: int
    supplier: str
    description: str
    status: PurchaseOrderStatus
    total: int
    receipted: int
    raised_on: dt.date
    expected_delivery: dt.date | None


@dataclass(frozen=True)
class InvoiceView:
    invoice_number: str
    cost_centre_id: int
    supplier: str
    amount: int
    received_on: dt.date
    due_on: dt.date
    status: InvoiceStatus
    paid_on: dt.date | None
    hold_reason: str | None
    purchase_order: str | None


class BackOffice(Protocol):
    """The records an HR/payroll/finance system holds about one (authorised) employee."""

    def employment(self, employee_id: int) -> Employment | None: ...
    def working_pattern(self, employee_id: int, on: dt.date) -> Pattern | None: ...
    def payslips(self, employee_id: int, limit: int = 24) -> list[PayslipView]: ...
    def pay_dates(
        self, department_id: int, start: dt.date, end: dt.date
    ) -> list[tuple[dt.date, dt.date]]: ...
    def salary(self, employee_id: int, on: dt.date) -> SalaryView | None: ...
    def tax_code(self, employee_id: int, on: dt.date) -> TaxCodeView | None: ...
    def pension(self, employee_id: int) -> PensionView | None: ...
    def contact_details(self, employee_id: int) -> ContactDetails | None: ...
    def update_contact_details(
        self, employee_id: int, changes: dict[str, str | None], channel: str
    ) -> None: ...
    def entitlements(self, employee_id: int) -> list[Entitlement]: ...
    def bookings(self, employee_id: int) -> list[Booking]: ...
    def lock_employee(self, employee_id: int) -> None: ...
    def add_booking(
        self, employee_id: int, leave_type: LeaveType, start: dt.date, end: dt.date, days: Decimal
    ) -> int: ...
    def set_booking_status(self, booking_id: int, status: BookingStatus) -> None: ...
    def open_sickness(self, employee_id: int) -> tuple[int, dt.date] | None: ...
    def add_sickness(self, employee_id: int, start: dt.date) -> int: ...
    def expense_claims(self, employee_id: int) -> list[ClaimView]: ...
    def add_expense_claim(
        self, employee_id: int, lines: list[ClaimLine], submitted_on: dt.date
    ) -> ClaimView: ...
    def purchase_order(self, number: str) -> PurchaseOrderView | None: ...
    def invoices(self, invoice_number: str) -> list[InvoiceView]: ...


class SqlBackOffice:
    """The default adapter: the helpdesk database's own record tables."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # --- employment -------------------------------------------------------------------
    def employment(self, employee_id: int) -> Employment | None:
        employee = self.session.get(Employee, employee_id)
        if employee is None:
            return None
        record = self.session.get(EmploymentRecord, employee_id)
        return Employment(
            employee_id=employee.id,
            given_name=employee.given_name,
            family_name=employee.family_name,
            department_id=employee.department_id,
            department_name=employee.department.name,
            grade=employee.grade,
            line_manager_id=employee.line_manager_id,
            cost_centre_id=record.cost_centre_id if record else None,
            cost_centre_code=record.cost_centre.code if record else None,
            region=record.work_region.value if record else "england-and-wales",
            start_date=record.start_date if record else None,
        )

    def working_pattern(self, employee_id: int, on: dt.date) -> Pattern | None:
        row = self.session.scalars(
            select(WorkingPattern)
            .where(WorkingPattern.employee_id == employee_id, WorkingPattern.effective_from <= on)
            .order_by(WorkingPattern.effective_from.desc())
            .limit(1)
        ).first()
        return Pattern(row.fractions(), row.contracted_hours) if row else None

    # --- pay ----------------------------------------------------------------------------
    def payslips(self, employee_id: int, limit: int = 24) -> list[PayslipView]:
        rows = self.session.scalars(
            select(Payslip)
            .where(Payslip.employee_id == employee_id)
            .order_by(Payslip.period_start.desc())
            .limit(limit)
        )
        return [
            PayslipView(
                r.period_start,
                r.pay_date,
                r.tax_code,
                r.gross_pence,
                r.tax_pence,
                r.ni_pence,
                r.pension_pence,
                r.other_deductions_pence,
                r.net_pence,
            )
            for r in rows
        ]

    def pay_dates(
        self, department_id: int, start: dt.date, end: dt.date
    ) -> list[tuple[dt.date, dt.date]]:
        rows = self.session.execute(
            select(PayDate.period_start, PayDate.pay_date)
            .where(
                PayDate.department_id == department_id,
                PayDate.pay_date >= start,
                PayDate.pay_date <= end,
            )
            .order_by(PayDate.pay_date)
        ).all()
        return [(period, paid) for period, paid in rows]

    def salary(self, employee_id: int, on: dt.date) -> SalaryView | None:
        rows = self.session.scalars(
            select(SalaryRecord)
            .where(SalaryRecord.employee_id == employee_id, SalaryRecord.effective_from <= on)
            .order_by(SalaryRecord.effective_from.desc())
            .limit(2)
        ).all()
        if not rows:
            return None
        current = rows[0]
        employee = self.session.get(Employee, employee_id)
        band = self.session.scalars(
            select(PayRange)
            .where(
                PayRange.department_id == employee.department_id,  # type: ignore[union-attr]
                PayRange.grade == current.pay_band,
                PayRange.effective_from <= on,
            )
            .order_by(PayRange.effective_from.desc())
            .limit(1)
        ).first()
        return SalaryView(
            current.annual_salary_pence,
            current.pay_band,
            current.effective_from,
            current.reason,
            band.minimum_pence if band else None,
            band.maximum_pence if band else None,
            rows[1].annual_salary_pence if len(rows) > 1 else None,
        )

    def tax_code(self, employee_id: int, on: dt.date) -> TaxCodeView | None:
        rows = self.session.scalars(
            select(TaxCodeRecord)
            .where(TaxCodeRecord.employee_id == employee_id, TaxCodeRecord.effective_from <= on)
            .order_by(TaxCodeRecord.effective_from.desc())
            .limit(2)
        ).all()
        if not rows:
            return None
        return TaxCodeView(
            rows[0].code,
            rows[0].basis.value,
            rows[0].effective_from,
            rows[0].source,
            rows[1].code if len(rows) > 1 else None,
        )

    def pension(self, employee_id: int) -> PensionView | None:
        row = self.session.scalars(
            select(PensionMembership).where(PensionMembership.employee_id == employee_id)
        ).first()
        return (
            PensionView(row.scheme.value, row.member_rate, row.employer_rate, row.joined_on)
            if row
            else None
        )

    # --- personal details ---------------------------------------------------------------
    def contact_details(self, employee_id: int) -> ContactDetails | None:
        row = self.session.get(PersonalDetails, employee_id)
        if row is None:
            return None
        return ContactDetails(
            row.preferred_name,
            row.address_line1,
            row.address_line2,
            row.town,
            row.postcode,
            row.phone,
            row.emergency_contact_name,
            row.emergency_contact_phone,
            row.bank_account_last4,
        )

    def update_contact_details(
        self, employee_id: int, changes: dict[str, str | None], channel: str
    ) -> None:
        row = self.session.get(PersonalDetails, employee_id)
        if row is None:
            raise LookupError("no personal details record")
        for field, value in changes.items():
            setattr(row, field, value)
            self.session.add(
                PersonalDetailsChange(employee_id=employee_id, field=field, channel=channel)
            )
        row.updated_at = dt.datetime.now(dt.timezone.utc)

    # --- leave --------------------------------------------------------------------------
    def entitlements(self, employee_id: int) -> list[Entitlement]:
        rows = self.session.scalars(
            select(LeaveEntitlement)
            .where(LeaveEntitlement.employee_id == employee_id)
            .order_by(LeaveEntitlement.year_start, LeaveEntitlement.leave_type)
        )
        return [
            Entitlement(
                r.leave_type, r.year_start, r.year_end, r.entitlement_days, r.carried_over_days
            )
            for r in rows
        ]

    def bookings(self, employee_id: int) -> list[Booking]:
        rows = self.session.scalars(
            select(LeaveBooking)
            .where(LeaveBooking.employee_id == employee_id)
            .order_by(LeaveBooking.start_date, LeaveBooking.id)
        )
        return [
            Booking(r.id, r.leave_type, r.start_date, r.end_date, r.days, r.status) for r in rows
        ]

    def lock_employee(self, employee_id: int) -> None:
        """Serialise writes for one employee (a row lock on PostgreSQL; SQLite writes are
        serialised by the write transaction the caller began)."""
        self.session.execute(
            select(Employee.id).where(Employee.id == employee_id).with_for_update()
        )

    def add_booking(
        self, employee_id: int, leave_type: LeaveType, start: dt.date, end: dt.date, days: Decimal
    ) -> int:
        booking = LeaveBooking(
            employee_id=employee_id,
            leave_type=leave_type,
            start_date=start,
            end_date=end,
            days=days,
            status=BookingStatus.PENDING,
        )
        self.session.add(booking)
        self.session.flush()
        return booking.id

    def set_booking_status(self, booking_id: int, status: BookingStatus) -> None:
        booking = self.session.get(LeaveBooking, booking_id)
        if booking is None:
            raise LookupError("no such booking")
        booking.status = status

    def open_sickness(self, employee_id: int) -> tuple[int, dt.date] | None:
        row = self.session.scalars(
            select(SicknessAbsence).where(
                SicknessAbsence.employee_id == employee_id, SicknessAbsence.end_date.is_(None)
            )
        ).first()
        return (row.id, row.start_date) if row else None

    def add_sickness(self, employee_id: int, start: dt.date) -> int:
        row = SicknessAbsence(
            employee_id=employee_id, start_date=start, status=SicknessStatus.REPORTED
        )
        self.session.add(row)
        self.session.flush()
        return row.id

    # --- expenses -----------------------------------------------------------------------
    def expense_claims(self, employee_id: int) -> list[ClaimView]:
        rows = self.session.scalars(
            select(ExpenseClaim)
            .where(ExpenseClaim.employee_id == employee_id)
            .order_by(ExpenseClaim.submitted_on.desc(), ExpenseClaim.id.desc())
        )
        return [self._claim(r) for r in rows]

    @staticmethod
    def _claim(row: ExpenseClaim) -> ClaimView:
        summary = "; ".join(line.description for line in row.lines[:3])
        return ClaimView(
            row.reference,
            row.status,
            row.submitted_on,
            row.decided_on,
            row.paid_on,
            row.total_pence,
            summary,
        )

    def add_expense_claim(
        self, employee_id: int, lines: list[ClaimLine], submitted_on: dt.date
    ) -> ClaimView:
        claim = ExpenseClaim(
            reference="EXP-PENDING",
            employee_id=employee_id,
            status=ClaimStatus.SUBMITTED,
            submitted_on=submitted_on,
            total_pence=sum(line.amount for line in lines),
        )
        claim.lines = [
            ExpenseLine(
                expense_type=line.expense_type,
                incurred_on=line.incurred_on,
                description=line.description,
                amount_pence=line.amount,
                miles=line.miles,
            )
            for line in lines
        ]
        self.session.add(claim)
        self.session.flush()
        claim.reference = f"EXP-{claim.id:06d}"  # unique because the id is
        self.session.flush()
        return self._claim(claim)

    # --- finance documents --------------------------------------------------------------
    def purchase_order(self, number: str) -> PurchaseOrderView | None:
        row = self.session.scalars(
            select(PurchaseOrder).where(PurchaseOrder.number == number)
        ).first()
        if row is None:
            return None
        return PurchaseOrderView(
            row.number,
            row.cost_centre_id,
            row.supplier.name,
            row.description,
            row.status,
            row.total_pence,
            row.receipted_pence,
            row.raised_on,
            row.expected_delivery,
        )

    def invoices(self, invoice_number: str) -> list[InvoiceView]:
        rows = self.session.scalars(
            select(SupplierInvoice)
            .join(Supplier)
            .where(SupplierInvoice.invoice_number == invoice_number)
            .order_by(Supplier.name)
        )
        return [
            InvoiceView(
                r.invoice_number,
                r.cost_centre_id,
                r.supplier.name,
                r.amount_pence,
                r.received_on,
                r.due_on,
                r.status,
                r.paid_on,
                r.hold_reason,
                r.purchase_order.number if r.purchase_order else None,
            )
            for r in rows
        ]

    def cost_centre_code(self, cost_centre_id: int) -> str | None:
        row = self.session.get(CostCentre, cost_centre_id)
        return row.code if row else None


_factory: Callable[[Session], BackOffice] = SqlBackOffice


def open_backoffice(session: Session) -> BackOffice:
    """The configured adapter for this unit of work."""
    return _factory(session)


def use_backoffice(factory: Callable[[Session], BackOffice] | None) -> None:
    """Plug in another adapter (an Oracle HCM or SuccessFactors client), or the SQL one (None)."""
    global _factory
    _factory = factory or SqlBackOffice
