"""Read-only views of tickets handed to actions and the console (no ORM objects leak out).

`for_requester` views carry public comments only: internal notes never reach the employee.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.storage.times import as_utc

from .enums import ActorKind, Priority, ServiceLine, TicketStatus, Visibility
from .models import Ticket, TicketComment, TicketEvent


@dataclass(frozen=True)
class CommentView:
    author_kind: ActorKind
    author: str  # "you" for the requester's own comments in requester views
    visibility: Visibility
    body: str
    created_at: dt.datetime


@dataclass(frozen=True)
class TicketSummary:
    reference: str
    category: ServiceLine
    subject: str
    priority: Priority
    status: TicketStatus
    created_at: dt.datetime
    updated_at: dt.datetime
    response_due_at: dt.datetime
    resolution_due_at: dt.datetime
    first_responded_at: dt.datetime | None
    resolved_at: dt.datetime | None
    closed_at: dt.datetime | None
    response_breached: bool
    resolution_breached: bool
    assignee: str | None
    requester_number: str
    requester_name: str

    @property
    def breached(self) -> bool:
        return self.response_breached or self.resolution_breached


@dataclass(frozen=True)
class TicketDetail:
    summary: TicketSummary
    description: str
    comments: tuple[CommentView, ...]


@dataclass(frozen=True)
class HistoryEntry:
    at: dt.datetime
    kind: str
    actor: str  # an agent's username, or "employee:<id>"
    from_status: TicketStatus | None
    to_status: TicketStatus | None
    actor_kind: ActorKind | None = None
    visibility: Visibility | None = None  # of the comment, for "commented" entries


@dataclass(frozen=True)
class AgentTicketDetail(TicketDetail):
    conversation_id: str | None
    channel: str | None
    history: tuple[HistoryEntry, ...]


def _optional(moment: dt.datetime | None) -> dt.datetime | None:
    return as_utc(moment) if moment is not None else None


def summarise(ticket: Ticket) -> TicketSummary:
    requester = ticket.requester
    return TicketSummary(
        reference=ticket.reference,
        category=ticket.category,
        subject=ticket.subject,
        priority=ticket.priority,
        status=ticket.status,
        created_at=as_utc(ticket.created_at),
        updated_at=as_utc(ticket.updated_at),
        response_due_at=as_utc(ticket.response_due_at),
        resolution_due_at=as_utc(ticket.resolution_due_at),
        first_responded_at=_optional(ticket.first_responded_at),
        resolved_at=_optional(ticket.resolved_at),
        closed_at=_optional(ticket.closed_at),
        response_breached=ticket.response_breached,
        resolution_breached=ticket.resolution_breached,
        assignee=ticket.assignee,
        requester_number=requester.employee_number,
        requester_name=f"{requester.given_name} {requester.family_name}",
    )


def _comment(comment: TicketComment, requester_view: bool) -> CommentView:
    if comment.author_kind is ActorKind.EMPLOYEE:
        author = "you" if requester_view else f"employee:{comment.author_employee_id}"
    elif comment.author_kind is ActorKind.AGENT:
        author = "the helpdesk" if requester_view else (comment.author_agent or "agent")
    else:
        author = "the helpdesk"
    return CommentView(comment.author_kind, author, comment.visibility, comment.body,
                       as_utc(comment.created_at))


def for_requester(ticket: Ticket) -> TicketDetail:
    public = tuple(_comment(c, True) for c in ticket.comments
                   if c.visibility is Visibility.PUBLIC)
    return TicketDetail(summarise(ticket), ticket.description, public)


def for_agent(ticket: Ticket, events: list[TicketEvent]) -> AgentTicketDetail:
    visibility = {c.id: c.visibility for c in ticket.comments}
    return AgentTicketDetail(
        summary=summarise(ticket),
        description=ticket.description,
        comments=tuple(_comment(c, False) for c in ticket.comments),
        conversation_id=ticket.conversation_id,
        channel=ticket.channel,
        history=tuple(HistoryEntry(as_utc(e.at), e.kind.value, e.actor, e.from_status,
                                   e.to_status, e.actor_kind, visibility.get(e.comment_id))
                      for e in events),
    )
