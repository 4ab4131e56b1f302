"""Typed SQLAlchemy 2 models of the helpdesk database.

Day counts are `Numeric(5, 1)` (half days exist); money, when it arrives, is integer pence.
Schema changes go through Alembic migrations in `bot/storage/migrations`, never `create_all`.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
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

from .times import utcnow

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


class AuditEvent(Base):
    """One access to personal data, or a sign-in, view or export: who, whose, what, when, outcome.

    Holds identifiers only, never the values that were read. Rows are written only through the
    hash chain (`bot.storage.audit_chain`, at commit): `seq` is the row's place in the chain,
    `prev_hash` the previous row's `row_hash`, and `row_hash` the SHA-256 of this row's values
    and `prev_hash`, so `python -m bot.cli verify-audit` finds any changed, deleted or inserted
    row. The employee ids carry no foreign key: the trail outlives an erased record, and an
    append never waits on another transaction's row locks.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    channel: Mapped[str] = mapped_column(String(32))
    actor_principal: Mapped[str] = mapped_column(String(300), index=True)
    actor_employee_id: Mapped[int | None] = mapped_column(Integer)
    subject_employee_id: Mapped[int | None] = mapped_column(Integer, index=True)
    record_type: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[AuditOutcome] = mapped_column(_enum(AuditOutcome, "audit_outcome"))
    reason: Mapped[str | None] = mapped_column(String(200))
    # What was accessed, when it is not a person: a ticket reference, a handoff, an export.
    target: Mapped[str | None] = mapped_column(String(100))
    prev_hash: Mapped[str] = mapped_column(String(64))
    row_hash: Mapped[str] = mapped_column(String(64))


class AuditChainHead(Base):
    """The end of the audit hash chain (one row): the last `seq` and its `row_hash`.

    An append locks this row (UPDATE), so concurrent writers take turns; verification checks
    that it agrees with the last row, so a row added behind the chain's back is found.
    """

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditPrune(Base):
    """Audit rows deleted by the retention schedule: the chain restarts after `through_seq`,
    whose `row_hash` the first remaining row must name as its `prev_hash`."""

    __tablename__ = "audit_prunes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    cutoff: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    through_seq: Mapped[int] = mapped_column(BigInteger)
    through_hash: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(BigInteger)
