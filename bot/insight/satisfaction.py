"""Satisfaction: whether to ask an employee to rate something, and storing the answer.

One request per *subject*, ever (a unique key): a conversation session that reached an
answer, a handoff to a person that ended, a ticket that was resolved. The employee is never
asked after asking the assistant to stop, nor when their last messages read as angry (VADER's
lexicon, a well-known rule-based sentiment model shipped with its package). The actions only
read the tracker and call these functions (actions/satisfaction.py).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.handoff.models import Handoff, HandoffStatus
from bot.identity import Principal, find_employee
from bot.storage.database import Database
from bot.tickets.models import Ticket, TicketStatus
from bot.redaction import redact

from .events import UNKNOWN, ConversationState, interpret
from .models import RatingSubject, SatisfactionRequest

ANGRY_COMPOUND = -0.5  # VADER compound score at or below which a message reads as angry
COMMENT_MAX = 1000
SCORES = range(1, 6)


@dataclass(frozen=True)
class Offer:
    subject: RatingSubject
    subject_key: str


def session_state(events: Sequence[Mapping[str, Any]], sender_id: str) -> ConversationState | None:
    """The current session's state, interpreted exactly as the insight consumer does."""
    start = 0
    for index, event in enumerate(events):
        if event.get("event") == "session_started":
            start = index
    state: ConversationState | None = None
    for event in events[start:]:
        outcome = interpret(state, {**event, "sender_id": sender_id}, lambda _m: UNKNOWN)
        state = outcome.state
    return state


_analyser: Any = None


def reads_angry(texts: Iterable[str]) -> bool:
    """Whether any of these messages reads as angry (strongly negative)."""
    global _analyser
    if _analyser is None:
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer
        _analyser = SentimentIntensityAnalyzer()
    return any(_analyser.polarity_scores(text)["compound"] <= ANGRY_COMPOUND
               for text in texts if text and not text.startswith("/"))


def _asked(session: Session, key: str) -> bool:
    return session.execute(select(SatisfactionRequest.id).where(
        SatisfactionRequest.subject_key == key)).first() is not None


def _department(session: Session, principal: Principal | None) -> str:
    employee = find_employee(session, principal) if principal else None
    return employee.department_code if employee else UNKNOWN


def offer(db: Database, principal: Principal | None, conversation_id: str,
          events: Sequence[Mapping[str, Any]], recent_texts: Sequence[str]) -> Offer | None:
    """Ask now? The first unasked subject of this conversation, recorded as asked; else None.

    In order: a handoff of this conversation that ended, a ticket raised from it that was
    resolved, then the current session if it reached an answer.
    """
    state = session_state(events, conversation_id)
    if state is not None and state.stopped:
        return None
    if reads_angry(recent_texts):
        return None
    with db.unit_of_work() as session:
        department = _department(session, principal)
        channel = principal.channel if principal else (state.channel if state else UNKNOWN)
        for candidate in _candidates(session, conversation_id, state):
            subject, key, intent, agent, ticket = candidate
            if _asked(session, key):
                continue
            request = SatisfactionRequest(
                subject_key=key, subject=subject, conversation_id=conversation_id,
                intent=intent, agent=agent, ticket_reference=ticket, channel=channel,
                department_code=department)
            try:
                with session.begin_nested():
                    session.add(request)
            except IntegrityError:
                continue  # asked at this very moment by another worker
            return Offer(subject, key)
    return None


def _candidates(session: Session, conversation_id: str, state: ConversationState | None):
    handoff = session.execute(
        select(Handoff).where(Handoff.conversation_id == conversation_id,
                              Handoff.status.in_((HandoffStatus.RESUMED,
                                                  HandoffStatus.TICKETED)))
        .order_by(Handoff.id.desc()).limit(1)).scalar_one_or_none()
    if handoff is not None:
        yield (RatingSubject.HANDOFF, f"handoff:{handoff.id}", "human_handoff",
               handoff.assignee, handoff.ticket_reference)
    ticket = session.execute(
        select(Ticket).where(Ticket.conversation_id == conversation_id,
                             Ticket.status.in_((TicketStatus.RESOLVED, TicketStatus.CLOSED)))
        .order_by(Ticket.resolved_at.desc()).limit(1)).scalar_one_or_none()
    if ticket is not None:
        yield (RatingSubject.TICKET, f"ticket:{ticket.reference}", "ticket_create",
               ticket.assignee, ticket.reference)
    if state is not None and state.answered and not state.handed_off:
        yield (RatingSubject.CONVERSATION, f"conversation:{state.key}",
               state.last_request_intent, None, None)


_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


def score_from_text(text: str) -> int | None:
    """The score in a typed rating ("I'd give it 4 out of 5", "five stars"): the first number
    or number word from one to five."""
    for word in re.findall(r"[a-z]+|\d+", (text or "").lower()):
        value = _WORDS.get(word) or (int(word) if word.isdigit() else None)
        if value in SCORES:
            return value
    return None


def rate(db: Database, conversation_id: str, score: Any) -> bool:
    """Store a score (1-5) for this conversation's open request; False if there is none,
    it was already rated, or the score is not one of 1-5."""
    try:
        value = int(float(score))
    except (TypeError, ValueError):
        return False
    if value not in SCORES:
        return False
    with db.unit_of_work() as session:
        request = session.execute(
            select(SatisfactionRequest).where(SatisfactionRequest.conversation_id ==
                                              conversation_id)
            .order_by(SatisfactionRequest.id.desc()).limit(1).with_for_update()
        ).scalar_one_or_none()
        if request is None or request.score is not None:
            return False
        request.score = value
        request.rated_at = dt.datetime.now(dt.timezone.utc)
        return True


def add_comment(db: Database, conversation_id: str, text: str) -> bool:
    """Keep the comment (redacted) on this conversation's latest rating, once."""
    cleaned = " ".join(redact(text or "").split())[:COMMENT_MAX]
    if not cleaned:
        return False
    with db.unit_of_work() as session:
        request = session.execute(
            select(SatisfactionRequest).where(SatisfactionRequest.conversation_id ==
                                              conversation_id,
                                              SatisfactionRequest.score.is_not(None))
            .order_by(SatisfactionRequest.id.desc()).limit(1).with_for_update()
        ).scalar_one_or_none()
        if request is None or request.comment is not None:
            return False
        request.comment = cleaned
        return True
