"""Status rules and the bookkeeping that goes with each move (SLA clock, history).

    new → open → awaiting_customer → resolved → closed, with reopen (→ open) of a resolved or
    closed ticket within the reopen window.

Agents may make any move of `AGENT_MOVES`; employees may close their own ticket from any
status but closed, reopen within the window, and their comment on a ticket that awaits them
moves it back to open.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from .enums import ActorKind, EventKind, TicketStatus
from .errors import InvalidTransition
from .models import Ticket, TicketEvent
from .sla import SlaPolicy

S = TicketStatus
AGENT_MOVES: dict[TicketStatus, frozenset[TicketStatus]] = {
    S.NEW: frozenset({S.OPEN, S.AWAITING_CUSTOMER, S.RESOLVED, S.CLOSED}),
    S.OPEN: frozenset({S.AWAITING_CUSTOMER, S.RESOLVED, S.CLOSED}),
    S.AWAITING_CUSTOMER: frozenset({S.OPEN, S.RESOLVED, S.CLOSED}),
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset({S.OPEN}),
}
EMPLOYEE_MOVES: dict[TicketStatus, frozenset[TicketStatus]] = {
    S.NEW: frozenset({S.CLOSED}),
    S.OPEN: frozenset({S.CLOSED}),
    S.AWAITING_CUSTOMER: frozenset({S.OPEN, S.CLOSED}),
    S.RESOLVED: frozenset({S.OPEN, S.CLOSED}),
    S.CLOSED: frozenset({S.OPEN}),
}
OPEN_STATUSES = frozenset({S.NEW, S.OPEN, S.AWAITING_CUSTOMER})
FINISHED_STATUSES = frozenset({S.RESOLVED, S.CLOSED})


def allowed(current: TicketStatus, wanted: TicketStatus, actor_kind: ActorKind) -> bool:
    moves = EMPLOYEE_MOVES if actor_kind is ActorKind.EMPLOYEE else AGENT_MOVES
    return wanted in moves.get(current, frozenset())


def move(
    session: Session,
    ticket: Ticket,
    wanted: TicketStatus,
    *,
    actor_kind: ActorKind,
    actor: str,
    policy: SlaPolicy,
    now: dt.datetime,
) -> TicketEvent:
    """Change the status, keep the SLA clock and timestamps right, and record the event."""
    current = ticket.status
    if not allowed(current, wanted, actor_kind):
        raise InvalidTransition(current.value, wanted.value)
    if current is S.AWAITING_CUSTOMER:
        policy.resume(ticket, now)
    if wanted is S.AWAITING_CUSTOMER:
        policy.pause(ticket, now)
    if current in FINISHED_STATUSES and wanted is S.OPEN:  # reopened
        ticket.reopen_count += 1
        ticket.resolved_at = ticket.closed_at = None
        policy.restart_resolution(ticket, now)
    if wanted is S.RESOLVED:
        ticket.resolved_at = now
    if wanted is S.CLOSED:
        ticket.closed_at = now
        ticket.resolved_at = ticket.resolved_at or now
    if actor_kind is ActorKind.AGENT:
        note_response(ticket, now)
    ticket.status = wanted
    ticket.updated_at = now
    policy.evaluate(ticket, now)
    event = TicketEvent(ticket_id=ticket.id, at=now, kind=EventKind.STATUS_CHANGED,
                        actor_kind=actor_kind, actor=actor, from_status=current,
                        to_status=wanted)
    session.add(event)
    session.flush()
    return event


def note_response(ticket: Ticket, now: dt.datetime) -> None:
    """An agent's first status change or public comment is the helpdesk's first response."""
    if ticket.first_responded_at is None:
        ticket.first_responded_at = now
