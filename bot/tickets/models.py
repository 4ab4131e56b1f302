"""Ticket tables, on the shared declarative `Base` (one metadata, one Alembic history).

Times are stored timezone-aware in UTC. Descriptions and comments are personal data: they are
stored here and shown to the people entitled to them, never logged.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.storage.models import Base, Employee, _enum
from bot.storage.times import utcnow

from .enums import (
    ActorKind,
    EventKind,
    NotificationState,
    Priority,
    ServiceLine,
    TicketStatus,
    Visibility,
)


class TicketCounter(Base):
    """The last number handed out per reference prefix; its row is the allocation lock."""

    __tablename__ = "ticket_counters"

    prefix: Mapped[str] = mapped_column(String(8), primary_key=True)
    last_number: Mapped[int] = mapped_column(Integer, default=0)


class Ticket(Base):
    __tablename__ = "tickets"
    __table_args__ = (UniqueConstraint("prefix", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    prefix: Mapped[str] = mapped_column(String(8))
    number: Mapped[int] = mapped_column(Integer)
    # sha256 of the conversation turn that raised it: a retried turn finds this ticket again.
    idempotency_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    requester_id: Mapped[int] = mapped_column(ForeignKey("employees.id"), index=True)
    category: Mapped[ServiceLine] = mapped_column(_enum(ServiceLine, "ticket_category"))
    subject: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text)
    priority: Mapped[Priority] = mapped_column(_enum(Priority, "ticket_priority"))
    status: Mapped[TicketStatus] = mapped_column(_enum(TicketStatus, "ticket_status"), index=True)
    assignee: Mapped[str | None] = mapped_column(String(100))
    # Where it was raised: Rasa's sender id and input channel, for proactive updates.
    conversation_id: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    first_responded_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    response_due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    resolution_due_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    # While awaiting the customer the resolution clock stops; it restarts on leaving.
    sla_paused_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    response_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolution_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)

    requester: Mapped[Employee] = relationship()
    comments: Mapped[list[TicketComment]] = relationship(
        back_populates="ticket", order_by="TicketComment.id"
    )

    @property
    def breached(self) -> bool:
        return self.response_breached or self.resolution_breached


class TicketComment(Base):
    __tablename__ = "ticket_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    author_kind: Mapped[ActorKind] = mapped_column(_enum(ActorKind, "ticket_actor_kind"))
    author_employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"))
    author_agent: Mapped[str | None] = mapped_column(String(100))
    visibility: Mapped[Visibility] = mapped_column(_enum(Visibility, "ticket_comment_visibility"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="comments")


class TicketEvent(Base):
    """The history of a ticket: every creation, status change, comment and assignment."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind, "ticket_event_kind"))
    actor_kind: Mapped[ActorKind] = mapped_column(_enum(ActorKind, "ticket_actor_kind"))
    actor: Mapped[str] = mapped_column(String(100))  # agent username or "employee:<id>"
    from_status: Mapped[TicketStatus | None] = mapped_column(_enum(TicketStatus, "ticket_status"))
    to_status: Mapped[TicketStatus | None] = mapped_column(_enum(TicketStatus, "ticket_status"))
    comment_id: Mapped[int | None] = mapped_column(ForeignKey("ticket_comments.id"))


class TicketNotification(Base):
    """Outbox: one row per change the employee must hear about (unique per event).

    Written in the same transaction as the change; delivered later through Rasa. The action
    that utters it marks `delivered_at` with a conditional update, so however often delivery
    is retried the employee hears each change at most once.
    """

    __tablename__ = "ticket_notifications"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("ticket_events.id"), unique=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id"), index=True)
    conversation_id: Mapped[str | None] = mapped_column(String(200), index=True)
    state: Mapped[NotificationState] = mapped_column(
        _enum(NotificationState, "ticket_notification_state"), index=True
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    event: Mapped[TicketEvent] = relationship()
    ticket: Mapped[Ticket] = relationship()
