"""The back-office port, split by business area.

Each protocol is what the assistant needs from one kind of system of record, always for an
employee the service has already authorised (`bot.records.access`). Adapters take our
employee id and map it to the system's own person/worker id (`bot.backoffice.identities`).
Everything crossing a port is a plain value of `bot.backoffice.types`: no ORM rows, no
sessions, no HTTP responses.

Writes carry a `client_reference` (a key derived from the chat turn): the same reference
twice makes one record in the system of record, and `find_*` answers whether a reference
already landed, which is how a write whose outcome was unknown is reconciled.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from .types import (
    Booking,
    ClaimLine,
    ClaimView,
    ContactDetails,
    Employment,
    InvoiceView,
    LeavePosition,
    NewBooking,
    Pattern,
    PayslipView,
    PensionView,
    PurchaseOrderView,
    SalaryView,
    Sickness,
    TaxCodeView,
)


class PeopleRecords(Protocol):
    """HR: the person, their assignment, their contact details."""

    system: str  # how an employee names it: "the HR system"

    def employment(self, employee_id: int) -> Employment | None: ...
    def working_pattern(self, employee_id: int, on: dt.date) -> Pattern | None: ...
    def contact_details(self, employee_id: int) -> ContactDetails | None: ...
    def update_contact_details(
        self, employee_id: int, changes: dict[str, str | None], channel: str,
        client_reference: str,
    ) -> None: ...


class AbsenceRecords(Protocol):
    """Absence: entitlements and balances, leave bookings, sickness."""

    system: str

    def leave_position(self, employee_id: int) -> LeavePosition: ...
    def booking(self, employee_id: int, reference: str) -> Booking | None: ...
    def find_booking(self, employee_id: int, client_reference: str) -> Booking | None: ...
    def book(
        self, employee_id: int, new: NewBooking, guard: Callable[[LeavePosition], None]
    ) -> Booking:
        """Record a pending booking after `guard` accepts a fresh position (it raises to
        refuse). A client reference that already landed returns that booking instead."""
        ...
    def cancel(self, employee_id: int, reference: str, after: dt.date) -> Booking | None:
        """Cancel a pending or approved booking starting after `after`; None if it is not
        (or no longer) cancellable. Conditional: a concurrent decision cannot be undone."""
        ...
    def decide(
        self, employee_id: int, reference: str, approve: bool, decided_by: int
    ) -> Booking | None:
        """Approve or reject a pending booking; None if it is no longer pending. Raises
        DecidedElsewhere where the system runs its own approval workflow."""
        ...
    def open_sickness(self, employee_id: int) -> Sickness | None: ...
    def sickness(self, employee_id: int, reference: str) -> Sickness | None: ...
    def report_sickness(
        self, employee_id: int, start: dt.date, client_reference: str
    ) -> tuple[Sickness, bool]:
        """Open a sickness absence unless one is open; (absence, created)."""
        ...


class PayrollRecords(Protocol):
    """Payroll: payslips, pay dates, salary, tax code, pension."""

    system: str

    def payslips(self, employee_id: int, limit: int = 24) -> list[PayslipView]: ...
    def pay_dates(
        self, employee_id: int, start: dt.date, end: dt.date
    ) -> list[tuple[dt.date, dt.date]]: ...
    def salary(self, employee_id: int, on: dt.date) -> SalaryView | None: ...
    def tax_code(self, employee_id: int, on: dt.date) -> TaxCodeView | None: ...
    def pension(self, employee_id: int) -> PensionView | None: ...


class FinanceRecords(Protocol):
    """Finance: expense claims, purchase orders, supplier invoices."""

    system: str

    def expense_claims(self, employee_id: int) -> list[ClaimView]: ...
    def find_expense_claim(self, employee_id: int, client_reference: str) -> ClaimView | None: ...
    def submit_expense_claim(
        self, employee_id: int, lines: list[ClaimLine], submitted_on: dt.date,
        client_reference: str,
    ) -> ClaimView: ...
    def purchase_order(self, number: str) -> PurchaseOrderView | None: ...
    def invoices(self, invoice_number: str) -> list[InvoiceView]: ...


@dataclass(frozen=True)
class BackOffice:
    """The adapters serving each business area (`registry.backoffice(db)` gives the configured
    ones)."""

    people: PeopleRecords
    absence: AbsenceRecords
    payroll: PayrollRecords
    finance: FinanceRecords
