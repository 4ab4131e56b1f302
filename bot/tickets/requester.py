"""What an employee may do with tickets in chat: raise, read, list, comment, close, reopen.

The requester is always the employee behind the verified principal (`identify_caller`);
a reference names a ticket, never a person. Every read is audited, and so is every refusal:
asking for someone else's ticket is refused in the same words as asking for one that does
not exist, so references cannot be probed.
"""
from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.access import identify_caller
from bot.audit import record_access
from bot.redaction import redact
from bot.identity import EmployeeRef, Principal
from bot.storage.concurrency import begin_write_transaction
from bot.storage.database import Database
from bot.storage.models import AuditOutcome
from bot.storage.times import as_utc, utcnow

from .categories import SERVICE_LINES, subject_from
from .enums import ActorKind, EventKind, Priority, ServiceLine, TicketStatus, Visibility
from .errors import (
    InvalidTicket,
    InvalidTransition,
    NotYourTicket,
    ReopenWindowPassed,
    TicketNotFound,
)
from .lifecycle import FINISHED_STATUSES, OPEN_STATUSES, move
from .models import Ticket, TicketComment, TicketEvent
from .references import allocate_reference, normalise_reference
from .sla import SlaPolicy
from .views import TicketDetail, TicketSummary, for_requester, summarise

RECORD_TYPE = "ticket"
LIST_RECORD_TYPE = "ticket_list"
MIN_DESCRIPTION = 10
MIN_COMMENT = 2
MAX_TEXT = 2000


def idempotency_key(conversation_id: str, turn_id: str) -> str:
    """The key of one conversation turn (sender id + the user message's id or timestamp)."""
    return hashlib.sha256(f"ticket\n{conversation_id}\n{turn_id}".encode()).hexdigest()


@dataclass(frozen=True)
class NewTicket:
    category: ServiceLine
    description: str
    priority: Priority | None = None  # None: the category's suggestion
    conversation_id: str | None = None
    channel: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class RaisedTicket:
    summary: TicketSummary
    created: bool  # False: this turn had already raised it (a retry)


class _AlreadyRaised(Exception):
    """Rolls back a creation whose turn already raised a ticket."""

    def __init__(self, ticket_id: int) -> None:
        self.ticket_id = ticket_id


def _actor(employee: EmployeeRef) -> str:
    return f"employee:{employee.id}"


def _audit(session: Session, principal: Principal, employee: EmployeeRef,
           subject_id: int | None, outcome: AuditOutcome, action: str = "read",
           reason: str | None = None, record_type: str = RECORD_TYPE) -> None:
    record_access(session, principal=principal, actor=employee, subject_employee_id=subject_id,
                  record_type=record_type, outcome=outcome, action=action, reason=reason)


def _clean_text(text: str, minimum: int = MIN_DESCRIPTION) -> str:
    cleaned = (text or "").strip()
    if len(cleaned) < minimum:
        raise InvalidTicket(f"text must be at least {minimum} characters")
    if len(cleaned) > MAX_TEXT:
        raise InvalidTicket(f"text must be at most {MAX_TEXT} characters")
    return cleaned


def raise_ticket(db: Database, principal: Principal, new: NewTicket, policy: SlaPolicy,
                 now: dt.datetime | None = None) -> RaisedTicket:
    """Raise a ticket for the caller; a repeated idempotency key returns the first ticket.

    The description is kept, and shown to agents, with its personal data redacted
    (`bot.redaction`): a ticket made from a conversation carries what the employee typed.
    """
    description = redact(_clean_text(new.description))
    priority = new.priority or SERVICE_LINES[new.category].suggested_priority
    employee = identify_caller(db, principal, RECORD_TYPE)
    try:
        with db.unit_of_work() as session:
            begin_write_transaction(session)
            prefix, number, reference = allocate_reference(session, new.category)
            if new.idempotency_key:
                existing = session.scalar(
                    select(Ticket.id).where(Ticket.idempotency_key == new.idempotency_key))
                if existing is not None:
                    raise _AlreadyRaised(existing)  # rolls the counter back: no gap
            moment = now or utcnow()
            due = policy.due_times(priority, moment)
            ticket = Ticket(
                reference=reference, prefix=prefix, number=number,
                idempotency_key=new.idempotency_key, requester_id=employee.id,
                category=new.category, subject=subject_from(description),
                description=description, priority=priority, status=TicketStatus.NEW,
                conversation_id=new.conversation_id, channel=new.channel,
                created_at=moment, updated_at=moment,
                response_due_at=due.response, resolution_due_at=due.resolution,
                response_breached=False, resolution_breached=False, reopen_count=0,
            )
            session.add(ticket)
            session.flush()
            session.add(TicketEvent(ticket_id=ticket.id, at=moment, kind=EventKind.CREATED,
                                    actor_kind=ActorKind.EMPLOYEE, actor=_actor(employee),
                                    to_status=TicketStatus.NEW))
            _audit(session, principal, employee, employee.id, AuditOutcome.ALLOWED, "create")
            return RaisedTicket(summarise(ticket), created=True)
    except _AlreadyRaised as already:
        return _replayed(db, principal, employee, already.ticket_id)
    except IntegrityError:
        # Two retries of one turn raced past the check: the loser finds the winner's ticket.
        if new.idempotency_key is None:
            raise
        with db.unit_of_work() as session:
            existing = session.scalar(
                select(Ticket.id).where(Ticket.idempotency_key == new.idempotency_key))
        if existing is None:
            raise
        return _replayed(db, principal, employee, existing)


def _replayed(db: Database, principal: Principal, employee: EmployeeRef,
              ticket_id: int) -> RaisedTicket:
    with db.unit_of_work() as session:
        ticket = session.get_one(Ticket, ticket_id)
        if ticket.requester_id != employee.id:  # a key is per conversation: never another's
            _audit(session, principal, employee, ticket.requester_id, AuditOutcome.REFUSED,
                   "create", "idempotency key of another requester")
            refused = True
        else:
            _audit(session, principal, employee, employee.id, AuditOutcome.ALLOWED, "create",
                   "retried turn")
            refused = False
            result = RaisedTicket(summarise(ticket), created=False)
    if refused:
        raise NotYourTicket(RECORD_TYPE)
    return result


def _own_ticket(session: Session, principal: Principal, employee: EmployeeRef,
                reference: str, action: str, lock: bool = False) -> Ticket | Exception:
    """The caller's ticket, or the (audited) refusal to raise once the unit of work commits."""
    normalised = normalise_reference(reference)
    query = select(Ticket).where(Ticket.reference == (normalised or reference))
    if lock:
        query = query.with_for_update()
    ticket = session.scalar(query) if normalised else None
    if ticket is None:
        _audit(session, principal, employee, None, AuditOutcome.REFUSED, action, "not found")
        return TicketNotFound(RECORD_TYPE)
    if ticket.requester_id != employee.id:
        _audit(session, principal, employee, ticket.requester_id, AuditOutcome.REFUSED, action,
               "not the requester")
        return NotYourTicket(RECORD_TYPE)
    return ticket


def my_ticket(db: Database, principal: Principal, reference: str) -> TicketDetail:
    """One of the caller's tickets with its public comments."""
    employee = identify_caller(db, principal, RECORD_TYPE)
    with db.unit_of_work() as session:
        found = _own_ticket(session, principal, employee, reference, "read")
        if not isinstance(found, Exception):
            _audit(session, principal, employee, employee.id, AuditOutcome.ALLOWED)
            detail = for_requester(found)
    if isinstance(found, Exception):
        raise found
    return detail


def my_latest_ticket(db: Database, principal: Principal) -> TicketDetail | None:
    """The caller's most recently updated ticket ("any news on my query?")."""
    employee = identify_caller(db, principal, RECORD_TYPE)
    with db.unit_of_work() as session:
        ticket = session.scalar(
            select(Ticket).where(Ticket.requester_id == employee.id)
            .order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(1))
        _audit(session, principal, employee, employee.id, AuditOutcome.ALLOWED)
        return for_requester(ticket) if ticket else None


def my_tickets(db: Database, principal: Principal,
               statuses: frozenset[TicketStatus] = OPEN_STATUSES,
               limit: int = 20) -> list[TicketSummary]:
    """The caller's tickets in the given statuses (default: open ones), newest first."""
    employee = identify_caller(db, principal, LIST_RECORD_TYPE)
    with db.unit_of_work() as session:
        tickets = session.scalars(
            select(Ticket).where(Ticket.requester_id == employee.id,
                                 Ticket.status.in_(statuses))
            .order_by(Ticket.created_at.desc(), Ticket.id.desc()).limit(limit)).all()
        _audit(session, principal, employee, employee.id, AuditOutcome.ALLOWED,
               record_type=LIST_RECORD_TYPE)
        return [summarise(t) for t in tickets]


ChangeWork = Callable[[Session, Ticket, EmployeeRef, dt.datetime], None]
REFUSED_CHANGES = (InvalidTransition, ReopenWindowPassed, InvalidTicket)


def _change(db: Database, principal: Principal, reference: str, action: str,
            work: ChangeWork) -> TicketSummary:
    """Run `work` on the caller's own ticket, locked, in one write transaction.

    A refusal by `work` (e.g. closing a closed ticket) rolls the change back; the attempt is
    then audited in a unit of work of its own.
    """
    employee = identify_caller(db, principal, RECORD_TYPE)
    try:
        with db.unit_of_work() as session:
            begin_write_transaction(session)
            found = _own_ticket(session, principal, employee, reference, action, lock=True)
            if not isinstance(found, Exception):
                work(session, found, employee, utcnow())
                _audit(session, principal, employee, employee.id, AuditOutcome.ALLOWED, action)
                return summarise(found)
    except REFUSED_CHANGES as error:
        with db.unit_of_work() as session:
            _audit(session, principal, employee, employee.id, AuditOutcome.REFUSED, action,
                   type(error).__name__)
        raise
    raise found


def add_my_comment(db: Database, principal: Principal, reference: str, body: str,
                   policy: SlaPolicy) -> TicketSummary:
    """Add the caller's note to their open ticket; a ticket waiting on them goes back to open.
    Kept with its personal data redacted, like the description."""
    text = redact(_clean_text(body, MIN_COMMENT))

    def work(session: Session, ticket: Ticket, employee: EmployeeRef, now: dt.datetime) -> None:
        if ticket.status in FINISHED_STATUSES:
            raise InvalidTransition(ticket.status.value, "commented")
        comment = TicketComment(ticket_id=ticket.id, author_kind=ActorKind.EMPLOYEE,
                                author_employee_id=employee.id, visibility=Visibility.PUBLIC,
                                body=text, created_at=now)
        session.add(comment)
        session.flush()
        session.add(TicketEvent(ticket_id=ticket.id, at=now, kind=EventKind.COMMENTED,
                                actor_kind=ActorKind.EMPLOYEE, actor=_actor(employee),
                                comment_id=comment.id))
        ticket.updated_at = now
        if ticket.status is TicketStatus.AWAITING_CUSTOMER:
            move(session, ticket, TicketStatus.OPEN, actor_kind=ActorKind.EMPLOYEE,
                 actor=_actor(employee), policy=policy, now=now)

    return _change(db, principal, reference, "comment", work)


def close_my_ticket(db: Database, principal: Principal, reference: str,
                    policy: SlaPolicy) -> TicketSummary:
    """The caller closes their own ticket ("it's sorted")."""

    def work(session: Session, ticket: Ticket, employee: EmployeeRef, now: dt.datetime) -> None:
        move(session, ticket, TicketStatus.CLOSED, actor_kind=ActorKind.EMPLOYEE,
             actor=_actor(employee), policy=policy, now=now)

    return _change(db, principal, reference, "close", work)


def reopen_my_ticket(db: Database, principal: Principal, reference: str,
                     policy: SlaPolicy) -> TicketSummary:
    """The caller reopens their resolved or closed ticket within the reopen window."""

    def work(session: Session, ticket: Ticket, employee: EmployeeRef, now: dt.datetime) -> None:
        if ticket.status not in FINISHED_STATUSES:
            raise InvalidTransition(ticket.status.value, TicketStatus.OPEN.value)
        finished = ticket.closed_at or ticket.resolved_at or ticket.updated_at
        if now > policy.reopen_deadline(as_utc(finished)):
            raise ReopenWindowPassed(ticket.reference)
        move(session, ticket, TicketStatus.OPEN, actor_kind=ActorKind.EMPLOYEE,
             actor=_actor(employee), policy=policy, now=now)

    return _change(db, principal, reference, "reopen", work)


def my_reopenable_tickets(db: Database, principal: Principal, policy: SlaPolicy,
                          now: dt.datetime | None = None) -> list[TicketSummary]:
    """The caller's resolved or closed tickets still inside the reopen window, newest first."""
    moment = now or utcnow()
    finished = my_tickets(db, principal, FINISHED_STATUSES)
    return [t for t in finished
            if moment <= policy.reopen_deadline(t.closed_at or t.resolved_at or t.updated_at)]


@dataclass(frozen=True)
class RequesterHistoryEntry:
    """One line of a ticket's history as its requester sees it: no internal notes, no agent
    names, no assignments."""

    at: dt.datetime
    what: str  # "raised", "status", "comment"
    by: str  # "you" or "the helpdesk"
    to_status: TicketStatus | None = None


@dataclass(frozen=True)
class RequesterTicket:
    detail: TicketDetail
    history: tuple[RequesterHistoryEntry, ...]
    can_comment: bool
    can_close: bool
    reopen_until: dt.datetime | None  # a finished ticket still inside the reopen window


def my_ticket_page(db: Database, principal: Principal, reference: str, policy: SlaPolicy,
                   now: dt.datetime | None = None) -> RequesterTicket:
    """One of the caller's tickets for the "My queries" page: the detail `my_ticket` gives, its
    history and what the caller may do now. Refusals and the audit are `my_ticket`'s: someone
    else's reference is refused exactly as a reference that does not exist."""
    moment = now or utcnow()
    employee = identify_caller(db, principal, RECORD_TYPE)
    with db.unit_of_work() as session:
        found = _own_ticket(session, principal, employee, reference, "read")
        if not isinstance(found, Exception):
            _audit(session, principal, employee, employee.id, AuditOutcome.ALLOWED)
            detail = for_requester(found)
            public = {c.id for c in found.comments if c.visibility is Visibility.PUBLIC}
            events = session.scalars(select(TicketEvent).where(
                TicketEvent.ticket_id == found.id).order_by(TicketEvent.at, TicketEvent.id)).all()
            history = tuple(_requester_entry(e) for e in events
                            if e.kind is EventKind.CREATED or e.kind is EventKind.STATUS_CHANGED
                            or (e.kind is EventKind.COMMENTED and e.comment_id in public))
    if isinstance(found, Exception):
        raise found
    status = detail.summary.status
    reopen_until = None
    if status in FINISHED_STATUSES:
        summary = detail.summary
        deadline = policy.reopen_deadline(summary.closed_at or summary.resolved_at
                                          or summary.updated_at)
        reopen_until = deadline if moment <= deadline else None
    return RequesterTicket(detail, history, can_comment=status not in FINISHED_STATUSES,
                           can_close=status not in FINISHED_STATUSES, reopen_until=reopen_until)


def _requester_entry(event: TicketEvent) -> RequesterHistoryEntry:
    by = "you" if event.actor_kind is ActorKind.EMPLOYEE else "the helpdesk"
    if event.kind is EventKind.CREATED:
        return RequesterHistoryEntry(as_utc(event.at), "raised", by, event.to_status)
    if event.kind is EventKind.STATUS_CHANGED:
        return RequesterHistoryEntry(as_utc(event.at), "status", by, event.to_status)
    return RequesterHistoryEntry(as_utc(event.at), "comment", by)
