"""How a Rasa tracker event becomes conversation facts (pure: no database, no clock).

Rasa's event broker publishes every event it appends to a tracker, as the JSON of
`Event.as_dict()` plus `sender_id`. A *conversation* is one Rasa session of one sender: it
starts at `session_started` (or at the sender's first event the consumer sees). The rules:

- a user message gives an `intent` fact (never its text). `nlu_fallback` and `out_of_scope`
  give a `fallback` fact, and a low-confidence message (`nlu_fallback`) an unanswered
  question (kept only after redaction); `stop` gives
  `stopped`; any other intent outside `CONVERSATIONAL_INTENTS` is a *request*;
- a request is `answered` when the assistant's turn after it (up to its `action_listen`) ran
  an action that is not a failure (`FAILURE_ACTIONS`) and said no failure response
  (`FAILURE_RESPONSES`, e.g. the service-error apology);
- `action_fallback_suggest` gives `did_you_mean`; a `pause` event gives `handed_off`; the
  `ticket_raised` slot gives `ticket_raised`; the `satisfaction_asked` / `satisfaction_score`
  slots give `rating_asked` / `rated`;
- a conversation is *abandoned* when it went quiet (see `bot.insight.measures`) while the
  assistant was still waiting for the employee: a request unanswered, a form open, or the last
  action a question (`QUESTION_ACTIONS`), and it was never handed off.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

from .models import FactKind

FAILURE_INTENTS = frozenset({"nlu_fallback", "out_of_scope"})
CONVERSATIONAL_INTENTS = frozenset({
    "greet", "goodbye", "thank", "affirm", "deny", "help", "bot_challenge", "stop", "inform",
    "human_handoff", "rate_service", "session_start",
})
FAILURE_ACTIONS = frozenset({
    "action_listen", "action_session_start", "action_restart", "action_default_fallback",
    "action_fallback_suggest", "action_handoff_offer", "action_handoff_request",
    "action_handoff_accept", "action_handoff_decline", "action_handoff_resume",
    "utter_default", "utter_out_of_scope", "utter_not_recognised", "utter_service_error",
    "action_unlikely_intent", "action_deactivate_loop", "action_two_stage_fallback",
    "action_satisfaction_offer", "action_satisfaction_rate", "satisfaction_comment_form",
    "validate_satisfaction_comment_form", "utter_satisfaction_thanks",
})
FAILURE_RESPONSES = frozenset({
    "utter_default", "utter_out_of_scope", "utter_not_recognised", "utter_service_error",
    "utter_kb_no_article",  # a policy question the knowledge base had no article for
})
QUESTION_ACTIONS = frozenset({"action_fallback_suggest", "utter_default", "action_handoff_offer"})
NOT_ABANDONABLE_LOOPS = frozenset({"satisfaction_comment_form"})
TICKET_SLOT = "ticket_raised"
RATING_ASKED_SLOT = "satisfaction_asked"
RATING_SLOT = "satisfaction_score"
UNKNOWN = "unknown"


def event_key(body: bytes | str | Mapping[str, Any]) -> str:
    """A stable identity for one broker event: the sha256 of its canonical JSON.

    Rasa's events carry no id; two different events of one sender never have the same type,
    timestamp (microseconds) and content, while a redelivered event has exactly the same body.
    """
    if isinstance(body, (bytes, str)):
        body = json.loads(body)
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def conversation_key(sender_id: str, started: float) -> str:
    return hashlib.sha256(f"{sender_id}\x00{started!r}".encode()).hexdigest()[:32]


def event_time(event: Mapping[str, Any]) -> dt.datetime:
    stamp = event.get("timestamp")
    seconds = float(stamp) if isinstance(stamp, (int, float)) else 0.0
    return dt.datetime.fromtimestamp(seconds, dt.timezone.utc)


@dataclass
class ConversationState:
    """The running state of one conversation, as `InsightConversation` stores it."""

    key: str
    sender_id: str
    started_at: dt.datetime
    last_event_at: dt.datetime
    channel: str = UNKNOWN
    department_code: str = UNKNOWN
    first_intent: str = ""
    last_request_intent: str = ""
    request_pending: bool = False
    awaiting_reply: bool = False
    active_loop: str = ""
    turn_action: str = ""
    turn_failed: bool = False
    last_action: str = ""
    answered: bool = False
    handed_off: bool = False
    ticket_raised: bool = False
    stopped: bool = False
    new: bool = False  # created by this event


@dataclass(frozen=True)
class Fact:
    kind: FactKind
    at: dt.datetime
    intent: str = ""
    score: int | None = None
    detail: str = ""


@dataclass
class Outcome:
    """What one event did: the facts, the conversation it belongs to, a question to keep."""

    state: ConversationState | None
    facts: list[Fact] = field(default_factory=list)
    unanswered_text: str | None = None  # raw text: the caller redacts it before storing
    unanswered_intent: str = ""
    finished: ConversationState | None = None  # the sender's previous conversation, now over


DepartmentOf = Callable[[Mapping[str, Any] | None], str]


def _start(sender_id: str, event: Mapping[str, Any]) -> ConversationState:
    at = event_time(event)
    return ConversationState(conversation_key(sender_id, float(event.get("timestamp") or 0)),
                             sender_id, at, at, new=True)


def _intent(event: Mapping[str, Any]) -> str:
    intent = (event.get("parse_data") or {}).get("intent") or {}
    name = intent.get("name") if isinstance(intent, Mapping) else None
    return name if isinstance(name, str) and name else "nlu_fallback"


def interpret(current: ConversationState | None, event: Mapping[str, Any],
              department_of: DepartmentOf) -> Outcome:
    """Apply one event to the sender's current conversation; return the facts it gives."""
    kind = event.get("event")
    sender_id = str(event.get("sender_id") or "")
    at = event_time(event)
    if kind == "session_started":
        started = _start(sender_id, event)
        return Outcome(started, [Fact(FactKind.CONVERSATION_STARTED, at)], finished=current)
    outcome = Outcome(current)
    if kind in ("action", "slot") and event.get("name") in ("action_session_start",
                                                            "session_started_metadata"):
        return outcome  # a session's own preamble: its session_started follows or precedes
    if current is None:
        current = _start(sender_id, event)
        outcome.state = current
        outcome.facts.append(Fact(FactKind.CONVERSATION_STARTED, at))
    current.last_event_at = max(current.last_event_at, at)
    if kind == "user":
        _user(current, event, department_of, outcome, at)
    elif kind == "action":
        _action(current, str(event.get("name") or ""), outcome, at)
    elif kind == "bot":
        response = ((event.get("metadata") or {}).get("utter_action")
                    if isinstance(event.get("metadata"), Mapping) else None)
        if response in FAILURE_RESPONSES:
            current.turn_failed = True
    elif kind == "active_loop":
        current.active_loop = str(event.get("name") or "")
    elif kind == "pause":
        if not current.handed_off:
            outcome.facts.append(Fact(FactKind.HANDED_OFF, at, current.last_request_intent))
        current.handed_off = True
        current.awaiting_reply = False
        current.request_pending = False
    elif kind == "slot":
        _slot(current, event, outcome, at)
    return outcome


def _user(state: ConversationState, event: Mapping[str, Any], department_of: DepartmentOf,
          outcome: Outcome, at: dt.datetime) -> None:
    intent = _intent(event)
    if state.channel == UNKNOWN:
        principal = (event.get("metadata") or {}).get("principal")
        channel = principal.get("channel") if isinstance(principal, Mapping) else None
        state.channel = str(channel or event.get("input_channel") or UNKNOWN)[:32]
        state.department_code = department_of(event.get("metadata"))[:16]
    if not state.first_intent:
        state.first_intent = intent
    state.turn_action = ""
    state.turn_failed = False
    outcome.facts.append(Fact(FactKind.INTENT, at, intent))
    if intent in FAILURE_INTENTS:
        outcome.facts.append(Fact(FactKind.FALLBACK, at, intent))
        text = event.get("text")
        if (intent == "nlu_fallback" and isinstance(text, str) and text.strip()
                and not text.startswith("/")):
            outcome.unanswered_text = text
            outcome.unanswered_intent = intent
    elif intent == "stop":
        if not state.stopped:
            outcome.facts.append(Fact(FactKind.STOPPED, at))
        state.stopped = True
    elif intent not in CONVERSATIONAL_INTENTS:
        state.request_pending = True
        state.last_request_intent = intent


def _action(state: ConversationState, name: str, outcome: Outcome, at: dt.datetime) -> None:
    if name == "action_fallback_suggest":
        outcome.facts.append(Fact(FactKind.DID_YOU_MEAN, at, state.last_request_intent))
    if name == "action_listen":
        if state.request_pending and state.turn_action and not state.turn_failed:
            outcome.facts.append(Fact(FactKind.ANSWERED, at, state.last_request_intent,
                                      detail=state.turn_action[:100]))
            state.request_pending = False
            state.answered = True
        state.awaiting_reply = not state.handed_off and (
            (bool(state.active_loop) and state.active_loop not in NOT_ABANDONABLE_LOOPS)
            or state.request_pending or state.last_action in QUESTION_ACTIONS)
        state.turn_action = ""
        return
    state.last_action = name
    if name not in FAILURE_ACTIONS and not state.turn_action:
        state.turn_action = name


def _slot(state: ConversationState, event: Mapping[str, Any], outcome: Outcome,
          at: dt.datetime) -> None:
    name, value = event.get("name"), event.get("value")
    if value in (None, ""):
        return
    if name == TICKET_SLOT:
        outcome.facts.append(Fact(FactKind.TICKET_RAISED, at, state.last_request_intent,
                                  detail=str(value)[:100]))
        state.ticket_raised = True
    elif name == RATING_ASKED_SLOT:
        outcome.facts.append(Fact(FactKind.RATING_ASKED, at, detail=str(value)[:100]))
    elif name == RATING_SLOT:
        try:
            score = int(float(value))
        except (TypeError, ValueError):
            return
        if 1 <= score <= 5:
            outcome.facts.append(Fact(FactKind.RATED, at, score=score))
