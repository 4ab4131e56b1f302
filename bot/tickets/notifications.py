"""Telling the employee, in their own channel, when an agent changes their ticket.

An outbox, so that nothing is lost and nothing is said twice:

1. The agent's change and a `ticket_notifications` row are committed together (`enqueue`).
2. A sender (`deliver_pending`, run by the worker or right after a console change) asks Rasa to
   run `action_ticket_notify` in the ticket's conversation:
   `POST {RASA_URL}/conversations/{id}/execute?output_channel=latest`, authenticated with an
   HS256 JWT signed with RASA_JWT_SECRET whose payload is
   `{"user": {"username": "helpdesk", "role": "admin"}, "exp": ...}` (Rasa 3.6's
   `requires_auth` admits role "admin" for any conversation; sanic-jwt checks `exp`. No
   `iat`: PyJWT refuses an `iat` in its future, so clock skew would reject it).
   `output_channel=latest` sends the answer through the channel the employee last wrote from.
3. The action calls `claim_for_conversation`, which marks each pending row delivered with a
   conditional UPDATE and returns the texts of the rows it won. A retried or duplicated push
   finds nothing left to say: each change is told at most once.

`execute` rather than `trigger_intent`: it needs no intent (an intent without training
examples fails `rasa data validate --fail-on-warnings`) and adds no user turn, so an active
form is not disturbed. Rasa marks the endpoint deprecated but 3.6 serves it.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from urllib.parse import quote

import aiohttp
import jwt
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.audit import record_access
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import AuditOutcome, utcnow

from .models import (
    EventKind,
    NotificationState,
    Ticket,
    TicketComment,
    TicketEvent,
    TicketNotification,
    TicketStatus,
    Visibility,
)

log = logging.getLogger(__name__)

NOTIFY_ACTION = "action_ticket_notify"
MAX_ATTEMPTS = 5
TOKEN_LIFETIME = dt.timedelta(minutes=5)
PUSH_TIMEOUT_SECONDS = 30.0

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


def render(ticket: Ticket, event: TicketEvent, comment: TicketComment | None) -> str:
    """The words the employee reads for one change."""
    if event.kind is EventKind.COMMENTED and comment is not None:
        return (f"The helpdesk added a note to your case {ticket.reference} "
                f"({ticket.subject}): {comment.body}")
    status = event.to_status or ticket.status
    text = (f"Update on your case {ticket.reference} ({ticket.subject}): "
            f"it is now {STATUS_WORDS[status]}.")
    if status is TicketStatus.RESOLVED:
        text += f" If it isn't sorted, you can say \"reopen {ticket.reference}\"."
    return text


def claim_for_conversation(db: Database, conversation_id: str,
                           now: dt.datetime | None = None) -> list[str]:
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
            texts.append(render(ticket, event, comment))
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


def rasa_token(secret: str, now: dt.datetime | None = None,
               lifetime: dt.timedelta = TOKEN_LIFETIME) -> str:
    """A short-lived admin JWT for Rasa's HTTP API (`rasa run --jwt-secret`, HS256)."""
    issued = now or utcnow()
    payload = {
        "user": {"username": "helpdesk", "role": "admin"},
        "exp": int((issued + lifetime).timestamp()),
    }
    return jwt.encode(payload, secret, algorithm="HS256")


@dataclass
class RasaNotifier:
    """Asks Rasa to run the notify action in one conversation."""

    rasa_url: str
    jwt_secret: str
    session: aiohttp.ClientSession

    def url(self, conversation_id: str) -> str:
        return (f"{self.rasa_url.rstrip('/')}/conversations/{quote(conversation_id, safe='')}"
                f"/execute?output_channel=latest")

    async def push(self, conversation_id: str) -> bool:
        """True when Rasa ran the action (HTTP 200); False on any failure (logged by kind)."""
        headers = {"Authorization": f"Bearer {rasa_token(self.jwt_secret)}",
                   "Content-Type": "application/json"}
        try:
            async with self.session.post(
                self.url(conversation_id), json={"name": NOTIFY_ACTION}, headers=headers,
                timeout=aiohttp.ClientTimeout(total=PUSH_TIMEOUT_SECONDS),
            ) as response:
                await response.read()
                if response.status != 200:
                    log.warning("tickets.notify.rejected status=%s", response.status)
                    return False
                return True
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("tickets.notify.unreachable error=%s", type(error).__name__)
            return False


@dataclass(frozen=True)
class DeliveryReport:
    conversations: int
    pushed: int
    given_up: int


async def deliver_pending(db: Database, notifier: RasaNotifier,
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
        if to_push and await notifier.push(conversation_id):
            pushed += 1
    log.info("tickets.notify.pass conversations=%d pushed=%d given_up=%d",
             len(conversations), pushed, given_up)
    return DeliveryReport(len(conversations), pushed, given_up)
