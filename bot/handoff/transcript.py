"""The transcript of a handoff: system lines, the employee's messages copied in from Rasa's
tracker store (`feed.py` reads them), the change marker the console's live views poll, and
the ticket text a conversation becomes.

Copying is idempotent: `UNIQUE(handoff_id, source_key)` with ON CONFLICT DO NOTHING, so several
web app processes may copy the same messages at once.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.storage.concurrency import insert_ignoring_duplicates
from bot.storage.database import Database

from .enums import OPEN_STATUSES, EntryKind
from .models import Handoff, HandoffEntry
from .summary import redact
from .views import HandoffView

MAX_TEXT = 2000


def add_system_entry(session: Session, handoff: Handoff, text: str, now: dt.datetime,
                     author: str | None = None) -> None:
    """A line of what happened ("Sam joined the conversation."), shown to agents: the helpdesk's
    own words, so shared as written (redacting them would turn agents' names into "[name]")."""
    session.add(HandoffEntry(handoff_id=handoff.id, at=now, kind=EntryKind.SYSTEM,
                             author=author, body=text, shared_body=text, delivery_failed=False))


def ticket_description(view: HandoffView, limit: int = MAX_TEXT) -> str:
    """The ticket text for a converted conversation: summary, then the exchange (no notes)."""
    lines = [view.summary, "", "Conversation with the helpdesk:"]
    for entry in view.entries:
        if entry.kind is EntryKind.EMPLOYEE:
            lines.append(f"Employee: {entry.body}")
        elif entry.kind is EntryKind.AGENT:
            lines.append(f"Agent ({entry.author}): {entry.body}")
    text = "\n".join(lines).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- the feed: employee messages copied from Rasa's tracker store ------------------------------

@dataclass(frozen=True)
class FeedTarget:
    handoff_id: int
    conversation_id: str
    feed_since: float


@dataclass(frozen=True)
class FeedMessage:
    conversation_id: str
    event_id: int
    timestamp: float
    text: str


def feed_targets(db: Database) -> list[FeedTarget]:
    with db.unit_of_work() as session:
        rows = session.execute(
            select(Handoff.id, Handoff.conversation_id, Handoff.feed_since)
            .where(Handoff.status.in_(OPEN_STATUSES))).all()
    return [FeedTarget(*row) for row in rows]


def record_employee_messages(db: Database, targets: list[FeedTarget],
                             messages: list[FeedMessage]) -> int:
    """Copy new employee messages into their open handoffs' transcripts; how many were new."""
    by_conversation = {t.conversation_id: t for t in targets}
    rows = []
    for message in messages:
        target = by_conversation.get(message.conversation_id)
        if target is None or message.timestamp <= target.feed_since or not message.text:
            continue
        rows.append({
            "handoff_id": target.handoff_id,
            "at": dt.datetime.fromtimestamp(message.timestamp, dt.timezone.utc),
            "kind": EntryKind.EMPLOYEE.value, "author": None, "body": message.text[:MAX_TEXT],
            # what agents see: redacted once, as it is written (docs/data-protection.md)
            "shared_body": redact(message.text[:MAX_TEXT]),
            "source_key": f"evt:{message.event_id}", "delivery_failed": False,
        })
    if not rows:
        return 0
    with db.unit_of_work() as session:
        table = HandoffEntry.__table__
        statement = insert_ignoring_duplicates(
            session, table, [table.c.handoff_id, table.c.source_key]).returning(table.c.id)
        return sum(len(session.execute(statement, row).all()) for row in rows)


def change_marker(db: Database) -> int:
    """Grows whenever any transcript changes (every state change adds a system entry)."""
    with db.unit_of_work() as session:
        return session.scalar(select(func.max(HandoffEntry.id))) or 0
