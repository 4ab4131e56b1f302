"""Service-insight test support: Rasa-shaped event streams, and the measures counted straight
from raw events by code that shares nothing with bot.insight (the independent check)."""
from __future__ import annotations

import datetime as dt
import json
from collections import Counter, defaultdict
from typing import Any, Iterable

from bot.demo.description import DEMO_WIDGET_ISSUER

REQUEST_FAILURES = {"nlu_fallback", "out_of_scope"}
NOT_REQUESTS = {"greet", "goodbye", "thank", "affirm", "deny", "help", "bot_challenge", "stop",
                "inform", "human_handoff", "rate_service", "session_start"}
NOT_ANSWERS = {"action_listen", "action_session_start", "action_restart", "utter_default",
               "utter_out_of_scope", "utter_not_recognised", "utter_service_error",
               "action_fallback_suggest", "action_handoff_offer", "action_handoff_request",
               "action_handoff_accept", "action_handoff_decline", "action_handoff_resume",
               "action_default_fallback", "action_unlikely_intent", "action_deactivate_loop",
               "action_two_stage_fallback", "action_satisfaction_offer",
               "action_satisfaction_rate", "satisfaction_comment_form",
               "validate_satisfaction_comment_form", "utter_satisfaction_thanks"}
FAILURE_UTTERANCES = {"utter_default", "utter_out_of_scope", "utter_not_recognised",
                      "utter_service_error", "utter_kb_no_article"}
WAITING_ACTIONS = {"action_fallback_suggest", "utter_default", "action_handoff_offer"}


class Script:
    """Builds one sender's events the way Rasa's tracker store publishes them."""

    def __init__(self, sender: str, subject: str, start: float, channel: str = "widget") -> None:
        self.sender, self.subject, self.channel, self.clock = sender, subject, channel, start
        self.events: list[dict[str, Any]] = []

    def _add(self, event: dict[str, Any]) -> "Script":
        self.clock += 0.25
        self.events.append({"sender_id": self.sender, "timestamp": self.clock, **event})
        return self

    def session(self) -> "Script":
        # as Rasa 3.6 writes a session whose first message carried metadata (every channel here)
        self._add({"event": "slot", "name": "session_started_metadata",
                   "value": {"principal": {"channel": self.channel, "subject": self.subject}}})
        self._add({"event": "action", "name": "action_session_start"})
        self._add({"event": "session_started"})
        return self._add({"event": "action", "name": "action_listen"})

    def user(self, intent: str, text: str = "hello there", **entities: str) -> "Script":
        return self._add({
            "event": "user", "text": text, "input_channel": self.channel,
            "parse_data": {"intent": {"name": intent, "confidence": 0.9},
                           "entities": [{"entity": k, "value": v} for k, v in entities.items()]},
            "metadata": {"principal": {"channel": self.channel, "tenant": DEMO_WIDGET_ISSUER,
                                       "subject": self.subject}}})

    def action(self, name: str) -> "Script":
        return self._add({"event": "action", "name": name})

    def bot(self, response: str | None = None) -> "Script":
        return self._add({"event": "bot", "text": "...",
                          "metadata": {"utter_action": response} if response else {}})

    def slot(self, name: str, value: Any) -> "Script":
        return self._add({"event": "slot", "name": name, "value": value})

    def loop(self, name: str | None) -> "Script":
        return self._add({"event": "active_loop", "name": name})

    def pause(self) -> "Script":
        return self._add({"event": "pause"})

    def listen(self) -> "Script":
        return self.action("action_listen")


def answered(s: Script, intent: str = "leave_balance") -> Script:
    return s.user(intent).action(f"action_{intent}").bot().listen()


def rated(s: Script, score: int) -> Script:
    s.user("goodbye").action("utter_goodbye").bot("utter_goodbye")
    s.action("action_satisfaction_offer").bot().slot("satisfaction_asked", "conversation").listen()
    s.user("rate_service", f'/rate_service{{"rating": "{score}"}}', rating=str(score))
    s.action("action_satisfaction_rate").slot("satisfaction_score", str(score))
    s.action("satisfaction_comment_form").loop("satisfaction_comment_form").listen()
    s.user("deny", "/deny").action("satisfaction_comment_form").loop(None)
    return s.action("action_satisfaction_done").bot().slot("satisfaction_score", None).listen()


def fallback(s: Script, text: str = "what about the thing with the form") -> Script:
    return s.user("nlu_fallback", text).action("action_fallback_suggest").bot().listen()


def no_article(s: Script) -> Script:
    """A policy question the knowledge base had no article for (it offers a ticket or a person)."""
    return s.user("policy_question").action("action_answer_policy").bot("utter_kb_no_article").listen()


def handed_off(s: Script) -> Script:
    s.user("human_handoff").action("action_handoff_request").bot().pause()
    return s.listen()


def ticket(s: Script, reference: str) -> Script:
    s.user("ticket_create").action("ticket_form").loop("ticket_form").listen()
    s.user("inform").action("ticket_form").loop(None).action("action_ticket_create").bot()
    return s.slot("ticket_raised", reference).listen()


def abandoned_in_form(s: Script) -> Script:
    return s.user("leave_request").action("leave_request_form").loop("leave_request_form").listen()


def stopped(s: Script) -> Script:
    return s.user("stop").action("utter_anything_else").bot().listen()


# --- the independent count -------------------------------------------------------------------

# A session's own preamble, around its `session_started`: Rasa sets `session_started_metadata`
# first when the channel sends metadata (the web widget's relay does), then runs
# `action_session_start`. Neither is a conversation of its own.
SESSION_PREAMBLE = {("action", "action_session_start"), ("slot", "session_started_metadata")}


def conversations_of(events: Iterable[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Split each sender's events (in order) into sessions at `session_started`."""
    by_sender: dict[str, list[list[dict[str, Any]]]] = defaultdict(list)
    for event in events:
        sessions = by_sender[event["sender_id"]]
        if (event.get("event"), event.get("name")) in SESSION_PREAMBLE:
            continue
        if event.get("event") == "session_started" or not sessions:
            sessions.append([])
        sessions[-1].append(event)
    return [session for sessions in by_sender.values() for session in sessions]


def _answered(conversation: list[dict[str, Any]]) -> bool:
    turns: list[list[dict[str, Any]]] = []
    for event in conversation:
        if event.get("event") == "user":
            turns.append([event])
        elif turns:
            turns[-1].append(event)
    pending = False
    for turn in turns:
        intent = turn[0]["parse_data"]["intent"]["name"]
        if intent not in REQUEST_FAILURES and intent not in NOT_REQUESTS:
            pending = True
        if not pending:
            continue
        acted = failed = False
        for event in turn[1:]:
            if event.get("event") == "action" and event.get("name") == "action_listen":
                if acted and not failed:
                    return True
                break
            if event.get("event") == "action" and event.get("name") not in NOT_ANSWERS:
                acted = True
            if (event.get("event") == "bot"
                    and (event.get("metadata") or {}).get("utter_action") in FAILURE_UTTERANCES):
                failed = True
    return False


def independent_counts(events: Iterable[dict[str, Any]], now: dt.datetime,
                       abandon_after: dt.timedelta) -> dict[str, Any]:
    counts: Counter[str] = Counter()
    scores: Counter[int] = Counter()
    for conversation in conversations_of(events):
        counts["conversations"] += 1
        kinds = [e.get("event") for e in conversation]
        paused = "pause" in kinds
        ticketed = any(e.get("event") == "slot" and e.get("name") == "ticket_raised"
                       and e.get("value") for e in conversation)
        got_answer = _answered(conversation)
        counts["handed_off"] += paused
        counts["tickets_raised"] += ticketed
        counts["contained"] += got_answer and not paused and not ticketed
        counts["with_fallback"] += any(
            e.get("event") == "user" and e["parse_data"]["intent"]["name"] in REQUEST_FAILURES
            for e in conversation)
        counts["with_did_you_mean"] += any(
            e.get("event") == "action" and e.get("name") == "action_fallback_suggest"
            for e in conversation)
        for e in conversation:
            if e.get("event") == "slot" and e.get("name") == "satisfaction_score" and e["value"]:
                scores[int(e["value"])] += 1
        last = max(float(e["timestamp"]) for e in conversation)
        quiet = now - dt.datetime.fromtimestamp(last, dt.timezone.utc) >= abandon_after
        counts["abandoned"] += quiet and not paused and _left_waiting(conversation)
    return {**counts, "ratings": sum(scores.values()),
            "distribution": {str(k): scores[k] for k in range(1, 6)}}


def _left_waiting(conversation: list[dict[str, Any]]) -> bool:
    loop = None
    last_action = None
    for event in conversation:
        if event.get("event") == "active_loop":
            loop = event.get("name")
        if event.get("event") == "action" and event.get("name") not in ("action_listen",):
            last_action = event.get("name")
    open_form = bool(loop) and loop != "satisfaction_comment_form"
    unanswered = _last_request_unanswered(conversation)
    return open_form or unanswered or last_action in WAITING_ACTIONS


def _last_request_unanswered(conversation: list[dict[str, Any]]) -> bool:
    pending = False
    acted = failed = False
    for event in conversation:
        kind = event.get("event")
        if kind == "user":
            intent = event["parse_data"]["intent"]["name"]
            if intent not in REQUEST_FAILURES and intent not in NOT_REQUESTS:
                pending = True
            acted = failed = False
        elif kind == "action" and event.get("name") == "action_listen":
            if pending and acted and not failed:
                pending = False
        elif kind == "action" and event.get("name") not in NOT_ANSWERS:
            acted = True
        elif kind == "bot" and (event.get("metadata") or {}).get("utter_action") in FAILURE_UTTERANCES:
            failed = True
        elif kind == "pause":
            pending = False
    return pending


def as_rows(events: Iterable[dict[str, Any]]) -> list[tuple[str, str]]:
    """(sender_id, data) rows as Rasa's SQL event broker writes them."""
    return [(e["sender_id"], json.dumps(e)) for e in events]
