"""The records the embedded back office holds: the SQL adapter's tables (`sql.py`).

HR and finance records in one standard data model across departments, each keyed by the
employee of the shared `employees` table (`bot.storage.models`): employment and working
pattern, salary and pay ranges, tax codes, payslips and pay dates, pension, personal details,
sickness, leave entitlements, bookings and decisions, expense claims, suppliers, purchase
orders and invoices. A department whose records live in Oracle or SuccessFactors does not use
them (docs/backoffice.md). Everything else reaches them through the back-office port.

Tables live on the shared declarative `Base` (one metadata, one Alembic history). Money is
integer pence (`Pence`), day counts are `Numeric(5, 1)` (half days), rates are `Numeric(5, 2)`
percentages; the enum columns take their values from `bot.backoffice.types`.

Personal values held here (addresses, phone numbers, pay) are shown only to the employee they
belong to (see `bot.records.access`) and never logged. Bank details are never stored in full:
only the last four digits of the account pay goes into, which is all the assistant may show.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.storage.models import Base, Days, Department, Employee, _enum
from bot.storage.times import utcnow

from .types import (
    BookingStatus,
    ClaimStatus,
    ExpenseType,
    InvoiceStatus,
    LeaveType,
    PensionScheme,
    PurchaseOrderStatus,
    Region,
    SicknessStatus,
    TaxBasis,
)

Pence = Integer  # money: integer pence, never float
Rate = Numeric(5, 2)  # a percentage such as 5.45
DayFraction = Numeric(2, 1)  # 0, 0.5 or 1 of a working day


class CostCentre(Base):
    __tablename__ = "cost_centres"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"), index=True)

    department: Mapped[Department] = relationship()


class EmploymentRecord(Base):
    """The contract facts of one employee that the shared employee table does not hold."""

    __tablename__ = "employment_records"

    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), primary_key=True)
    cost_centre_id: Mapped[int] = mapped_column(ForeignKey("cost_centres.id"), index=True)
    work_region: Mapped[Region] = mapped_column(_enum(Region, "work_region"))
    start_date: Mapped[dt.date] = mapped_column(Date)

    employee: Mapped[Employee] = relationship()
    cost_centre: Mapped[CostCentre] = relationship()


class WorkingPattern(Base):
    """Which part of each weekday an employee works, from a date, and their weekly hours.

    Each weekday is 1 (full day), 0.5 (half day) or 0 (not worked); leave is counted in days
    of this pattern, so a part-time employee's Friday half day costs half a day of leave.
    """

    __tablename__ = "working_patterns"
    __table_args__ = (UniqueConstraint("employee_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    monday: Mapped[Decimal] = mapped_column(DayFraction)
    tuesday: Mapped[Decimal] = mapped_column(DayFraction)
    wednesday: Mapped[Decimal] = mapped_column(DayFraction)
    thursday: Mapped[Decimal] = mapped_column(DayFraction)
    friday: Mapped[Decimal] = mapped_column(DayFraction)
    saturday: Mapped[Decimal] = mapped_column(DayFraction, default=Decimal(0))
    sunday: Mapped[Decimal] = mapped_column(DayFraction, default=Decimal(0))
    contracted_hours: Mapped[Decimal] = mapped_column(Numeric(4, 1))  # per week

    def fractions(self) -> tuple[Decimal, ...]:
        """Monday..Sunday."""
        return (
            self.monday,
            self.tuesday,
            self.wednesday,
            self.thursday,
            self.friday,
            self.saturday,
            self.sunday,
        )


class SalaryRecord(Base):
    """Annual salary (full-time equivalent) and pay band from a date: the salary history."""

    __tablename__ = "salary_records"
    __table_args__ = (UniqueConstraint("employee_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    annual_salary_pence: Mapped[int] = mapped_column(Pence)
    pay_band: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))  # appointment, pay award, progression...


class PayRange(Base):
    """The minimum and maximum of a grade's pay band in one department, from a date."""

    __tablename__ = "pay_ranges"
    __table_args__ = (UniqueConstraint("department_id", "grade", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    grade: Mapped[str] = mapped_column(String(16))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    minimum_pence: Mapped[int] = mapped_column(Pence)
    maximum_pence: Mapped[int] = mapped_column(Pence)


class TaxCodeRecord(Base):
    """A tax code HMRC issued for an employee, from a date."""

    __tablename__ = "tax_codes"
    __table_args__ = (UniqueConstraint("employee_id", "effective_from"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    effective_from: Mapped[dt.date] = mapped_column(Date)
    code: Mapped[str] = mapped_column(String(12))
    basis: Mapped[TaxBasis] = mapped_column(_enum(TaxBasis, "tax_basis"))
    source: Mapped[str] = mapped_column(String(64))  # e.g. "HMRC coding notice (P6)"


class Payslip(Base):
    """One month's pay. net = gross - tax - NI - pension - other deductions (a CHECK-free rule
    enforced where payslips are written: the generator and the import)."""

    __tablename__ = "payslips"
    __table_args__ = (UniqueConstraint("employee_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    period_start: Mapped[dt.date] = mapped_column(Date)  # first day of the pay month
    pay_date: Mapped[dt.date] = mapped_column(Date)
    tax_code: Mapped[str] = mapped_column(String(12))
    gross_pence: Mapped[int] = mapped_column(Pence)
    tax_pence: Mapped[int] = mapped_column(Pence)
    ni_pence: Mapped[int] = mapped_column(Pence)
    pension_pence: Mapped[int] = mapped_column(Pence)
    other_deductions_pence: Mapped[int] = mapped_column(Pence, default=0)
    net_pence: Mapped[int] = mapped_column(Pence)


class PayDate(Base):
    """When a department's payroll pays for a month."""

    __tablename__ = "pay_dates"
    __table_args__ = (UniqueConstraint("department_id", "period_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    period_start: Mapped[dt.date] = mapped_column(Date)
    pay_date: Mapped[dt.date] = mapped_column(Date)


class PensionMembership(Base):
    __tablename__ = "pension_memberships"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), unique=True)
    scheme: Mapped[PensionScheme] = mapped_column(_enum(PensionScheme, "pension_scheme"))
    member_rate: Mapped[Decimal] = mapped_column(Rate)  # % of pensionable pay
    employer_rate: Mapped[Decimal] = mapped_column(Rate)
    joined_on: Mapped[dt.date] = mapped_column(Date)


class PersonalDetails(Base):
    """Contact details. Only the last four digits of the salary bank account are held."""

    __tablename__ = "personal_details"

    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), primary_key=True)
    preferred_name: Mapped[str | None] = mapped_column(String(100))
    address_line1: Mapped[str] = mapped_column(String(200))
    address_line2: Mapped[str | None] = mapped_column(String(200))
    town: Mapped[str] = mapped_column(String(100))
    postcode: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str | None] = mapped_column(String(32))
    emergency_contact_name: Mapped[str | None] = mapped_column(String(200))
    emergency_contact_phone: Mapped[str | None] = mapped_column(String(32))
    bank_account_last4: Mapped[str | None] = mapped_column(String(4))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PersonalDetailsChange(Base):
    """That a field was changed, when and through which channel (never the values)."""

    __tablename__ = "personal_details_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    field: Mapped[str] = mapped_column(String(32))
    channel: Mapped[str] = mapped_column(String(32))
    changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The chat turn that made the change: a retried turn changes (and logs) nothing twice.
    client_reference: Mapped[str | None] = mapped_column(String(64), index=True)


class SicknessAbsence(Base):
    __tablename__ = "sickness_absences"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[SicknessStatus] = mapped_column(_enum(SicknessStatus, "sickness_status"))
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    fit_note_received: Mapped[bool] = mapped_column(Boolean, default=False)
    client_reference: Mapped[str | None] = mapped_column(String(64), unique=True)


class LeaveEntitlement(Base):
    """Days an employee may take of one leave type in one leave year."""

    __tablename__ = "leave_entitlements"
    __table_args__ = (UniqueConstraint("employee_id", "leave_type", "year_start"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    leave_type: Mapped[LeaveType] = mapped_column(_enum(LeaveType, "leave_type"))
    year_start: Mapped[dt.date] = mapped_column(Date)
    year_end: Mapped[dt.date] = mapped_column(Date)
    entitlement_days: Mapped[Decimal] = mapped_column(Days)
    carried_over_days: Mapped[Decimal] = mapped_column(Days, default=Decimal("0"))


class LeaveBooking(Base):
    __tablename__ = "leave_bookings"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    leave_type: Mapped[LeaveType] = mapped_column(_enum(LeaveType, "leave_type"))
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    days: Mapped[Decimal] = mapped_column(Days)
    status: Mapped[BookingStatus] = mapped_column(_enum(BookingStatus, "booking_status"))
    # The chat turn's key (bot.backoffice.writes): the same booking request twice is one row.
    client_reference: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LeaveDecision(Base):
    """The line manager's decision on a leave booking, and whether the employee was told."""

    __tablename__ = "leave_decisions"

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("leave_bookings.id"), unique=True)
    decided_by_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    approved: Mapped[bool] = mapped_column(Boolean)
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ExpenseClaim(Base):
    __tablename__ = "expense_claims"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)  # EXP-000123
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    status: Mapped[ClaimStatus] = mapped_column(_enum(ClaimStatus, "claim_status"))
    submitted_on: Mapped[dt.date] = mapped_column(Date)
    decided_on: Mapped[dt.date | None] = mapped_column(Date)
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    total_pence: Mapped[int] = mapped_column(Pence)
    client_reference: Mapped[str | None] = mapped_column(String(64), unique=True)

    lines: Mapped[list["ExpenseLine"]] = relationship(
        back_populates="claim", order_by="ExpenseLine.id", cascade="all, delete-orphan"
    )


class ExpenseLine(Base):
    __tablename__ = "expense_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("expense_claims.id"), index=True)
    expense_type: Mapped[ExpenseType] = mapped_column(_enum(ExpenseType, "expense_type"))
    incurred_on: Mapped[dt.date] = mapped_column(Date)
    description: Mapped[str] = mapped_column(String(200))
    amount_pence: Mapped[int] = mapped_column(Pence)
    miles: Mapped[Decimal | None] = mapped_column(Numeric(7, 1))

    claim: Mapped[ExpenseClaim] = relationship(back_populates="lines")


class Supplier(Base):
    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_number: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(10), unique=True)  # 45xxxxxxxx
    cost_centre_id: Mapped[int] = mapped_column(ForeignKey("cost_centres.id"), index=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    description: Mapped[str] = mapped_column(String(200))
    status: Mapped[PurchaseOrderStatus] = mapped_column(_enum(PurchaseOrderStatus, "po_status"))
    total_pence: Mapped[int] = mapped_column(Pence)
    receipted_pence: Mapped[int] = mapped_column(Pence, default=0)
    raised_on: Mapped[dt.date] = mapped_column(Date)
    expected_delivery: Mapped[dt.date | None] = mapped_column(Date)

    supplier: Mapped[Supplier] = relationship()
    cost_centre: Mapped[CostCentre] = relationship()


class SupplierInvoice(Base):
    __tablename__ = "supplier_invoices"
    __table_args__ = (UniqueConstraint("supplier_id", "invoice_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier_id: Mapped[int] = mapped_column(ForeignKey("suppliers.id"))
    invoice_number: Mapped[str] = mapped_column(String(32), index=True)
    cost_centre_id: Mapped[int] = mapped_column(ForeignKey("cost_centres.id"), index=True)
    purchase_order_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_orders.id"))
    amount_pence: Mapped[int] = mapped_column(Pence)  # gross, including VAT
    received_on: Mapped[dt.date] = mapped_column(Date)
    due_on: Mapped[dt.date] = mapped_column(Date)
    status: Mapped[InvoiceStatus] = mapped_column(_enum(InvoiceStatus, "invoice_status"))
    paid_on: Mapped[dt.date | None] = mapped_column(Date)
    hold_reason: Mapped[str | None] = mapped_column(String(200))

    supplier: Mapped[Supplier] = relationship()
    cost_centre: Mapped[CostCentre] = relationship()
    purchase_order: Mapped[PurchaseOrder | None] = relationship()
