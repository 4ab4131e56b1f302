"""A handoff through the real stack: what the agent says reaches the employee's chat page, and
the hand-back returns the conversation to the assistant, all through Rasa's relay channel.

`scripts/stack.py` runs as `make run` starts it, on free loopback ports with throwaway
databases, a person reachable at any hour (HANDOFF_HOURS=always). Over HTTP only:

1. An agent (priya.shah, payroll) signs in to the console; Alice opens her chat page's live
   stream and asks for a person in payroll: her conversation is paused and queued.
2. The agent claims it and replies: both reach Alice's stream, with the agent's name.
3. The agent hands back: Alice is told, and her next question is answered by the assistant.
4. Rasa's tracker store holds what the relay appended (the agent's messages with their author,
   the resume) and no user message but Alice's own.
5. Least privilege, on the running processes: each holds only its own secrets
   (/proc/<pid>/environ); a forged relay call appends nothing; Rasa's HTTP API takes no JWT.

Waiting is for observable conditions with deadlines, never a sleep.
"""
from __future__ import annotations

import json
import secrets
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from sqlalchemy import create_engine, select

from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.handoff import widget_push
from bot.handoff.models import Handoff, HandoffStatus
from bot.relay import signature
from scripts.stack import OPTIONAL_SECRETS_OF, PRIVATE, SECRETS_OF
from scripts.stack_process import StackProcess

from .chat_client import ask, console_post, signed_in, signed_in_agent
from .running import started_stack
from .test_ticket_notification_end_to_end import ChatStream

AGENT_PASSWORD = secrets.token_urlsafe(18)
REPLY = "I can see the overtime claim; it will be paid in your next salary."
DEADLINE = 90.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    with started_stack(tmp_path_factory.mktemp("handoff-stack"),
                       {"HELPDESK_DEMO_AGENT_PASSWORD": AGENT_PASSWORD,
                        "HANDOFF_HOURS": "always"}) as running:
        yield running


def until(condition: Callable[[], Any], what: str, seconds: float = DEADLINE) -> Any:
    """Poll an observable condition (a database row) until it holds."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds:.0f} s: {what}")
        time.sleep(0.25)  # polling an observable condition, not synchronising


def handoffs(stack: StackProcess) -> list[tuple[int, HandoffStatus]]:
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(select(Handoff.id, Handoff.status)).all())
    finally:
        engine.dispose()


def tracker_events(stack: StackProcess, conversation: str) -> list[dict[str, Any]]:
    path = stack.env["TRACKER_STORE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        rows = connection.execute("SELECT data FROM events WHERE sender_id = ? ORDER BY id",
                                  (conversation,)).fetchall()
    return [json.loads(data) for (data,) in rows]


def test_an_agents_words_and_the_hand_back_reach_the_employee(stack: StackProcess) -> None:
    agent, csrf = signed_in_agent(stack, AGENT_PASSWORD)  # online: a payroll handoff is queued, not a ticket
    alice = signed_in(stack, "alice.hughes")
    conversation = widget_push.widget_conversation_id(DEMO_WIDGET_ISSUER, "alice.hughes")
    stream = ChatStream(stack, alice.cookies)
    try:
        ask(alice, stack, "I want to speak to a person in payroll about my pay")
        [(handoff_id, status)] = until(lambda: handoffs(stack), "a handoff in the queue")
        assert status is HandoffStatus.WAITING

        base = f"/console/handoffs/{handoff_id}"
        console_post(agent, csrf, stack, f"{base}/claim")
        joined = stream.wait_for(lambda m: "has joined the chat" in m.get("text", ""))
        assert joined.get("author") == "Priya Shah"
        assert console_post(agent, csrf, stack, f"{base}/reply", text=REPLY,
                       submission=uuid.uuid4().hex)["message"] == "Reply sent."
        replied = stream.wait_for(lambda m: m.get("text") == REPLY)
        assert replied.get("author") == "Priya Shah"

        console_post(agent, csrf, stack, f"{base}/handback")
        back = stream.wait_for(lambda m: "handed you back to the assistant" in m.get("text", ""))
        assert "author" not in back
        assert until(lambda: handoffs(stack)[0][1] is HandoffStatus.RESUMED, "the handoff ended")
        answers = ask(alice, stack, "how much leave do I have left?")
        assert answers and answers[0].startswith("You have"), answers  # the assistant again
    finally:
        stream.close()

    events = tracker_events(stack, conversation)
    authored = [e["text"] for e in events
                if e["event"] == "bot" and (e.get("metadata") or {}).get("handoff_author")]
    assert authored == [joined["text"], REPLY]
    assert [e["event"] for e in events].count("resume") == 1
    hand_back = [i for i, e in enumerate(events) if e["event"] == "resume"][0]
    assert [e.get("name") for e in events[hand_back + 1:hand_back + 4:2]] == [
        "action_handoff_resume", "action_listen"]
    users = [e for e in events if e["event"] == "user"]
    assert {e["input_channel"] for e in users} == {"widget"}
    assert all((e.get("metadata") or {}).get("principal", {}).get("subject") == "alice.hughes"
               for e in users)


def environ_of(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes()
    pairs = (item.split(b"=", 1) for item in raw.split(b"\0") if b"=" in item)
    return {name.decode(): value.decode(errors="replace") for name, value in pairs}


def test_each_running_process_holds_only_its_own_secrets(stack: StackProcess) -> None:
    held = {name: {secret for secret in PRIVATE if secret in environ_of(pid)}
            for name, pid in stack.pids().items()}
    assert set(held) == set(SECRETS_OF)
    for name, secrets in held.items():
        assert set(SECRETS_OF[name]) <= secrets <= set(SECRETS_OF[name]) | set(
            OPTIONAL_SECRETS_OF[name]), (name, sorted(secrets))
    assert held["web app"] == {"RELAY_CONSOLE_KEY", "WIDGET_TOKEN_SECRET"}
    assert held["insight consumer"] == set()
    assert "RASA_JWT_SECRET" not in environ_of(stack.pids()["rasa"])


def test_a_forged_relay_call_appends_nothing_and_rasas_api_takes_no_jwt(
        stack: StackProcess) -> None:
    conversation = widget_push.widget_conversation_id(DEMO_WIDGET_ISSUER, "ben.okafor")
    ask(signed_in(stack, "ben.okafor"), stack, "hello")
    before = tracker_events(stack, conversation)
    body = json.dumps({"id": uuid.uuid4().hex, "conversation_id": conversation,
                       "kind": "notice", "text": "Please send me your bank details."}).encode()
    stamp = str(int(time.time()))
    url = f"{stack.rasa}/webhooks/relay/console"
    for key, caller_path in ((b"not-the-key-" * 4, "console"),
                             (stack.env["RELAY_TICKETS_KEY"].encode(), "console"),
                             (stack.env["RELAY_CONSOLE_KEY"].encode(), "tickets")):
        response = requests.post(url.replace("/console", f"/{caller_path}"), data=body,
                                 headers={"X-Relay-Timestamp": stamp,
                                          "X-Relay-Signature": signature(key, caller_path, stamp,
                                                                         body)}, timeout=30)
        assert response.status_code == 401, response.text
    genuine = {"X-Relay-Timestamp": stamp, "X-Relay-Signature": signature(
        stack.env["RELAY_TICKETS_KEY"].encode(), "tickets", stamp, body)}
    assert requests.post(f"{stack.rasa}/webhooks/relay/tickets", data=body, headers=genuine,
                         timeout=30).status_code == 403  # a genuine key, not for this kind
    assert tracker_events(stack, conversation) == before

    admin = jwt.encode({"user": {"username": "helpdesk", "role": "admin"},
                        "exp": int(time.time()) + 300}, "any secret at all " * 3,
                       algorithm="HS256")
    events = requests.post(f"{stack.rasa}/conversations/{conversation}/tracker/events",
                           json=[{"event": "user", "text": "show me Alice's payslip"}],
                           headers={"Authorization": f"Bearer {admin}"}, timeout=30)
    assert events.status_code == 401
    assert tracker_events(stack, conversation) == before
