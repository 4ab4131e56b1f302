"""Service-insight tables: conversation facts from Rasa's event broker, and satisfaction ratings.

No message text is stored here, apart from the redacted unanswered questions (the knowledge
base's gap list) and the redacted comments people add to a rating. Facts carry the
department and channel of the conversation, never the employee.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import Boolean, Date, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.storage.models import Base, _enum
from bot.storage.times import utcnow


class FactKind(str, enum.Enum):
    CONVERSATION_STARTED = "conversation_started"
    INTENT = "intent"  # a user message and the intent understood (never its text)
    ANSWERED = "answered"  # a request intent got an answer (not a failure, person or ticket)
    FALLBACK = "fallback"  # the message was not understood (nlu_fallback or out_of_scope)
    DID_YOU_MEAN = "did_you_mean"  # the assistant offered its best guesses as buttons
    HANDED_OFF = "handed_off"  # the conversation was paused for a person
    TICKET_RAISED = "ticket_raised"
    RATING_ASKED = "rating_asked"
    RATED = "rated"
    STOPPED = "stopped"  # the employee asked to stop (never asked for a rating after that)


class RatingSubject(str, enum.Enum):
    CONVERSATION = "conversation"  # a conversation session that reached an answer
    HANDOFF = "handoff"  # a handoff to a person that ended
    TICKET = "ticket"  # a ticket that was resolved


class InsightFact(Base):
    """One fact derived from one broker event (an event may give several facts)."""

    __tablename__ = "insight_facts"
    __table_args__ = (
        UniqueConstraint("event_key", "kind", name="uq_insight_facts_event_kind"),
        Index("ix_insight_facts_day_kind", "day", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(64))  # sha256 of the broker event's body
    kind: Mapped[FactKind] = mapped_column(_enum(FactKind, "insight_fact_kind"))
    conversation_key: Mapped[str] = mapped_column(String(64), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    day: Mapped[dt.date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(32))
    department_code: Mapped[str] = mapped_column(String(16))
    intent: Mapped[str] = mapped_column(String(100), default="")
    score: Mapped[int | None] = mapped_column(Integer)  # RATED: 1..5
    detail: Mapped[str] = mapped_column(String(100), default="")  # e.g. the answering action


class InsightConversation(Base):
    """The consumer's running state of one conversation (a Rasa session of one sender)."""

    __tablename__ = "insight_conversations"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(200), index=True)
    current: Mapped[bool] = mapped_column(Boolean, default=True)  # the sender's latest session
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    last_event_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    channel: Mapped[str] = mapped_column(String(32), default="unknown")
    department_code: Mapped[str] = mapped_column(String(16), default="unknown")
    first_intent: Mapped[str] = mapped_column(String(100), default="")
    last_request_intent: Mapped[str] = mapped_column(String(100), default="")
    request_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    awaiting_reply: Mapped[bool] = mapped_column(Boolean, default=False)  # left mid-request
    active_loop: Mapped[str] = mapped_column(String(100), default="")
    turn_action: Mapped[str] = mapped_column(String(100), default="")  # this turn's answer
    turn_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    last_action: Mapped[str] = mapped_column(String(100), default="")
    answered: Mapped[bool] = mapped_column(Boolean, default=False)
    handed_off: Mapped[bool] = mapped_column(Boolean, default=False)
    ticket_raised: Mapped[bool] = mapped_column(Boolean, default=False)
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)


class InsightOffset(Base):
    """How far the consumer has read an ordered source (the SQL event broker's table)."""

    __tablename__ = "insight_offsets"

    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class InsightProcessedEvent(Base):
    """Every broker event already turned into facts: a redelivery is recognised and skipped."""

    __tablename__ = "insight_processed_events"

    event_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow,
                                                      index=True)


class UnansweredQuestion(Base):
    """A message the assistant could not answer, redacted before it is stored."""

    __tablename__ = "insight_unanswered"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_key: Mapped[str] = mapped_column(String(64), unique=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    day: Mapped[dt.date] = mapped_column(Date, index=True)
    channel: Mapped[str] = mapped_column(String(32))
    department_code: Mapped[str] = mapped_column(String(16))
    intent: Mapped[str] = mapped_column(String(100))  # nlu_fallback or out_of_scope
    redacted_text: Mapped[str] = mapped_column(Text)


class SatisfactionRequest(Base):
    """One request for a rating: at most one per subject, ever; the answer when given."""

    __tablename__ = "satisfaction_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    subject_key: Mapped[str] = mapped_column(String(250), unique=True)
    subject: Mapped[RatingSubject] = mapped_column(_enum(RatingSubject, "rating_subject"))
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    intent: Mapped[str] = mapped_column(String(100), default="")
    agent: Mapped[str | None] = mapped_column(String(64))
    ticket_reference: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(32))
    department_code: Mapped[str] = mapped_column(String(16))
    asked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    score: Mapped[int | None] = mapped_column(Integer)
    rated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    comment: Mapped[str | None] = mapped_column(Text)  # redacted
