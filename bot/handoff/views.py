"""Read-only views of handoffs handed to actions and the console (no ORM objects leak out)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.identity import Principal
from bot.storage.models import Department, Employee
from bot.storage.times import as_utc
from bot.tickets.enums import ServiceLine

from .enums import OPEN_STATUSES, EntryKind, HandoffReason, HandoffStatus
from .models import Handoff, HandoffEntry
from .places import position
from .summary import redact


@dataclass(frozen=True)
class QueueItem:
    id: int
    skill: ServiceLine
    department_code: str
    reason: HandoffReason
    status: HandoffStatus
    assignee: str | None
    requested_at: dt.datetime
    position: int | None
    headline: str  # the last message quoted in the summary (PII-minimised), else its reason


@dataclass(frozen=True)
class EntryView:
    id: int
    kind: EntryKind
    author: str | None
    body: str
    at: dt.datetime
    delivery_failed: bool = False


@dataclass(frozen=True)
class EmployeeContext:
    name: str
    employee_number: str
    department: str
    grade: str


@dataclass(frozen=True)
class HandoffView:
    id: int
    conversation_id: str
    channel: str
    skill: ServiceLine
    department_code: str
    reason: HandoffReason
    status: HandoffStatus
    assignee: str | None
    summary: str
    requested_at: dt.datetime
    claimed_at: dt.datetime | None
    ended_at: dt.datetime | None
    ticket_reference: str | None
    employee: EmployeeContext
    employee_principal: Principal
    position: int | None
    entries: tuple[EntryView, ...]

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


def entry_view(entry: HandoffEntry) -> EntryView:
    """An entry as agents see it: what people wrote (the employee's messages, agents' replies and
    notes) only in its redacted form; rows from before `shared_body` was written are redacted on
    the fly."""
    body = entry.shared_body
    if body is None:
        body = entry.body if entry.kind is EntryKind.SYSTEM else redact(entry.body)
    return EntryView(entry.id, entry.kind, entry.author, body, as_utc(entry.at),
                     entry.delivery_failed)


def queue_item(handoff: Handoff, position: int | None) -> QueueItem:
    return QueueItem(handoff.id, handoff.skill, handoff.department_code, handoff.reason,
                     handoff.status, handoff.assignee, as_utc(handoff.requested_at), position,
                     headline(handoff.summary))


def headline(summary: str, limit: int = 90) -> str:
    """The employee's last (already redacted) message in the summary, else its first line."""
    lines = (summary or "").splitlines()
    messages = [line[2:] for line in lines if line.startswith("- ")]
    text = messages[-1] if messages else (lines[0] if lines else "")
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def handoff_view(session: Session, handoff: Handoff, include_notes: bool = True) -> HandoffView:
    """The whole handoff: summary, transcript (internal notes only if asked), the employee."""
    employee = session.get_one(Employee, handoff.employee_id)
    department = session.get_one(Department, employee.department_id)
    query = select(HandoffEntry).where(HandoffEntry.handoff_id == handoff.id)
    if not include_notes:
        query = query.where(HandoffEntry.kind != EntryKind.NOTE)
    entries = tuple(entry_view(e) for e in session.scalars(query.order_by(HandoffEntry.id)))
    return HandoffView(
        id=handoff.id, conversation_id=handoff.conversation_id, channel=handoff.channel,
        skill=handoff.skill, department_code=handoff.department_code, reason=handoff.reason,
        status=handoff.status, assignee=handoff.assignee, summary=handoff.summary,
        requested_at=as_utc(handoff.requested_at),
        claimed_at=as_utc(handoff.claimed_at) if handoff.claimed_at else None,
        ended_at=as_utc(handoff.ended_at) if handoff.ended_at else None,
        ticket_reference=handoff.ticket_reference,
        employee=EmployeeContext(f"{employee.given_name} {employee.family_name}",
                                 employee.employee_number, department.name, employee.grade),
        employee_principal=Principal(handoff.channel, handoff.tenant, handoff.subject),
        position=position(session, handoff), entries=entries,
    )
