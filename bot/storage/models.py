"""Typed SQLAlchemy 2 models of the helpdesk database.

Day counts are `Numeric(5, 1)` (half days exist); money, when it arrives, is integer pence.
Schema changes go through Alembic migrations in `bot/storage/migrations`, never `create_all`.
"""
from __future__ import annotations

import datetime as dt
import enum
from decimal import Decimal

from sqlalchemy import (
    Date,
    DateTime,
    Enum,
    ForeignKey,
    Integer,
    MetaData,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

Days = Numeric(5, 1)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class LeaveType(str, enum.Enum):
    ANNUAL = "annual"
    FLEXI = "flexi"
    PRIVILEGE = "privilege"


class BookingStatus(str, enum.Enum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"
    CANCELLED = "cancelled"


class AuditOutcome(str, enum.Enum):
    ALLOWED = "allowed"
    REFUSED = "refused"


def _enum(kind: type[enum.Enum], name: str) -> Enum:
    """Store enums as their values in a VARCHAR with a CHECK, portable across databases."""
    return Enum(kind, name=name, native_enum=False, values_callable=lambda e: [m.value for m in e])


class Department(Base):
    __tablename__ = "departments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(200))


class Employee(Base):
    __tablename__ = "employees"

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_number: Mapped[str] = mapped_column(String(16), unique=True)
    given_name: Mapped[str] = mapped_column(String(100))
    family_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    department_id: Mapped[int] = mapped_column(ForeignKey("departments.id"))
    grade: Mapped[str] = mapped_column(String(16))
    line_manager_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))

    department: Mapped[Department] = relationship()


class ChannelIdentity(Base):
    """A verified channel principal (channel, tenant, subject) that belongs to an employee.

    widget: (widget, token issuer, token subject); msteams: (msteams, AAD tenant, AAD object id);
    slack: (slack, team id, user id).
    """

    __tablename__ = "channel_identities"
    __table_args__ = (UniqueConstraint("channel", "tenant", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    tenant: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)

    employee: Mapped[Employee] = relationship()


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
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    """One read (or refused read) of personal data: who, whose, what, when, outcome.

    Holds identifiers only, never the values that were read.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(32))
    actor_principal: Mapped[str] = mapped_column(String(300))
    actor_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    subject_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    record_type: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[AuditOutcome] = mapped_column(_enum(AuditOutcome, "audit_outcome"))
    reason: Mapped[str | None] = mapped_column(String(200))
