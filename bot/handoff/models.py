"""Handoff tables, on the shared declarative `Base` (one metadata, one Alembic history).

- `handoffs`: one row per request for a person. While it is open (waiting or assigned) its
  `open_conversation_id` holds the conversation id; `UNIQUE(open_conversation_id)` therefore
  allows at most one open handoff per conversation, whatever the concurrency (NULLs, i.e. ended
  handoffs, never collide on SQLite or PostgreSQL).
- `handoff_entries`: the transcript the console shows: employee messages (copied from Rasa's
  tracker store, `source_key` = the tracker event id, unique per handoff), agent replies,
  internal notes and system lines (claimed, transferred, handed back...).
- `agents`, `agent_sessions`: local console accounts (argon2id hashes) and their sessions
  (only the SHA-256 of the session token is stored); presence is `agent_sessions.last_seen_at`.
- `widget_outbox`: messages Rasa pushed to the web widget (agent replies, queue updates,
  ticket notifications) waiting for the employee's browser; kept for a day.

Message bodies are personal data: stored here, shown to the people entitled to them, never
logged.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.storage.models import Base, Employee, _enum, utcnow
from bot.tickets.models import ServiceLine


class HandoffStatus(str, enum.Enum):
    WAITING = "waiting"  # in the queue of its skill
    ASSIGNED = "assigned"  # an agent claimed it and is talking to the employee
    RESUMED = "resumed"  # handed back to the assistant
    TICKETED = "ticketed"  # turned into a helpdesk ticket
    CANCELLED = "cancelled"  # withdrawn (e.g. the employee left before anyone claimed it)


OPEN_STATUSES = frozenset({HandoffStatus.WAITING, HandoffStatus.ASSIGNED})


class HandoffReason(str, enum.Enum):
    REQUESTED = "requested"  # the employee asked for a person
    NOT_UNDERSTOOD = "not_understood"  # two failed understandings in a row, then "yes"
    REFERRED = "referred"  # an action decided the case needs a person


class EntryKind(str, enum.Enum):
    EMPLOYEE = "employee"  # what the employee wrote (seen by agents)
    AGENT = "agent"  # an agent's reply (sent to the employee)
    NOTE = "note"  # an agent's internal note (never shown to the employee)
    SYSTEM = "system"  # queue events: requested, claimed, transferred, handed back...


class Handoff(Base):
    __tablename__ = "handoffs"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Rasa's sender id of the conversation, and the same value while the handoff is open.
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    open_conversation_id: Mapped[str | None] = mapped_column(String(200), unique=True)
    # The verified principal of the employee (channel, tenant, subject).
    channel: Mapped[str] = mapped_column(String(32))
    tenant: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    department_code: Mapped[str] = mapped_column(String(16))
    skill: Mapped[ServiceLine] = mapped_column(_enum(ServiceLine, "handoff_skill"), index=True)
    reason: Mapped[HandoffReason] = mapped_column(_enum(HandoffReason, "handoff_reason"))
    status: Mapped[HandoffStatus] = mapped_column(_enum(HandoffStatus, "handoff_status"),
                                                  index=True)
    assignee: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)  # PII-minimised (bot.handoff.summary)
    # Rasa timestamp of the message that asked for a person: later user messages are copied.
    feed_since: Mapped[float] = mapped_column(Float)
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    ticket_reference: Mapped[str | None] = mapped_column(String(16))
    # What the employee was last told about their place in the queue.
    told_position: Mapped[int | None] = mapped_column(Integer)
    told_wait_minutes: Mapped[int | None] = mapped_column(Integer)
    # Bumped by every change: the console's live view and the position announcer watch it.
    version: Mapped[int] = mapped_column(Integer, default=1)

    employee: Mapped[Employee] = relationship()


class HandoffEntry(Base):
    __tablename__ = "handoff_entries"
    __table_args__ = (UniqueConstraint("handoff_id", "source_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    handoff_id: Mapped[int] = mapped_column(ForeignKey("handoffs.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[EntryKind] = mapped_column(_enum(EntryKind, "handoff_entry_kind"))
    author: Mapped[str | None] = mapped_column(String(64))  # agent username for agent/note
    body: Mapped[str] = mapped_column(Text)
    # Employee messages: "evt:<tracker event id>"; agent replies: a per-submission key.
    source_key: Mapped[str | None] = mapped_column(String(64))
    # Agent replies: when Rasa accepted it for the employee's channel (None: not yet / failed).
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    delivery_failed: Mapped[bool] = mapped_column(Boolean, default=False)


class Agent(Base):
    """A helpdesk agent's local console account (production may use OIDC instead)."""

    __tablename__ = "agents"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    skills: Mapped[str] = mapped_column(String(100))  # comma-separated ServiceLine values
    departments: Mapped[str] = mapped_column(String(200), default="")  # "" = every department
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)  # signs in only in dev mode
    failed_signins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AgentSession(Base):
    __tablename__ = "agent_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the token
    csrf_token: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)

    agent: Mapped[Agent] = relationship()


class WidgetOutboxMessage(Base):
    """A bot message Rasa pushed for a widget conversation, until the browser fetched it."""

    __tablename__ = "widget_outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    push_id: Mapped[str] = mapped_column(String(64), unique=True)  # replayed pushes collide
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                    index=True)
    payload: Mapped[str] = mapped_column(Text)  # JSON: text, buttons, image, custom, author
