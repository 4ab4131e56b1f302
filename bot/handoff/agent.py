"""What the agent console does with the handoff queue: list it, read a conversation, claim it
(one winner), reply, add an internal note, transfer it, and end it (handed back or ticketed).

The console authenticates the agent and passes a `ConsoleAgent`; the Rasa side effects
(sending the agent's words, resuming the conversation) are the console's job. Every read of
personal data (the transcript, the employee's context, the queue) is audited under the
agent's console principal, and so is every refusal, in its own unit of work.

A claim is one conditional `UPDATE ... WHERE id = :id AND status = 'waiting' AND assignee IS
NULL`: the agent whose statement changed a row (rowcount 1) won, everybody else gets
`AlreadyClaimed`. Writes on SQLite start with BEGIN IMMEDIATE (`begin_write_transaction`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.audit import record_access
from bot.storage.concurrency import begin_write_transaction
from bot.storage.database import Database
from bot.storage.models import AuditOutcome
from bot.storage.times import utcnow
from bot.tickets.enums import ServiceLine

from .accounts import ConsoleAgent
from .enums import OPEN_STATUSES, EntryKind, HandoffStatus
from .errors import (AlreadyClaimed, HandoffClosed, HandoffNotFound, InvalidHandoffInput,
                     NotAssignee, NotEligible)
from .models import Handoff, HandoffEntry
from .places import QueuePlace, place_of
from .summary import redact
from .transcript import MAX_TEXT, add_system_entry
from .views import EntryView, HandoffView, QueueItem, entry_view, handoff_view, queue_item

RECORD_TYPE = "handoff"
QUEUE_RECORD_TYPE = "handoff_queue"


def _load(session: Session, handoff_id: int, lock: bool = False) -> Handoff:
    query = select(Handoff).where(Handoff.id == handoff_id)
    if lock:
        query = query.with_for_update()
    handoff = session.scalar(query)
    if handoff is None:
        raise HandoffNotFound(RECORD_TYPE)
    return handoff


def _audit(session: Session, agent: ConsoleAgent, subject_id: int | None, action: str,
           outcome: AuditOutcome = AuditOutcome.ALLOWED, reason: str | None = None,
           record_type: str = RECORD_TYPE) -> None:
    record_access(session, principal=agent.principal, actor=None, subject_employee_id=subject_id,
                  record_type=record_type, outcome=outcome, action=action, reason=reason)


def _refuse(db: Database, agent: ConsoleAgent, subject_id: int | None, action: str,
            error: Exception) -> Exception:
    """Audit a refused attempt in its own unit of work; the caller raises the error."""
    with db.unit_of_work() as session:
        _audit(session, agent, subject_id, action, AuditOutcome.REFUSED, type(error).__name__)
    return error


def list_queue(db: Database, agent: ConsoleAgent, audit: bool = True) -> list[QueueItem]:
    """Open handoffs: waiting ones of the agent's skills and departments, and the agent's own.

    The items hold no names or messages (department, skill, reason, time, the summary's first
    line); the view is audited once per page or stream (`audit`), not on every live refresh.
    """
    with db.unit_of_work() as session:
        rows = session.scalars(
            select(Handoff).where(Handoff.status.in_(OPEN_STATUSES))
            .order_by(Handoff.requested_at, Handoff.id)
        ).all()
        counters: dict[ServiceLine, int] = {}
        items = []
        for handoff in rows:
            position = None
            if handoff.status is HandoffStatus.WAITING:
                counters[handoff.skill] = position = counters.get(handoff.skill, 0) + 1
            mine = handoff.assignee == agent.username
            if not mine and not agent.works(handoff.skill, handoff.department_code):
                continue
            if handoff.status is HandoffStatus.ASSIGNED and not mine:
                continue
            items.append(queue_item(handoff, position))
        if audit:
            _audit(session, agent, None, "read", record_type=QUEUE_RECORD_TYPE)
        return items


def _may_read(agent: ConsoleAgent, handoff: Handoff) -> bool:
    return handoff.assignee == agent.username or agent.works(handoff.skill,
                                                              handoff.department_code)


def get_handoff(db: Database, agent: ConsoleAgent, handoff_id: int) -> HandoffView:
    """The whole conversation for an agent: summary, transcript (notes too), employee context."""
    with db.unit_of_work() as session:
        handoff = _load(session, handoff_id)
        allowed = _may_read(agent, handoff)
        if allowed:
            _audit(session, agent, handoff.employee_id, "read")
            view = handoff_view(session, handoff)
        subject = handoff.employee_id
    if not allowed:
        raise _refuse(db, agent, subject, "read", NotEligible(RECORD_TYPE))
    return view


def entries_after(db: Database, agent: ConsoleAgent, handoff_id: int,
                  after_id: int) -> tuple[HandoffStatus, str | None, list[EntryView]]:
    """New transcript lines for a console view that is already open (and audited)."""
    with db.unit_of_work() as session:
        handoff = _load(session, handoff_id)
        if not _may_read(agent, handoff):
            raise NotEligible(RECORD_TYPE)
        entries = session.scalars(
            select(HandoffEntry).where(HandoffEntry.handoff_id == handoff_id,
                                       HandoffEntry.id > after_id)
            .order_by(HandoffEntry.id)).all()
        return handoff.status, handoff.assignee, [entry_view(e) for e in entries]


@dataclass(frozen=True)
class Claimed:
    handoff_id: int
    conversation_id: str
    skill: ServiceLine


def claim(db: Database, agent: ConsoleAgent, handoff_id: int,
          now: dt.datetime | None = None) -> Claimed:
    """Take a waiting conversation; exactly one of any number of concurrent claims wins."""
    moment = now or utcnow()
    with db.unit_of_work() as session:
        handoff = _load(session, handoff_id)
        eligible = agent.works(handoff.skill, handoff.department_code)
        subject = handoff.employee_id
    if not eligible:
        raise _refuse(db, agent, subject, "claim", NotEligible(RECORD_TYPE))
    with db.unit_of_work() as session:
        begin_write_transaction(session)
        won = session.execute(
            update(Handoff)
            .where(Handoff.id == handoff_id, Handoff.status == HandoffStatus.WAITING,
                   Handoff.assignee.is_(None))
            .values(status=HandoffStatus.ASSIGNED, assignee=agent.username, claimed_at=moment,
                    version=Handoff.version + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        if won == 1:
            handoff = _load(session, handoff_id)
            add_system_entry(session, handoff, f"{agent.display_name} joined the conversation.", moment,
                    agent.username)
            _audit(session, agent, handoff.employee_id, "claim")
            return Claimed(handoff.id, handoff.conversation_id, handoff.skill)
    raise AlreadyClaimed(RECORD_TYPE)


def _own_open(session: Session, agent: ConsoleAgent, handoff_id: int,
              require_assignee: bool = True) -> Handoff:
    handoff = _load(session, handoff_id, lock=True)
    if handoff.status not in OPEN_STATUSES:
        raise HandoffClosed(RECORD_TYPE)
    if require_assignee and handoff.assignee != agent.username:
        raise NotAssignee(RECORD_TYPE)
    return handoff


def _clean(text: str) -> str:
    cleaned = (text or "").strip()
    if not cleaned:
        raise InvalidHandoffInput("type something first")
    if len(cleaned) > MAX_TEXT:
        raise InvalidHandoffInput(f"at most {MAX_TEXT} characters")
    return cleaned


@dataclass(frozen=True)
class Reply:
    entry_id: int
    conversation_id: str
    body: str
    created: bool  # False: this submission was already recorded (a retried POST)


def add_reply(db: Database, agent: ConsoleAgent, handoff_id: int, text: str,
              submission_key: str, now: dt.datetime | None = None) -> Reply:
    """Record the assignee's reply (to be sent by the caller); a repeated key is not doubled."""
    body = _clean(text)
    key = f"reply:{submission_key}"[:64]
    moment = now or utcnow()
    try:
        with db.unit_of_work() as session:
            begin_write_transaction(session)
            handoff = _own_open(session, agent, handoff_id)
            existing = session.scalar(select(HandoffEntry).where(
                HandoffEntry.handoff_id == handoff_id, HandoffEntry.source_key == key))
            if existing is not None:
                return Reply(existing.id, handoff.conversation_id, existing.body, False)
            entry = HandoffEntry(handoff_id=handoff.id, at=moment, kind=EntryKind.AGENT,
                                 author=agent.username, body=body, shared_body=redact(body),
                                 source_key=key, delivery_failed=False)
            session.add(entry)
            session.flush()
            _audit(session, agent, handoff.employee_id, "reply")
            return Reply(entry.id, handoff.conversation_id, body, True)
    except (HandoffClosed, NotAssignee) as error:
        raise _refuse(db, agent, None, "reply", error) from None


def mark_delivery(db: Database, entry_id: int, delivered: bool,
                  now: dt.datetime | None = None) -> None:
    with db.unit_of_work() as session:
        entry = session.get(HandoffEntry, entry_id)
        if entry is None:
            return
        if delivered:
            entry.delivered_at, entry.delivery_failed = now or utcnow(), False
        else:
            entry.delivery_failed = True


def add_note(db: Database, agent: ConsoleAgent, handoff_id: int, text: str,
             now: dt.datetime | None = None) -> int:
    """An internal note for other agents; never sent to the employee."""
    body = _clean(text)
    with db.unit_of_work() as session:
        handoff = _load(session, handoff_id)
        allowed = _may_read(agent, handoff)
        if allowed:
            entry = HandoffEntry(handoff_id=handoff.id, at=now or utcnow(), kind=EntryKind.NOTE,
                                 author=agent.username, body=body, shared_body=redact(body),
                                 delivery_failed=False)
            session.add(entry)
            session.flush()
            _audit(session, agent, handoff.employee_id, "note")
            return entry.id
        subject = handoff.employee_id
    raise _refuse(db, agent, subject, "note", NotEligible(RECORD_TYPE))


@dataclass(frozen=True)
class Transferred:
    handoff_id: int
    conversation_id: str
    skill: ServiceLine
    place: QueuePlace


def transfer(db: Database, agent: ConsoleAgent, handoff_id: int, skill: ServiceLine,
             now: dt.datetime | None = None) -> Transferred:
    """Send the conversation to another skill's queue; it keeps its original place in time.

    The assignee may transfer; so may any agent of the skill while it is still waiting.
    """
    moment = now or utcnow()
    try:
        with db.unit_of_work() as session:
            begin_write_transaction(session)
            handoff = _load(session, handoff_id, lock=True)
            if handoff.status not in OPEN_STATUSES:
                raise HandoffClosed(RECORD_TYPE)
            if handoff.assignee != agent.username and not (
                handoff.status is HandoffStatus.WAITING
                and agent.works(handoff.skill, handoff.department_code)
            ):
                raise NotAssignee(RECORD_TYPE)
            if skill == handoff.skill and handoff.status is HandoffStatus.WAITING:
                raise InvalidHandoffInput("it is already in that queue")
            handoff.skill = skill
            handoff.status = HandoffStatus.WAITING
            handoff.assignee = None
            handoff.claimed_at = None
            handoff.version += 1
            add_system_entry(session, handoff, f"{agent.display_name} transferred the conversation to "
                                      f"the {skill.value} queue.", moment, agent.username)
            _audit(session, agent, handoff.employee_id, "transfer")
            session.flush()
            place = place_of(session, handoff, moment)
            handoff.told_position, handoff.told_wait_minutes = place.position, place.wait_minutes
            return Transferred(handoff.id, handoff.conversation_id, skill, place)
    except (HandoffClosed, NotAssignee) as error:
        raise _refuse(db, agent, None, "transfer", error) from None


@dataclass(frozen=True)
class Ended:
    handoff_id: int
    conversation_id: str
    status: HandoffStatus
    ticket_reference: str | None


def check_assignee(db: Database, agent: ConsoleAgent, handoff_id: int) -> HandoffView:
    """The open handoff the agent may end (before the caller resumes the conversation)."""
    with db.unit_of_work() as session:
        handoff = _load(session, handoff_id)
        problem: Exception | None = None
        if handoff.status not in OPEN_STATUSES:
            problem = HandoffClosed(RECORD_TYPE)
        elif handoff.assignee != agent.username:
            problem = NotAssignee(RECORD_TYPE)
        else:
            return handoff_view(session, handoff, include_notes=False)
        subject = handoff.employee_id
    raise _refuse(db, agent, subject, "end", problem)


def end_handoff(db: Database, agent: ConsoleAgent, handoff_id: int, status: HandoffStatus,
                ticket_reference: str | None = None, now: dt.datetime | None = None) -> Ended:
    """Close the handoff as handed back or ticketed (the conversation may be queued again)."""
    if status not in (HandoffStatus.RESUMED, HandoffStatus.TICKETED):
        raise InvalidHandoffInput("an agent ends a handoff by handing back or with a ticket")
    moment = now or utcnow()
    try:
        with db.unit_of_work() as session:
            begin_write_transaction(session)
            handoff = _own_open(session, agent, handoff_id)
            handoff.status = status
            handoff.open_conversation_id = None
            handoff.ended_at = moment
            handoff.ticket_reference = ticket_reference
            handoff.version += 1
            text = (f"{agent.display_name} handed the conversation back to the assistant."
                    if status is HandoffStatus.RESUMED else
                    f"{agent.display_name} turned the conversation into ticket "
                    f"{ticket_reference}.")
            add_system_entry(session, handoff, text, moment, agent.username)
            _audit(session, agent, handoff.employee_id, "end")
            return Ended(handoff.id, handoff.conversation_id, status, ticket_reference)
    except (HandoffClosed, NotAssignee) as error:
        raise _refuse(db, agent, None, "end", error) from None
