"""The embedded default adapter: the helpdesk database's own record tables.

Built from a `Database` (never a caller's session): each call is its own unit of work, so
the port hides where records live exactly as a vendor adapter does. Writes that must not
race (booking leave, cancelling, deciding, reporting sickness) run in a write transaction
that locks the employee row (`SELECT ... FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on
SQLite) or are conditional UPDATEs, and every write is idempotent on its client reference
(a unique column).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.concurrency import begin_write_transaction
from bot.storage.database import Database
from bot.storage.models import Employee

from .record_tables import (
    EmploymentRecord,
    ExpenseClaim,
    ExpenseLine,
    LeaveBooking,
    LeaveDecision,
    LeaveEntitlement,
    PayDate,
    PayRange,
    Payslip,
    PensionMembership,
    PersonalDetails,
    PersonalDetailsChange,
    PurchaseOrder,
    SalaryRecord,
    SicknessAbsence,
    Supplier,
    SupplierInvoice,
    TaxCodeRecord,
    WorkingPattern,
)
from .types import (
    ACTIVE_BOOKINGS,
    Booking,
    BookingStatus,
    ClaimLine,
    ClaimStatus,
    ClaimView,
    ContactDetails,
    Employment,
    Entitlement,
    InvoiceView,
    LeavePosition,
    NewBooking,
    Pattern,
    PayslipView,
    PensionView,
    PurchaseOrderView,
    SalaryView,
    Sickness,
    SicknessStatus,
    TaxCodeView,
)


def _lock_employee(session: Session, employee_id: int) -> None:
    """Serialise writes for one employee (a row lock on PostgreSQL; on SQLite the write
    transaction begun first already serialises writers)."""
    session.execute(select(Employee.id).where(Employee.id == employee_id).with_for_update())


def _booking(row: LeaveBooking) -> Booking:
    return Booking(str(row.id), row.leave_type, row.start_date, row.end_date, row.days, row.status)


def _row_id(reference: str) -> int | None:
    return int(reference) if reference.isdigit() and len(reference) < 12 else None


class SqlPeople:
    system = "the HR system"

    def __init__(self, db: Database) -> None:
        self.db = db

    def employment(self, employee_id: int) -> Employment | None:
        with self.db.unit_of_work() as session:
            employee = session.get(Employee, employee_id)
            if employee is None:
                return None
            record = session.get(EmploymentRecord, employee_id)
            return Employment(
                employee_id=employee.id,
                given_name=employee.given_name,
                family_name=employee.family_name,
                department_id=employee.department_id,
                department_name=employee.department.name,
                grade=employee.grade,
                line_manager_id=employee.line_manager_id,
                cost_centre_code=record.cost_centre.code if record else None,
                region=record.work_region.value if record else "england-and-wales",
                start_date=record.start_date if record else None,
            )

    def working_pattern(self, employee_id: int, on: dt.date) -> Pattern | None:
        with self.db.unit_of_work() as session:
            row = session.scalars(
                select(WorkingPattern)
                .where(WorkingPattern.employee_id == employee_id, WorkingPattern.effective_from <= on)
                .order_by(WorkingPattern.effective_from.desc())
                .limit(1)
            ).first()
            return Pattern(row.fractions(), row.contracted_hours) if row else None

    def contact_details(self, employee_id: int) -> ContactDetails | None:
        with self.db.unit_of_work() as session:
            row = session.get(PersonalDetails, employee_id)
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
        self, employee_id: int, changes: dict[str, str | None], channel: str,
        client_reference: str,
    ) -> None:
        with self.db.unit_of_work() as session:
            begin_write_transaction(session)
            if session.scalar(
                select(PersonalDetailsChange.id).where(
                    PersonalDetailsChange.client_reference == client_reference
                )
            ):
                return  # this turn's change already landed
            row = session.get(PersonalDetails, employee_id)
            if row is None:
                raise LookupError("no personal details record")
            for field, value in changes.items():
                setattr(row, field, value)
                session.add(
                    PersonalDetailsChange(
                        employee_id=employee_id,
                        field=field,
                        channel=channel,
                        client_reference=client_reference,
                    )
                )
            row.updated_at = dt.datetime.now(dt.timezone.utc)


class SqlAbsence:
    system = "the HR system"

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _position(session: Session, employee_id: int) -> LeavePosition:
        entitlements = [
            Entitlement(r.leave_type, r.year_start, r.year_end, r.entitlement_days,
                        r.carried_over_days)
            for r in session.scalars(
                select(LeaveEntitlement)
                .where(LeaveEntitlement.employee_id == employee_id)
                .order_by(LeaveEntitlement.year_start, LeaveEntitlement.leave_type)
            )
        ]
        bookings = [
            _booking(r)
            for r in session.scalars(
                select(LeaveBooking)
                .where(LeaveBooking.employee_id == employee_id)
                .order_by(LeaveBooking.start_date, LeaveBooking.id)
            )
        ]
        return LeavePosition(entitlements, bookings)

    def leave_position(self, employee_id: int) -> LeavePosition:
        with self.db.unit_of_work() as session:
            return self._position(session, employee_id)

    def booking(self, employee_id: int, reference: str) -> Booking | None:
        row_id = _row_id(reference)
        if row_id is None:
            return None
        with self.db.unit_of_work() as session:
            row = session.get(LeaveBooking, row_id)
            return _booking(row) if row and row.employee_id == employee_id else None

    def find_booking(self, employee_id: int, client_reference: str) -> Booking | None:
        with self.db.unit_of_work() as session:
            row = session.scalar(
                select(LeaveBooking).where(
                    LeaveBooking.client_reference == client_reference,
                    LeaveBooking.employee_id == employee_id,
                )
            )
            return _booking(row) if row else None

    def book(
        self, employee_id: int, new: NewBooking, guard: Callable[[LeavePosition], None]
    ) -> Booking:
        try:
            with self.db.unit_of_work() as session:
                begin_write_transaction(session)
                _lock_employee(session, employee_id)
                existing = session.scalar(
                    select(LeaveBooking).where(LeaveBooking.client_reference == new.client_reference)
                )
                if existing is not None:
                    return _booking(existing)
                guard(self._position(session, employee_id))
                row = LeaveBooking(
                    employee_id=employee_id,
                    leave_type=new.leave_type,
                    start_date=new.start,
                    end_date=new.end,
                    days=new.days,
                    status=BookingStatus.PENDING,
                    client_reference=new.client_reference,
                )
                session.add(row)
                session.flush()
                return _booking(row)
        except IntegrityError:  # a racing retry of the same turn won: return its booking
            found = self.find_booking(employee_id, new.client_reference)
            if found is None:
                raise
            return found

    def _conditional_status(
        self, session: Session, row_id: int, employee_id: int,
        allowed: tuple[BookingStatus, ...], status: BookingStatus, extra=None,  # type: ignore[no-untyped-def]
    ) -> LeaveBooking | None:
        """UPDATE ... WHERE status IN (allowed): of two racing decisions only one matches."""
        conditions = [
            LeaveBooking.id == row_id,
            LeaveBooking.employee_id == employee_id,
            LeaveBooking.status.in_(allowed),
        ]
        if extra is not None:
            conditions.append(extra)
        won = session.execute(
            update(LeaveBooking)
            .where(*conditions)
            .values(status=status)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won != 1:
            return None
        row = session.get(LeaveBooking, row_id)
        session.refresh(row)  # type: ignore[arg-type]
        return row

    def cancel(self, employee_id: int, reference: str, after: dt.date) -> Booking | None:
        row_id = _row_id(reference)
        if row_id is None:
            return None
        with self.db.unit_of_work() as session:
            begin_write_transaction(session)
            row = self._conditional_status(
                session, row_id, employee_id, ACTIVE_BOOKINGS, BookingStatus.CANCELLED,
                LeaveBooking.start_date > after,
            )
            return _booking(row) if row else None

    def decide(
        self, employee_id: int, reference: str, approve: bool, decided_by: int
    ) -> Booking | None:
        row_id = _row_id(reference)
        if row_id is None:
            return None
        with self.db.unit_of_work() as session:
            begin_write_transaction(session)
            row = self._conditional_status(
                session, row_id, employee_id, (BookingStatus.PENDING,),
                BookingStatus.APPROVED if approve else BookingStatus.REJECTED,
            )
            if row is None:
                return None
            session.add(LeaveDecision(booking_id=row.id, decided_by_id=decided_by, approved=approve))
            return _booking(row)

    def open_sickness(self, employee_id: int) -> Sickness | None:
        with self.db.unit_of_work() as session:
            row = session.scalars(
                select(SicknessAbsence).where(
                    SicknessAbsence.employee_id == employee_id, SicknessAbsence.end_date.is_(None)
                )
            ).first()
            return Sickness(str(row.id), row.start_date, row.end_date) if row else None

    def sickness(self, employee_id: int, reference: str) -> Sickness | None:
        row_id = _row_id(reference)
        if row_id is None:
            return None
        with self.db.unit_of_work() as session:
            row = session.get(SicknessAbsence, row_id)
            if row is None or row.employee_id != employee_id:
                return None
            return Sickness(str(row.id), row.start_date, row.end_date)

    def report_sickness(
        self, employee_id: int, start: dt.date, client_reference: str
    ) -> tuple[Sickness, bool]:
        with self.db.unit_of_work() as session:
            begin_write_transaction(session)
            _lock_employee(session, employee_id)
            same_turn = session.scalar(
                select(SicknessAbsence).where(SicknessAbsence.client_reference == client_reference)
            )
            if same_turn is not None:
                return Sickness(str(same_turn.id), same_turn.start_date, same_turn.end_date), True
            open_row = session.scalars(
                select(SicknessAbsence).where(
                    SicknessAbsence.employee_id == employee_id, SicknessAbsence.end_date.is_(None)
                )
            ).first()
            if open_row is not None:
                return Sickness(str(open_row.id), open_row.start_date, None), False
            row = SicknessAbsence(
                employee_id=employee_id,
                start_date=start,
                status=SicknessStatus.REPORTED,
                client_reference=client_reference,
            )
            session.add(row)
            session.flush()
            return Sickness(str(row.id), row.start_date, None), True


class SqlPayroll:
    system = "the payroll system"

    def __init__(self, db: Database) -> None:
        self.db = db

    def payslips(self, employee_id: int, limit: int = 24) -> list[PayslipView]:
        with self.db.unit_of_work() as session:
            rows = session.scalars(
                select(Payslip)
                .where(Payslip.employee_id == employee_id)
                .order_by(Payslip.period_start.desc())
                .limit(limit)
            )
            return [
                PayslipView(r.period_start, r.pay_date, r.tax_code, r.gross_pence, r.tax_pence,
                            r.ni_pence, r.pension_pence, r.other_deductions_pence, r.net_pence)
                for r in rows
            ]

    def pay_dates(
        self, employee_id: int, start: dt.date, end: dt.date
    ) -> list[tuple[dt.date, dt.date]]:
        with self.db.unit_of_work() as session:
            department = session.scalar(
                select(Employee.department_id).where(Employee.id == employee_id)
            )
            rows = session.execute(
                select(PayDate.period_start, PayDate.pay_date)
                .where(
                    PayDate.department_id == department,
                    PayDate.pay_date >= start,
                    PayDate.pay_date <= end,
                )
                .order_by(PayDate.pay_date)
            ).all()
            return [(period, paid) for period, paid in rows]

    def salary(self, employee_id: int, on: dt.date) -> SalaryView | None:
        with self.db.unit_of_work() as session:
            rows = session.scalars(
                select(SalaryRecord)
                .where(SalaryRecord.employee_id == employee_id, SalaryRecord.effective_from <= on)
                .order_by(SalaryRecord.effective_from.desc())
                .limit(2)
            ).all()
            if not rows:
                return None
            current = rows[0]
            department = session.scalar(
                select(Employee.department_id).where(Employee.id == employee_id)
            )
            band = session.scalars(
                select(PayRange)
                .where(
                    PayRange.department_id == department,
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
        with self.db.unit_of_work() as session:
            rows = session.scalars(
                select(TaxCodeRecord)
                .where(TaxCodeRecord.employee_id == employee_id, TaxCodeRecord.effective_from <= on)
                .order_by(TaxCodeRecord.effective_from.desc())
                .limit(2)
            ).all()
            if not rows:
                return None
            return TaxCodeView(rows[0].code, rows[0].basis.value, rows[0].effective_from,
                               rows[0].source, rows[1].code if len(rows) > 1 else None)

    def pension(self, employee_id: int) -> PensionView | None:
        with self.db.unit_of_work() as session:
            row = session.scalars(
                select(PensionMembership).where(PensionMembership.employee_id == employee_id)
            ).first()
            if row is None:
                return None
            return PensionView(row.scheme.value, row.member_rate, row.employer_rate, row.joined_on)


class SqlFinance:
    system = "the finance system"

    def __init__(self, db: Database) -> None:
        self.db = db

    @staticmethod
    def _claim(row: ExpenseClaim) -> ClaimView:
        summary = "; ".join(line.description for line in row.lines[:3])
        return ClaimView(row.reference, row.status, row.submitted_on, row.decided_on,
                         row.paid_on, row.total_pence, summary)

    def expense_claims(self, employee_id: int) -> list[ClaimView]:
        with self.db.unit_of_work() as session:
            rows = session.scalars(
                select(ExpenseClaim)
                .where(ExpenseClaim.employee_id == employee_id)
                .order_by(ExpenseClaim.submitted_on.desc(), ExpenseClaim.id.desc())
            )
            return [self._claim(r) for r in rows]

    def find_expense_claim(self, employee_id: int, client_reference: str) -> ClaimView | None:
        with self.db.unit_of_work() as session:
            row = session.scalar(
                select(ExpenseClaim).where(
                    ExpenseClaim.client_reference == client_reference,
                    ExpenseClaim.employee_id == employee_id,
                )
            )
            return self._claim(row) if row else None

    def submit_expense_claim(
        self, employee_id: int, lines: list[ClaimLine], submitted_on: dt.date,
        client_reference: str,
    ) -> ClaimView:
        try:
            with self.db.unit_of_work() as session:
                begin_write_transaction(session)
                existing = session.scalar(
                    select(ExpenseClaim).where(ExpenseClaim.client_reference == client_reference)
                )
                if existing is not None:
                    return self._claim(existing)
                claim = ExpenseClaim(
                    reference=f"EXP-P{client_reference[:10]}",  # unique until the id is known
                    employee_id=employee_id,
                    status=ClaimStatus.SUBMITTED,
                    submitted_on=submitted_on,
                    total_pence=sum(line.amount for line in lines),
                    client_reference=client_reference,
                )
                claim.lines = [
                    ExpenseLine(expense_type=line.expense_type, incurred_on=line.incurred_on,
                                description=line.description, amount_pence=line.amount,
                                miles=line.miles)
                    for line in lines
                ]
                session.add(claim)
                session.flush()
                claim.reference = f"EXP-{claim.id:06d}"  # unique because the id is
                session.flush()
                return self._claim(claim)
        except IntegrityError:  # a racing retry of the same turn won
            found = self.find_expense_claim(employee_id, client_reference)
            if found is None:
                raise
            return found

    def purchase_order(self, number: str) -> PurchaseOrderView | None:
        with self.db.unit_of_work() as session:
            row = session.scalars(
                select(PurchaseOrder).where(PurchaseOrder.number == number)
            ).first()
            if row is None:
                return None
            return PurchaseOrderView(row.number, row.cost_centre.code, row.supplier.name,
                                     row.description, row.status, row.total_pence,
                                     row.receipted_pence, row.raised_on, row.expected_delivery)

    def invoices(self, invoice_number: str) -> list[InvoiceView]:
        with self.db.unit_of_work() as session:
            rows = session.scalars(
                select(SupplierInvoice)
                .join(Supplier)
                .where(SupplierInvoice.invoice_number == invoice_number)
                .order_by(Supplier.name)
            )
            return [
                InvoiceView(r.invoice_number, r.cost_centre.code, r.supplier.name,
                            r.amount_pence, r.received_on, r.due_on, r.status, r.paid_on,
                            r.hold_reason,
                            r.purchase_order.number if r.purchase_order else None)
                for r in rows
            ]

