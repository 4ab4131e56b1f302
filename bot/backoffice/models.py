"""The helpdesk's own bookkeeping about systems of record (not records themselves).

- `ExternalIdentity`: which person/worker a system of record knows our employee as (its
  own ids), filled on first use from the employee number (see `identities.py`) or set by an
  operator where a department's numbers differ.
- `BackOfficeWrite`: one row per write a chat turn asks of a system of record, keyed by the
  turn's idempotency key. `state` says whether it is known to have landed (`done`), was
  sent with an unknown outcome (`unknown`: reconciled by its client reference before the
  turn may write again), or is being sent (`pending`).
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import DateTime, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base, _enum
from bot.storage.times import utcnow


class ExternalIdentity(Base):
    __tablename__ = "backoffice_identities"
    __table_args__ = (UniqueConstraint("employee_id", "system"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    system: Mapped[str] = mapped_column(String(32))  # oracle_hcm, successfactors, oracle_erp
    person_id: Mapped[str] = mapped_column(String(64))  # PersonId / userId
    person_number: Mapped[str] = mapped_column(String(64))  # PersonNumber / personIdExternal
    assignment_id: Mapped[str | None] = mapped_column(String(64))  # AssignmentId, if any
    resolved_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WriteState(str, enum.Enum):
    PENDING = "pending"
    DONE = "done"
    UNKNOWN = "unknown"


class BackOfficeWrite(Base):
    __tablename__ = "backoffice_writes"

    id: Mapped[int] = mapped_column(primary_key=True)
    client_reference: Mapped[str] = mapped_column(String(64), unique=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # leave_booking, leave_cancel, expense_claim...
    system: Mapped[str] = mapped_column(String(32))
    state: Mapped[WriteState] = mapped_column(_enum(WriteState, "backoffice_write_state"))
    record_reference: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
