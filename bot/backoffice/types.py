"""The plain domain types that cross the back-office port (never ORM rows, never sessions).

Enumerations are defined here and mapped by the helpdesk's own tables (`bot.storage.models`,
`bot.records.models`), so the SQL adapter and the vendor adapters speak the same values.
Money is integer pence, day counts are `Decimal` (half days exist), identifiers of records
held by a system of record are opaque strings (`reference`): the SQL adapter's are row ids,
Oracle's `personAbsenceEntryId`, SuccessFactors' `externalCode`.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from decimal import Decimal


class LeaveType(str, enum.Enum):
    ANNUAL = "annual"
    FLEXI = "flexi"
    PRIVILEGE = "privilege"


class BookingStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class ExpenseType(str, enum.Enum):
    TRAVEL = "travel"
    SUBSISTENCE = "subsistence"
    MILEAGE = "mileage"
    ACCOMMODATION = "accommodation"
    OTHER = "other"


class ClaimStatus(str, enum.Enum):
    SUBMITTED = "submitted"  # waiting for the line manager
    APPROVED = "approved"  # approved, waiting for the next payroll / payment run
    QUERIED = "queried"  # sent back with a question
    REJECTED = "rejected"
    PAID = "paid"


class PurchaseOrderStatus(str, enum.Enum):
    AWAITING_APPROVAL = "awaiting_approval"
    APPROVED = "approved"
    SENT = "sent"  # sent to the supplier
    PARTLY_RECEIPTED = "partly_receipted"
    RECEIPTED = "receipted"  # goods or services received in full
    CLOSED = "closed"
    CANCELLED = "cancelled"


class InvoiceStatus(str, enum.Enum):
    RECEIVED = "received"  # registered, not yet matched
    ON_HOLD = "on_hold"  # e.g. no goods receipt, price mismatch
    APPROVED = "approved"  # matched and approved, in the next payment run
    PAID = "paid"
    DISPUTED = "disputed"


class Region(str, enum.Enum):
    """The UK jurisdiction whose bank holidays apply (gov.uk's division names)."""

    ENGLAND_AND_WALES = "england-and-wales"
    SCOTLAND = "scotland"
    NORTHERN_IRELAND = "northern-ireland"


class TaxBasis(str, enum.Enum):
    CUMULATIVE = "cumulative"
    WEEK1_MONTH1 = "week1month1"  # emergency / non-cumulative


class PensionScheme(str, enum.Enum):
    ALPHA = "alpha"
    CLASSIC = "classic"
    PREMIUM = "premium"
    NUVOS = "nuvos"
    PARTNERSHIP = "partnership"
    OPTED_OUT = "opted_out"


class SicknessStatus(str, enum.Enum):
    REPORTED = "reported"  # by the employee, open-ended until they return
    CONFIRMED = "confirmed"  # acknowledged by the line manager
    CLOSED = "closed"  # the employee is back; end date known


ACTIVE_BOOKINGS = (BookingStatus.PENDING, BookingStatus.APPROVED)


@dataclass(frozen=True)
class Employment:
    employee_id: int
    given_name: str
    family_name: str
    department_id: int
    department_name: str
    grade: str
    line_manager_id: int | None
    cost_centre_code: str | None
    region: str
    start_date: dt.date | None

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


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


CONTACT_FIELDS = (
    "preferred_name",
    "address_line1",
    "address_line2",
    "town",
    "postcode",
    "phone",
    "emergency_contact_name",
    "emergency_contact_phone",
)


@dataclass(frozen=True)
class Booking:
    """A leave booking (an absence entry) as the system of record holds it."""

    reference: str
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
class LeavePosition:
    """Everything a balance needs, read together (one round trip where the system allows)."""

    entitlements: list[Entitlement]
    bookings: list[Booking]


def entitlement_from_balance(
    leave_type: LeaveType, start: dt.date, end: dt.date, balance: Decimal, bookings: list[Booking]
) -> Entitlement:
    """The year's entitlement from a vendor's balance, which has the year's pending and
    approved absences deducted already: they are added back, so taken, booked and pending are
    counted the same way for every adapter (bot/leave/balances.py)."""
    used = sum((b.days for b in bookings if b.leave_type is leave_type
                and b.status in ACTIVE_BOOKINGS and start <= b.start_date <= end), Decimal(0))
    return Entitlement(leave_type, start, end, balance + used, Decimal(0))


def position_of(entitlements: list[Entitlement], bookings: list[Booking]) -> LeavePosition:
    """A LeavePosition in the order every adapter gives: years then types; bookings by start."""
    return LeavePosition(
        sorted(entitlements, key=lambda e: (e.year_start, e.leave_type.value)),
        sorted(bookings, key=lambda b: b.start_date),
    )


@dataclass(frozen=True)
class NewBooking:
    leave_type: LeaveType
    start: dt.date
    end: dt.date
    days: Decimal
    client_reference: str  # makes the write idempotent against the system of record


@dataclass(frozen=True)
class Sickness:
    reference: str
    start_date: dt.date
    end_date: dt.date | None


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
    cost_centre_code: str
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
    cost_centre_code: str
    supplier: str
    amount: int
    received_on: dt.date
    due_on: dt.date
    status: InvoiceStatus
    paid_on: dt.date | None
    hold_reason: str | None
    purchase_order: str | None
