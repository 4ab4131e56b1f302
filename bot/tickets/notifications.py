"""Telling the employee, in their own channel, when an agent changes their ticket.

An outbox, so that nothing is lost and nothing is said twice:

1. The agent's change and a `ticket_notifications` row are committed together (`enqueue`).
2. A sender (`deliver_pending`, run by the ticket worker) asks Rasa's relay channel to run
   `action_ticket_notify` in the ticket's conversation (bot/relay.py, caller "tickets", the
   worker's own key RELAY_TICKETS_KEY: that is all the key can ask for). Rasa runs it under
   the conversation's lock and sends the answer through the channel the employee last wrote
   from; the tracker is saved only once the answer was sent.
3. The action calls `claim_for_conversation`, which marks each pending row delivered with a
   conditional UPDATE and returns the texts of the rows it won. A retried or duplicated push
   finds nothing left to say: each change is told at most once.

An action rather than words: the worker cannot say anything of its own choosing, only have the
action say what the outbox holds for tickets raised from that very conversation. It adds no
user turn, so an active form is not disturbed.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.audit import record_access
from bot.identity import Principal
from bot.relay import Relay
from bot.storage.database import Database
from bot.storage.models import AuditOutcome
from bot.storage.times import utcnow

from .enums import EventKind, NotificationState, TicketStatus, Visibility
from .models import Ticket, TicketComment, TicketEvent, TicketNotification

log = logging.getLogger(__name__)

NOTIFY_ACTION = "action_ticket_notify"
MAX_ATTEMPTS = 5

STATUS_WORDS = {
    TicketStatus.NEW: "received and waiting to be picked up",
    TicketStatus.OPEN: "being worked on",
    TicketStatus.AWAITING_CUSTOMER: "waiting for a reply from you",
    TicketStatus.RESOLVED: "resolved",
    TicketStatus.CLOSED: "closed",
}


def enqueue(session: Session, ticket: Ticket, event: TicketEvent) -> TicketNotification:
    """Record, in the caller's transaction, that the requester must hear about `event`."""
    notification = TicketNotification(
        event_id=event.id,
        ticket_id=ticket.id,
        conversation_id=ticket.conversation_id,
        state=NotificationState.PENDING if ticket.conversation_id else NotificationState.SKIPPED,
        attempts=0,
        created_at=event.at,
    )
    session.add(notification)
    return notification


def render(ticket: Ticket, event: TicketEvent, comment: TicketComment | None,
           queries_url: str = "/queries") -> str:
    """The words the employee reads for one change, ending with the ticket's page in "My
    queries" (`queries_url`: HELPDESK_PUBLIC_URL + /queries, or the path for the web chat)."""
    page = f"{queries_url}/{ticket.reference}"
    link = f" Details: {page}"
    if event.kind is EventKind.COMMENTED and comment is not None:
        return (f"The helpdesk added a note to your case {ticket.reference} "
                f"({ticket.subject}): {comment.body} (details: {page})")
    status = event.to_status or ticket.status
    text = (f"Update on your case {ticket.reference} ({ticket.subject}): "
            f"it is now {STATUS_WORDS[status]}.")
    if status is TicketStatus.RESOLVED:
        text += f" If it isn't sorted, you can say \"reopen {ticket.reference}\"."
    return text + link


def claim_for_conversation(db: Database, conversation_id: str,
                           now: dt.datetime | None = None,
                           queries_url: str = "/queries") -> list[str]:
    """Mark this conversation's pending notifications delivered; the texts of those won.

    Only notifications of tickets raised from this very conversation are ever returned.
    """
    moment = now or utcnow()
    texts: list[str] = []
    with db.unit_of_work() as session:
        rows = session.execute(
            select(TicketNotification, TicketEvent, Ticket)
            .join(TicketEvent, TicketNotification.event_id == TicketEvent.id)
            .join(Ticket, TicketNotification.ticket_id == Ticket.id)
            .where(TicketNotification.conversation_id == conversation_id,
                   TicketNotification.state == NotificationState.PENDING)
            .order_by(TicketNotification.id)
        ).all()
        for notification, event, ticket in rows:
            won = session.execute(
                update(TicketNotification)
                .where(TicketNotification.id == notification.id,
                       TicketNotification.delivered_at.is_(None),
                       TicketNotification.state == NotificationState.PENDING)
                .values(state=NotificationState.DELIVERED, delivered_at=moment)
                .execution_options(synchronize_session=False)
            ).rowcount
            if won != 1:
                continue
            comment = session.get(TicketComment, event.comment_id) if event.comment_id else None
            if comment is not None and comment.visibility is not Visibility.PUBLIC:
                continue  # never enqueued for internal notes; belt and braces
            texts.append(render(ticket, event, comment, queries_url))
            record_access(session, principal=Principal("system", "ticket-notifications",
                                                       conversation_id[:200]),
                          actor=None, subject_employee_id=ticket.requester_id,
                          record_type="ticket", outcome=AuditOutcome.ALLOWED, action="notify")
    return texts


def conversations_to_notify(db: Database) -> list[str]:
    with db.unit_of_work() as session:
        return list(session.scalars(
            select(TicketNotification.conversation_id)
            .where(TicketNotification.state == NotificationState.PENDING,
                   TicketNotification.conversation_id.is_not(None))
            .group_by(TicketNotification.conversation_id)
            .order_by(func.min(TicketNotification.id))
        ))


def note_attempt(db: Database, conversation_id: str, now: dt.datetime,
                 max_attempts: int = MAX_ATTEMPTS) -> tuple[int, int]:
    """Count a push attempt on the conversation's pending rows; give up on exhausted ones.

    Returns (rows still to push, rows given up and marked failed).
    """
    with db.unit_of_work() as session:
        pending = session.scalars(
            select(TicketNotification)
            .where(TicketNotification.conversation_id == conversation_id,
                   TicketNotification.state == NotificationState.PENDING)
        ).all()
        failed = 0
        for notification in pending:
            if notification.attempts >= max_attempts:
                notification.state = NotificationState.FAILED
                failed += 1
                continue
            notification.attempts += 1
            notification.last_attempt_at = now
        return len(pending) - failed, failed


@dataclass(frozen=True)
class DeliveryReport:
    conversations: int
    pushed: int
    given_up: int


async def deliver_pending(db: Database, notifier: Relay,
                          max_attempts: int = MAX_ATTEMPTS) -> DeliveryReport:
    """One pass over the outbox: push every conversation that has something to hear.

    The attempt is counted before the push, so a crash mid-push is still counted; the action
    on the Rasa side makes any repeat harmless.
    """
    conversations = await asyncio.to_thread(conversations_to_notify, db)
    pushed = given_up = 0
    for conversation_id in conversations:
        to_push, failed = await asyncio.to_thread(note_attempt, db, conversation_id, utcnow(),
                                                  max_attempts)
        given_up += failed
        if to_push and await notifier.notify(conversation_id):
            pushed += 1
    # A pass with nothing to deliver is the usual case: said only at debug level, so that a
    # worker polling every few seconds does not fill the log.
    log.log(logging.INFO if conversations else logging.DEBUG,
            "tickets.notify.pass conversations=%d pushed=%d given_up=%d",
            len(conversations), pushed, given_up)
    return DeliveryReport(len(conversations), pushed, given_up)
