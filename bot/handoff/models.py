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

from bot.storage.models import Base, Employee, _enum
from bot.storage.times import utcnow
from bot.tickets.enums import ServiceLine

from .enums import OPEN_STATUSES, EntryKind, HandoffReason, HandoffStatus


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
    # When the retention schedule replaced the transcript's text by its redacted form.
    text_redacted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
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
    # What everyone but the employee sees (the console, tickets made from it): `body` with its
    # personal data redacted (bot.redaction), computed once when the entry is written.
    shared_body: Mapped[str | None] = mapped_column(Text)
    # Employee messages: "evt:<tracker event id>"; agent replies: a per-submission key.
    source_key: Mapped[str | None] = mapped_column(String(64))
    # Agent replies: when Rasa accepted it for the employee's channel (None: not yet / failed).
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    delivery_failed: Mapped[bool] = mapped_column(Boolean, default=False)


class Agent(Base):
    """A helpdesk agent's local console account (production may use OIDC instead)."""

    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("entra_tenant_id", "entra_object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    password_hash: Mapped[str] = mapped_column(String(200))
    skills: Mapped[str] = mapped_column(String(100))  # comma-separated ServiceLine values
    departments: Mapped[str] = mapped_column(String(200), default="")  # "" = every department
    roles: Mapped[str] = mapped_column(String(200), default="agent")  # comma-separated bot.roles
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)  # signs in only in dev mode
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The Entra ID user who signs in as this account (migration 0010): tenant id and object
    # id, lower case; both null for a local-password account.
    entra_tenant_id: Mapped[str | None] = mapped_column(String(64))
    entra_object_id: Mapped[str | None] = mapped_column(String(64))


class SigninThrottle(Base):
    """Sign-in attempts counted per scope and key (bot/handoff/signin_throttle.py): one row per
    (account, address) pair, address, and account, each updated by one atomic statement."""

    __tablename__ = "signin_throttles"

    scope: Mapped[str] = mapped_column(String(16), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    window_started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class AgentSession(Base):
    __tablename__ = "agent_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)  # sha256 hex of the token
    csrf_token: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    # Roles the identity provider granted for this session (Entra app roles, mapped to
    # bot.roles); null: the account's own roles (a local-password session).
    granted_roles: Mapped[str | None] = mapped_column(String(200))

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
