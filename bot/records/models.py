"""The records services' own tables: where to tell an employee things, and what to tell them.

The records themselves (employment, pay, leave, expenses, finance documents) are the back
office's, held by the embedded SQL adapter in `bot.backoffice.record_tables` or by a vendor's
system; these two tables belong to the helpdesk whichever holds them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base, _enum
from bot.storage.times import utcnow

from .enums import NoticeKind, NoticeState


class EmployeeConversation(Base):
    """A conversation an employee was verified in, and when: where to tell them things.

    Written when a records action runs for a verified caller; the conversation id is the one
    our connectors derive from the verified principal, never one the user chose.
    """

    __tablename__ = "employee_conversations"
    __table_args__ = (UniqueConstraint("employee_id", "conversation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[str] = mapped_column(String(200))
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class RecordsNotice(Base):
    """An outbox row: someone must be told about a leave request, a decision or a sickness.

    Holds references only; the words are rendered from the records when it is delivered, in a
    conversation where the recipient is verified (so it is told once, and only to them). The
    record is the subject employee's booking or sickness in the absence system of record
    (`record_reference` as the port names it), so notices work whichever adapter holds leave.
    One notice per (kind, record): enqueueing is idempotent.
    """

    __tablename__ = "records_notices"
    __table_args__ = (UniqueConstraint("kind", "record_reference", "recipient_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    kind: Mapped[NoticeKind] = mapped_column(_enum(NoticeKind, "notice_kind"))
    subject_employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"))
    record_reference: Mapped[str] = mapped_column(String(64))
    state: Mapped[NoticeState] = mapped_column(_enum(NoticeState, "notice_state"), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
