"""E-mail tables (migration 0013, provisional: its number is the lead's to give).

- `email_notices`: one row per thing that may be e-mailed, keyed by its source row
  ("ticket:<notification id>", "handoff:<entry id>", "leave:<notice id>"), with the
  conversation it was said in, when it becomes due, and what happened: pending, seen (the web
  chat showed it first), sending (claimed; outcome not yet known), sent (Notify's id), skipped
  (opted out, no address) or failed.
- `chat_views`: when the employee's web chat last showed a conversation (the browser says so
  while the chat is on screen).
- `email_preferences`: employees who opted out.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base
from bot.storage.times import utcnow

STATES = ("pending", "seen", "sending", "sent", "skipped", "failed")
KINDS = ("ticket_status", "agent_reply", "leave_decision")


class EmailNotice(Base):
    __tablename__ = "email_notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(64))  # a ticket reference, for the link
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True, default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    claimed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    notify_id: Mapped[str | None] = mapped_column(String(64))
    outcome: Mapped[str | None] = mapped_column(String(64))  # why skipped or failed


class ChatView(Base):
    __tablename__ = "chat_views"

    conversation_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    seen_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EmailPreference(Base):
    __tablename__ = "email_preferences"

    employee_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), primary_key=True)
    opted_out_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
