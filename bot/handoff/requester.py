"""What an employee's conversation does with the handoff queue: ask for a person, or, when
nobody can come (out of hours, or no agent of the skill online for the caller's department),
be offered a ticket instead.

The requester is always the employee behind the verified principal (`identify_caller`). A
request inserts a row whose `open_conversation_id` is UNIQUE: of any number of concurrent
requests for one conversation exactly one inserts; the others find that row and return it.
Pausing the conversation is the caller's job (the action), so nothing here talks to Rasa.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.access import identify_caller
from bot.audit import record_access
from bot.config import Settings
from bot.identity import Principal
from bot.storage.concurrency import begin_write_transaction
from bot.storage.database import Database
from bot.storage.models import AuditOutcome, Employee
from bot.storage.times import utcnow
from bot.tickets.enums import ServiceLine

from .accounts import count_online
from .enums import HandoffReason, HandoffStatus
from .errors import InvalidHandoffInput
from .models import Handoff
from .places import QueuePlace, place_of
from .routing import helpdesk_open
from .transcript import add_system_entry

RECORD_TYPE = "handoff"
MAX_SUMMARY = 4000


@dataclass(frozen=True)
class NewHandoff:
    conversation_id: str
    skill: ServiceLine
    reason: HandoffReason
    summary: str
    feed_since: float  # Rasa timestamp of the message that asked


@dataclass(frozen=True)
class Availability:
    helpdesk_open: bool
    agents_online: int  # for the skill and the caller's department; 0 when closed

    @property
    def someone_can_come(self) -> bool:
        return self.helpdesk_open and self.agents_online > 0


@dataclass(frozen=True)
class TicketOffer:
    """Nobody can take the conversation now: the employee is offered a ticket instead."""

    skill: ServiceLine
    helpdesk_open: bool


def availability(db: Database, principal: Principal, skill: ServiceLine, settings: Settings,
                 now: dt.datetime) -> Availability:
    """Could a person of `skill` take the caller's conversation at `now`?

    Out of hours the answer needs no look-up; in hours the caller is identified (their
    department decides which agents may serve them) and the agents online are counted.
    """
    if not helpdesk_open(settings, now):
        return Availability(False, 0)
    employee = identify_caller(db, principal, RECORD_TYPE)
    with db.unit_of_work() as session:
        return Availability(True, count_online(session, skill, employee.department_code, now))


def queue_or_offer_ticket(db: Database, principal: Principal, new: NewHandoff,
                          settings: Settings, now: dt.datetime) -> QueuePlace | TicketOffer:
    """Queue the conversation when someone can come; otherwise the ticket to offer."""
    available = availability(db, principal, new.skill, settings, now)
    if not available.someone_can_come:
        return TicketOffer(new.skill, available.helpdesk_open)
    return request_handoff(db, principal, new)


def _open_for(session: Session, conversation_id: str) -> Handoff | None:
    return session.scalar(select(Handoff).where(Handoff.open_conversation_id == conversation_id))


def request_handoff(db: Database, principal: Principal, new: NewHandoff,
                    now: dt.datetime | None = None) -> QueuePlace:
    """Queue the conversation for a person; a conversation already queued keeps its place."""
    summary = (new.summary or "").strip()[:MAX_SUMMARY]
    employee = identify_caller(db, principal, RECORD_TYPE)
    moment = now or utcnow()
    try:
        with db.unit_of_work() as session:
            begin_write_transaction(session)
            existing = _open_for(session, new.conversation_id)
            if existing is not None:
                if existing.employee_id != employee.id:  # a conversation id is per employee
                    raise InvalidHandoffInput("conversation belongs to someone else")
                return place_of(session, existing, moment)
            department = session.get_one(Employee, employee.id).department.code
            handoff = Handoff(
                conversation_id=new.conversation_id, open_conversation_id=new.conversation_id,
                channel=principal.channel, tenant=principal.tenant, subject=principal.subject,
                employee_id=employee.id, department_code=department, skill=new.skill,
                reason=new.reason, status=HandoffStatus.WAITING, summary=summary,
                feed_since=float(new.feed_since), requested_at=moment, version=1,
            )
            session.add(handoff)
            session.flush()
            add_system_entry(session, handoff, f"Asked for a person ({new.skill.value} queue).",
                             moment)
            record_access(session, principal=principal, actor=employee,
                          subject_employee_id=employee.id, record_type=RECORD_TYPE,
                          outcome=AuditOutcome.ALLOWED, action="create")
            place = place_of(session, handoff, moment, created=True)
            handoff.told_position, handoff.told_wait_minutes = place.position, place.wait_minutes
            return place
    except IntegrityError:
        # PostgreSQL: a concurrent request inserted first; its row is the one to report.
        with db.unit_of_work() as session:
            existing = _open_for(session, new.conversation_id)
            if existing is None:
                raise
            return place_of(session, existing, moment)
