"""What the agent console does with tickets: list and filter, read, change status, comment,
assign, set the priority. The console authenticates the agent and passes an `AgentRef`.

Every read is audited under the principal ("console", "helpdesk", username). A status change or
a public comment is committed together with its outbox row (see `notifications`), so the
employee hears about it once, through their own channel. Each function is one short unit of
work.
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import ColumnElement, Select, or_, select
from sqlalchemy.orm import Session, selectinload

from bot.audit import record_access
from bot.identity import Principal
from bot.storage.concurrency import begin_write_transaction
from bot.storage.database import Database
from bot.storage.models import AuditOutcome, Department, Employee
from bot.storage.times import as_utc, utcnow

from .categories import PRIORITY_TITLES
from .enums import ActorKind, EventKind, Priority, ServiceLine, TicketStatus, Visibility
from .errors import InvalidTicket, TicketNotEligible, TicketNotFound
from .lifecycle import FINISHED_STATUSES, move, note_response
from .models import Ticket, TicketComment, TicketEvent
from .notifications import enqueue
from .references import normalise_reference
from .sla import SlaPolicy
from .views import AgentTicketDetail, TicketSummary, for_agent, summarise

RECORD_TYPE = "ticket"
CONSOLE_CHANNEL = "console"
CONSOLE_TENANT = "helpdesk"
MAX_PAGE = 200
MAX_COMMENT = 2000
MAX_SEARCH = 100


@dataclass(frozen=True)
class AgentRef:
    """An authenticated helpdesk agent (authentication is the console's job) and the teams
    whose tickets they work: the service lines (`skills`) and the requesters' departments
    (`departments`, empty: every department). `skills=None` is every team: supervisors and
    admins, who oversee the whole service (`bot.handoff.accounts.ConsoleAgent.ticket_agent`)."""

    username: str
    skills: frozenset[ServiceLine] | None = None
    departments: frozenset[str] = frozenset()

    @property
    def principal(self) -> Principal:
        return Principal(CONSOLE_CHANNEL, CONSOLE_TENANT, self.username)

    def works(self, ticket: Ticket) -> bool:
        if self.skills is None:
            return True
        return ticket.category in self.skills and (
            not self.departments or ticket.requester.department.code in self.departments)


@contextmanager
def _refusals_audited(db: Database, agent: AgentRef, action: str) -> Iterator[None]:
    """Audit a refusal in its own unit of work, after the refused one has rolled back."""
    try:
        yield
    except TicketNotEligible as refused:
        with db.unit_of_work() as session:
            _audit(session, agent, refused.subject_employee_id, AuditOutcome.REFUSED, action,
                   reason="ticket of a team the agent does not work")
        raise


def _scoped(query: Select[tuple[Ticket]], agent: AgentRef) -> Select[tuple[Ticket]]:
    """Only the tickets of the agent's teams."""
    if agent.skills is None:
        return query
    query = query.where(Ticket.category.in_(agent.skills))
    if agent.departments:
        query = query.where(Ticket.requester_id.in_(
            select(Employee.id).join(Department, Employee.department_id == Department.id)
            .where(Department.code.in_(agent.departments))))
    return query


@dataclass(frozen=True)
class TicketFilter:
    statuses: frozenset[TicketStatus] = frozenset()  # empty: any
    categories: frozenset[ServiceLine] = frozenset()
    priorities: frozenset[Priority] = frozenset()
    assignee: str | None = None  # "" for unassigned
    breached: bool | None = None
    requester_number: str | None = None
    reference: str | None = None
    text: str | None = None  # part of the reference or subject, any case


@dataclass(frozen=True)
class TicketPage:
    """One page of the console's ticket list."""

    tickets: list[TicketSummary]
    has_more: bool  # another page follows
    assignees: tuple[str, ...]  # everyone who holds a ticket, for the assignee filter


def _audit(session: Session, agent: AgentRef, subject_id: int | None, outcome: AuditOutcome,
           action: str = "read", reason: str | None = None,
           record_type: str = RECORD_TYPE) -> None:
    record_access(session, principal=agent.principal, actor=None, subject_employee_id=subject_id,
                  record_type=record_type, outcome=outcome, action=action, reason=reason)


def _text_match(text: str) -> ColumnElement[bool]:
    """A reference ("hr 12" finds HR-000012) or a fragment of the reference or subject."""
    needle = text.strip()[:MAX_SEARCH]
    matches = [Ticket.subject.icontains(needle, autoescape=True),
               Ticket.reference.icontains(needle, autoescape=True)]
    reference = normalise_reference(needle)
    if reference:
        matches.append(Ticket.reference == reference)
    return or_(*matches)


def _query(where: TicketFilter) -> Select[tuple[Ticket]]:
    query = select(Ticket).options(selectinload(Ticket.requester))
    if where.statuses:
        query = query.where(Ticket.status.in_(where.statuses))
    if where.categories:
        query = query.where(Ticket.category.in_(where.categories))
    if where.priorities:
        query = query.where(Ticket.priority.in_(where.priorities))
    if where.assignee == "":
        query = query.where(Ticket.assignee.is_(None))
    elif where.assignee is not None:
        query = query.where(Ticket.assignee == where.assignee)
    if where.breached is True:
        query = query.where(or_(Ticket.response_breached, Ticket.resolution_breached))
    elif where.breached is False:
        query = query.where(~Ticket.response_breached, ~Ticket.resolution_breached)
    if where.requester_number:
        query = query.join(Employee, Ticket.requester_id == Employee.id).where(
            Employee.employee_number == where.requester_number)
    if where.reference:
        query = query.where(Ticket.reference == (normalise_reference(where.reference)
                                                 or where.reference))
    if where.text and where.text.strip():
        query = query.where(_text_match(where.text))
    return query.order_by(Ticket.resolution_due_at, Ticket.id)


def _page_size(limit: int) -> int:
    return max(1, min(limit, MAX_PAGE))


def list_tickets(db: Database, agent: AgentRef, where: TicketFilter = TicketFilter(),
                 limit: int = 50, offset: int = 0) -> list[TicketSummary]:
    """Tickets matching the filter, most urgent resolution target first."""
    query = _scoped(_query(where), agent).limit(_page_size(limit)).offset(max(0, offset))
    with db.unit_of_work() as session:
        tickets = session.scalars(query).all()
        _audit(session, agent, None, AuditOutcome.ALLOWED, record_type="ticket_list")
        return [summarise(t) for t in tickets]


def ticket_page(db: Database, agent: AgentRef, where: TicketFilter = TicketFilter(),
                limit: int = 50, offset: int = 0) -> TicketPage:
    """`list_tickets` for the console's list: whether more follow, and who holds tickets."""
    size = _page_size(limit)
    with db.unit_of_work() as session:
        tickets = session.scalars(_scoped(_query(where), agent).limit(size + 1)
                                  .offset(max(0, offset))).all()
        assignees = session.scalars(
            _scoped(select(Ticket), agent).with_only_columns(Ticket.assignee)
            .where(Ticket.assignee.is_not(None)).distinct().order_by(Ticket.assignee)).all()
        _audit(session, agent, None, AuditOutcome.ALLOWED, record_type="ticket_list")
        return TicketPage([summarise(t) for t in tickets[:size]], len(tickets) > size,
                          tuple(a for a in assignees if a))


def _load(session: Session, reference: str, agent: AgentRef, lock: bool = False) -> Ticket:
    normalised = normalise_reference(reference)
    query = select(Ticket).where(Ticket.reference == normalised)
    if lock:
        query = query.with_for_update()
    ticket = session.scalar(query) if normalised else None
    if ticket is None:
        raise TicketNotFound(RECORD_TYPE)
    if not agent.works(ticket):
        raise TicketNotEligible(ticket.requester_id)
    return ticket


def get_ticket(db: Database, agent: AgentRef, reference: str) -> AgentTicketDetail:
    """The whole ticket for an agent: description, every comment (internal too), history."""
    with _refusals_audited(db, agent, "read"), db.unit_of_work() as session:
        ticket = _load(session, reference, agent)
        events = list(session.scalars(
            select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
            .order_by(TicketEvent.id)))
        _audit(session, agent, ticket.requester_id, AuditOutcome.ALLOWED)
        return for_agent(ticket, events)


def change_status(db: Database, agent: AgentRef, reference: str, wanted: TicketStatus,
                  policy: SlaPolicy, now: dt.datetime | None = None) -> TicketSummary:
    """Move a ticket; the requester is told through the outbox."""
    with _refusals_audited(db, agent, "status"), db.unit_of_work() as session:
        begin_write_transaction(session)
        ticket = _load(session, reference, agent, lock=True)
        event = move(session, ticket, wanted, actor_kind=ActorKind.AGENT, actor=agent.username,
                     policy=policy, now=now or utcnow())
        enqueue(session, ticket, event)
        _audit(session, agent, ticket.requester_id, AuditOutcome.ALLOWED, "status")
        return summarise(ticket)


def add_comment(db: Database, agent: AgentRef, reference: str, body: str,
                visibility: Visibility, policy: SlaPolicy,
                now: dt.datetime | None = None) -> TicketSummary:
    """An agent's reply (public: the requester is told) or internal note (never shown)."""
    text = (body or "").strip()
    if not text:
        raise InvalidTicket("a comment needs some text")
    if len(text) > MAX_COMMENT:
        raise InvalidTicket(f"a comment can be at most {MAX_COMMENT} characters")
    moment = now or utcnow()
    with _refusals_audited(db, agent, "comment"), db.unit_of_work() as session:
        begin_write_transaction(session)
        ticket = _load(session, reference, agent, lock=True)
        comment = TicketComment(ticket_id=ticket.id, author_kind=ActorKind.AGENT,
                                author_agent=agent.username, visibility=visibility, body=text,
                                created_at=moment)
        session.add(comment)
        session.flush()
        event = TicketEvent(ticket_id=ticket.id, at=moment, kind=EventKind.COMMENTED,
                            actor_kind=ActorKind.AGENT, actor=agent.username,
                            comment_id=comment.id)
        session.add(event)
        session.flush()
        ticket.updated_at = moment
        if visibility is Visibility.PUBLIC:
            note_response(ticket, moment)
            policy.evaluate(ticket, moment)
            enqueue(session, ticket, event)
        _audit(session, agent, ticket.requester_id, AuditOutcome.ALLOWED, "comment")
        return summarise(ticket)


def assign(db: Database, agent: AgentRef, reference: str, assignee: str | None,
           now: dt.datetime | None = None) -> TicketSummary:
    """Give the ticket to an agent (None: unassign). Not announced to the employee."""
    moment = now or utcnow()
    with _refusals_audited(db, agent, "assign"), db.unit_of_work() as session:
        begin_write_transaction(session)
        ticket = _load(session, reference, agent, lock=True)
        ticket.assignee = assignee
        ticket.updated_at = moment
        session.add(TicketEvent(ticket_id=ticket.id, at=moment, kind=EventKind.ASSIGNED,
                                actor_kind=ActorKind.AGENT, actor=agent.username))
        _audit(session, agent, ticket.requester_id, AuditOutcome.ALLOWED, "assign")
        return summarise(ticket)


def _shifted(policy: SlaPolicy, anchor: dt.datetime, due: dt.datetime, old: dt.timedelta,
             new: dt.timedelta) -> dt.datetime:
    """`due` moved by (new - old) working time, either way.

    Measured from the ticket's creation, so whatever the due time already holds beyond the
    old target (time spent waiting for the employee, a reopening) is kept.
    """
    spent = policy.calendar.working_time_between(anchor, as_utc(due))
    return policy.calendar.add_working_time(anchor, max(dt.timedelta(0), spent - old + new))


def set_priority(db: Database, agent: AgentRef, reference: str, priority: Priority,
                 policy: SlaPolicy, now: dt.datetime | None = None) -> TicketSummary:
    """Re-prioritise an unfinished ticket; its due times move by the difference in targets.

    The history records it as an internal note (the employee is not told). A breach already
    flagged stays flagged; a due time the new priority puts in the past is flagged at once.
    """
    moment = now or utcnow()
    with _refusals_audited(db, agent, "priority"), db.unit_of_work() as session:
        begin_write_transaction(session)
        ticket = _load(session, reference, agent, lock=True)
        old = ticket.priority
        if priority is old:
            return summarise(ticket)
        if ticket.status in FINISHED_STATUSES:
            raise InvalidTicket("a resolved or closed ticket keeps its priority")
        before, after = policy.targets[old], policy.targets[priority]
        anchor = as_utc(ticket.created_at)
        if ticket.first_responded_at is None:
            ticket.response_due_at = _shifted(policy, anchor, ticket.response_due_at,
                                              before.response, after.response)
        ticket.resolution_due_at = _shifted(policy, anchor, ticket.resolution_due_at,
                                            before.resolution, after.resolution)
        ticket.priority = priority
        ticket.updated_at = moment
        policy.evaluate(ticket, moment)
        note = TicketComment(
            ticket_id=ticket.id, author_kind=ActorKind.AGENT, author_agent=agent.username,
            visibility=Visibility.INTERNAL, created_at=moment,
            body=f"Priority changed from {PRIORITY_TITLES[old]} to {PRIORITY_TITLES[priority]}.")
        session.add(note)
        session.flush()
        session.add(TicketEvent(ticket_id=ticket.id, at=moment, kind=EventKind.COMMENTED,
                                actor_kind=ActorKind.AGENT, actor=agent.username,
                                comment_id=note.id))
        _audit(session, agent, ticket.requester_id, AuditOutcome.ALLOWED, "priority")
        return summarise(ticket)


def flag_breaches(db: Database, policy: SlaPolicy, now: dt.datetime | None = None) -> int:
    """Set the breached flags of unfinished tickets past a due time; how many changed."""
    moment = now or utcnow()
    with db.unit_of_work() as session:
        candidates = session.scalars(
            select(Ticket).where(
                Ticket.status.not_in((TicketStatus.RESOLVED, TicketStatus.CLOSED)),
                or_(
                    (Ticket.response_due_at < moment) & ~Ticket.response_breached
                    & Ticket.first_responded_at.is_(None),
                    (Ticket.resolution_due_at < moment) & ~Ticket.resolution_breached,
                ),
            ).with_for_update(skip_locked=True)
        ).all()
        return sum(policy.evaluate(ticket, moment) for ticket in candidates)
