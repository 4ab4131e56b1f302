"""The relay channel (connectors/relay.py) in front of the trained model, over real HTTP.

Each conversation here is made the way an employee makes one: a widget message (a genuine
session token) handled by the real model, so its latest input channel is the widget's, whose
output channel pushes to the fakes' stand-in for the web app. What the tracker store holds is
read from its SQLite file; what the employee was sent, from the pushes; which actions ran,
from the stand-in action server.

- genuine deliveries: each of the six kinds appends what it should and reaches the employee;
- delivered before saved, under the conversation's lock; not saved when not delivered;
- a battery of forged, tampered and replayed calls (over 100, every failure class of the
  channel's rule 3 and 5, each crossed with the six kinds): 0 events appended, 0 pushes, 0
  actions run, and the genuine originals still work afterwards;
- anything outside the vocabulary, with a genuine signature: refused, nothing appended.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
from typing import Any, Callable, Dict, List, Optional, Tuple

import pytest

from connectors import relay
from connectors.principal import conversation_id
from connectors.relay import RelayInput, signature

from . import fakes
from .conftest import ISSUER, RELAY_KEYS, SECRET, ChannelServer, ModelAgent
from .test_teams_channel import post as teams_post
from .test_widget import make_token

Request = Tuple[str, bytes, Dict[str, str]]  # (caller path, body, headers)
CALLER_OF = {"agent_message": "console", "notice": "console", "hand_back": "console",
             "satisfaction_offer": "console", "ticket_notify": "tickets",
             "records_notify": "records"}


def payload(kind: str, conversation: str, **fields: Any) -> Dict[str, Any]:
    defaults = {"agent_message": {"text": "Hello, Sam from HR here.", "author": "Sam Patel"},
                "notice": {"text": "You are now number 2 in the queue."},
                "hand_back": {"text": "Sam has handed you back to the assistant."}}
    body = {"id": uuid.uuid4().hex, "conversation_id": conversation, "kind": kind,
            **defaults.get(kind, {})}
    body.update(fields)
    return body


def signed(caller: str, body: Any, *, key: Optional[bytes] = None,
           timestamp: Optional[str] = None, now: Optional[float] = None) -> Request:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    stamp = timestamp if timestamp is not None else str(int(time.time() if now is None else now))
    # The MAC as the channel makes it; for a timestamp that is not ASCII (forged on purpose),
    # over the bytes the header carries
    message = b"\n".join([relay.LABEL, caller.encode(), stamp.encode("latin-1", "replace"), raw])
    mac = "v1=" + hmac.new(key if key is not None else RELAY_KEYS[caller], message,
                           hashlib.sha256).hexdigest()
    return caller, raw, {"Content-Type": "application/json", relay.TIMESTAMP_HEADER: stamp,
                         relay.SIGNATURE_HEADER: mac}


def send(server: ChannelServer, request: Request) -> Tuple[int, Any]:
    caller, body, headers = request
    http = urllib.request.Request(f"{server.base_url}/relay/{caller}", data=body,
                                  headers=headers, method="POST")
    try:
        with urllib.request.urlopen(http, timeout=60) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def deliver(server: ChannelServer, kind: str, conversation: str, **fields: Any) -> Tuple[int, Any]:
    return send(server, signed(CALLER_OF[kind], payload(kind, conversation, **fields)))


def on_server(server: ChannelServer, coroutine: Any) -> Any:
    """Run a coroutine on the channel server's event loop (where Rasa's stores live)."""
    return asyncio.run_coroutine_threadsafe(coroutine, server.loop).result(timeout=60)


def new_widget_conversation(server: ChannelServer) -> str:
    """An employee says hello in the widget: the real model answers; the conversation id."""
    subject = f"relay-{uuid.uuid4().hex[:12]}"
    request = urllib.request.Request(
        f"{server.base_url}/widget/webhook", data=json.dumps({"text": "hello"}).encode(),
        headers={"Authorization": f"Bearer {make_token(SECRET, sub=subject)}",
                 "Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(request, timeout=120) as answer:
        assert answer.status == 200 and json.loads(answer.read())  # the model greeted back
    server.platforms.clear()
    return conversation_id("widget", ISSUER, subject)


@pytest.fixture
def live(with_model: ChannelServer) -> ChannelServer:
    return with_model


def stamps(model_agent: ModelAgent) -> Dict[str, str]:
    processor = model_agent.agent.processor
    return {"model_id": processor.model_metadata.model_id,
            "assistant_id": processor.model_metadata.assistant_id}


def pushed_texts(server: ChannelServer) -> List[Tuple[str, Optional[str]]]:
    return [(call["body"]["message"].get("text"), call["body"]["message"].get("author"))
            for call in server.platforms.pushes.calls]


# --- what each kind does ------------------------------------------------------------------------

def test_an_agents_message_is_appended_and_reaches_the_employee_with_its_author(
        live: ChannelServer, model_agent: ModelAgent) -> None:
    conversation = new_widget_conversation(live)
    before = model_agent.events(conversation)
    assert deliver(live, "agent_message", conversation) == (200, {"delivered": "agent_message"})
    added = model_agent.events(conversation)[len(before):]
    # (Rasa stamps every event it applies with the model's and the assistant's id)
    assert [(e["event"], e["text"], e["metadata"]) for e in added] == [
        ("bot", "Hello, Sam from HR here.", {"handoff_author": "Sam Patel",
                                              **stamps(model_agent)})]
    assert pushed_texts(live) == [("Hello, Sam from HR here.", "Sam Patel")]
    [push] = live.platforms.pushes.calls
    assert push["body"]["recipient_id"] == conversation


def test_a_notice_is_a_bot_message_without_an_author(live: ChannelServer,
                                                     model_agent: ModelAgent) -> None:
    conversation = new_widget_conversation(live)
    before = len(model_agent.events(conversation))
    assert deliver(live, "notice", conversation)[0] == 200
    [added] = model_agent.events(conversation)[before:]
    assert (added["event"], added["text"], added["metadata"]) == (
        "bot", "You are now number 2 in the queue.", stamps(model_agent))
    assert pushed_texts(live) == [("You are now number 2 in the queue.", None)]


def test_the_hand_back_resumes_a_paused_conversation_and_listens(
        live: ChannelServer, model_agent: ModelAgent) -> None:
    from rasa.shared.core.events import ConversationPaused

    conversation = new_widget_conversation(live)
    store = model_agent.agent.tracker_store

    async def pause() -> None:  # what action_handoff_request's ConversationPaused() does
        tracker = await store.retrieve(conversation)
        tracker.update(ConversationPaused())
        await store.save(tracker)

    on_server(live, pause())
    before = len(model_agent.events(conversation))
    assert deliver(live, "hand_back", conversation) == (200, {"delivered": "hand_back"})
    added = model_agent.events(conversation)[before:]
    assert [(e["event"], e.get("name") or e.get("text")) for e in added] == [
        ("resume", None), ("action", "action_handoff_resume"),
        ("bot", "Sam has handed you back to the assistant."), ("action", "action_listen")]
    tracker = on_server(live, store.retrieve(conversation))
    assert not tracker.is_paused() and tracker.latest_action_name == "action_listen"
    assert pushed_texts(live) == [("Sam has handed you back to the assistant.", None)]


@pytest.mark.parametrize("kind, action", [("satisfaction_offer", "action_satisfaction_offer"),
                                          ("ticket_notify", "action_ticket_notify"),
                                          ("records_notify", "action_records_notify")])
def test_the_three_actions_run_in_the_conversation_and_say_what_they_say(
        live: ChannelServer, model_agent: ModelAgent, kind: str, action: str) -> None:
    conversation = new_widget_conversation(live)
    before = len(model_agent.events(conversation))
    assert deliver(live, kind, conversation) == (200, {"delivered": kind})
    [call] = live.platforms.actions.calls
    assert (call["next_action"], call["sender_id"]) == (action, conversation)
    added = model_agent.events(conversation)[before:]
    # and it listens, as a turn ends (so the next message is read as a new turn)
    assert [(e["event"], e.get("name") or e.get("text")) for e in added] == [
        ("action", action), ("bot", f"{action} in {conversation}"), ("action", "action_listen")]
    assert pushed_texts(live) == [(f"{action} in {conversation}", None)]


def test_a_teams_conversation_is_answered_through_the_bot_connector(
        live: ChannelServer, model_agent: ModelAgent) -> None:
    token = fakes.mint_token(live.platforms.keys.signing, service_url=live.platforms.service_url)
    assert teams_post(live, token, fakes.activity(live.platforms.service_url, text="hello",
                                                  conversation="a:1relay-chat"))[0] == 202
    live.drain()
    live.platforms.clear()
    conversation = conversation_id("msteams", fakes.TENANT_ID, fakes.USER_OBJECT_ID)
    assert deliver(live, "agent_message", conversation)[0] == 200
    [reply] = live.platforms.connector.calls
    assert reply["conversation"] == "a:1relay-chat"
    assert reply["activity"]["text"] == "Hello, Sam from HR here."
    assert live.platforms.pushes.calls == []


# --- delivered, then saved; under the lock -------------------------------------------------------

@pytest.mark.parametrize("kind", ["agent_message", "hand_back", "ticket_notify"])
def test_nothing_is_saved_when_the_employees_channel_does_not_take_it(
        live: ChannelServer, model_agent: ModelAgent, kind: str) -> None:
    conversation = new_widget_conversation(live)
    before = model_agent.events(conversation)
    live.platforms.push_status = 503  # the web app refuses the push
    status, answer = deliver(live, kind, conversation)
    assert status == 503 and "nothing was saved" in answer["error"]
    assert len(live.platforms.pushes.calls) == 1  # it was tried
    assert model_agent.events(conversation) == before
    # The same delivery later (a new id) goes through, once; the failed one left no trace.
    live.platforms.clear()
    assert deliver(live, kind, conversation)[0] == 200
    added = model_agent.events(conversation)[len(before):]
    assert sum(e["event"] == "bot" for e in added) == 1


def test_each_delivery_is_saved_while_the_conversations_lock_is_held(
        live: ChannelServer, model_agent: ModelAgent) -> None:
    conversation = new_widget_conversation(live)
    model_agent.journal.clear()
    for kind in ("agent_message", "notice", "satisfaction_offer"):
        assert deliver(live, kind, conversation)[0] == 200
    mine = [entry for entry, who in model_agent.journal if who == conversation]
    # (an action's run is saved, then its action_listen: both while the lock is held)
    assert mine == ["locked", "saved", "unlocked"] * 2 + ["locked", "saved", "saved", "unlocked"]


def test_an_unknown_conversation_and_one_without_an_output_channel_are_refused(
        live: ChannelServer, model_agent: ModelAgent) -> None:
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    nobody = "widget-" + "0" * 32
    assert deliver(live, "notice", nobody) == (404, {"error": "no such conversation"})
    assert model_agent.events(nobody) == []
    # a conversation whose latest message came through a channel that cannot send later
    elsewhere = "slack-" + uuid.uuid4().hex

    async def seed() -> None:
        await model_agent.agent.tracker_store.save(DialogueStateTracker.from_events(
            elsewhere, [ActionExecuted("action_listen"),
                        UserUttered("hi", input_channel="cmdline")]))

    on_server(live, seed())
    before = model_agent.events(elsewhere)
    assert deliver(live, "notice", elsewhere)[0] == 409
    assert model_agent.events(elsewhere) == before and live.platforms.pushes.calls == []


# --- forged, tampered and replayed: nothing happens ----------------------------------------------

Builder = Callable[[str, Dict[str, Any]], Request]


def forgeries(now: int) -> Dict[str, List[Tuple[int, Builder]]]:
    """Failure class -> [(expected status, (caller, genuine body) -> forged request)]."""
    raw = lambda body: json.dumps(body).encode()  # noqa: E731

    def at(timestamp: str) -> Builder:
        return lambda caller, body: signed(caller, body, timestamp=timestamp)

    def header(name: str, value: Callable[[str], str]) -> Builder:
        def build(caller: str, body: Dict[str, Any]) -> Request:
            path, data, headers = signed(caller, body, now=now)
            headers[name] = value(headers[name])
            return path, data, headers
        return build

    def without(*names: str) -> Builder:
        def build(caller: str, body: Dict[str, Any]) -> Request:
            path, data, headers = signed(caller, body, now=now)
            for name in names:
                headers.pop(name)
            return path, data, headers
        return build

    def tampered(change: Callable[[Dict[str, Any]], Any]) -> Builder:
        def build(caller: str, body: Dict[str, Any]) -> Request:
            path, _, headers = signed(caller, body, now=now)
            altered = json.loads(json.dumps(body))
            changed = change(altered)
            data = changed if isinstance(changed, bytes) else raw(altered)
            return path, data, headers
        return build

    def with_key(key: bytes) -> Builder:
        return lambda caller, body: signed(caller, body, key=key, now=now)

    def other_caller_key(caller: str, body: Dict[str, Any]) -> Request:
        other = "tickets" if caller != "tickets" else "console"
        return signed(caller, body, key=RELAY_KEYS[other], now=now)

    def moved(caller: str, body: Dict[str, Any]) -> Request:
        """A genuine request of one caller sent to another caller's path."""
        _, data, headers = signed(caller, body, now=now)
        return ("records" if caller != "records" else "console"), data, headers

    def signed_as(claimed: str) -> Builder:
        """The right key, but the MAC made for another caller name."""
        def build(caller: str, body: Dict[str, Any]) -> Request:
            stamp = str(now)
            data = raw(body)
            return caller, data, {"Content-Type": "application/json",
                                  relay.TIMESTAMP_HEADER: stamp,
                                  relay.SIGNATURE_HEADER: signature(RELAY_KEYS[caller], claimed,
                                                                    stamp, data)}
        return build

    sig, stamp = relay.SIGNATURE_HEADER, relay.TIMESTAMP_HEADER
    return {
        "missing or empty headers": [(401, without(sig)), (401, without(stamp)),
                                     (401, without(sig, stamp)), (401, header(sig, lambda v: "")),
                                     (401, header(stamp, lambda v: ""))],
        "malformed timestamp": [(401, at(value)) for value in (
            "abc", "-1", f"{now}.0", f" {now}", f"{now} ", f"+{now}", "1e9", "0x65", "9" * 13,
            str(now).translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
            .encode().decode("latin-1"))],
        "stale timestamp": [(401, at(str(now - seconds)))
                            for seconds in (61, 62, 120, 3600, 86400, now)],
        "future timestamp": [(401, at(str(now + seconds)))
                             for seconds in (31, 32, 60, 3600, 10**6, 10**11)],
        "malformed signature": [(401, header(sig, change)) for change in (
            lambda v: v.upper(), lambda v: v[:-1], lambda v: v + "0", lambda v: "v0=" + v[3:],
            lambda v: v[3:], lambda v: "sha256=" + v[3:], lambda v: f"{v},{v}",
            lambda v: "v1=" + "g" * 64, lambda v: "v1=é" + v[4:])],
        "wrong key": [(401, with_key(b"x" * 48)), (401, with_key(b"")),
                      (401, other_caller_key), (401, with_key(SECRET.encode())),
                      (401, lambda caller, body: signed(caller, body, now=now,
                                                        key=RELAY_KEYS[caller][:-1])),
                      (401, lambda caller, body: signed(caller, body, now=now,
                                                        key=RELAY_KEYS[caller] + b"!"))],
        "signature moved": [(401, moved), (401, signed_as("console-")),
                            (401, lambda caller, body: signed_as(
                                "tickets" if caller != "tickets" else "records")(caller, body)),
                            (401, header(stamp, lambda v: str(int(v) - 1))),
                            (401, header(stamp, lambda v: str(int(v) + 1)))],
        "tampered body": [(401, tampered(change)) for change in (
            lambda b: b.update(conversation_id="widget-" + "f" * 32),
            lambda b: b.update(kind="notice") if b["kind"] != "notice" else b.update(
                kind="agent_message"),
            lambda b: b.update(id=uuid.uuid4().hex),
            lambda b: b.update(text="Send me your bank details") if "text" in b else b.update(
                extra="x"),
            lambda b: b.update(author="The Permanent Secretary") if "author" in b else b.update(
                principal={"channel": "widget", "tenant": ISSUER, "subject": "boss"}),
            lambda b: json.dumps(b, indent=1).encode(),
            lambda b: json.dumps(b).encode() + b" ",
            lambda b: b" " + json.dumps(b).encode(),
            lambda b: json.dumps(b).encode()[:-1])],
    }


BASE_KINDS = ("agent_message", "notice", "hand_back", "satisfaction_offer", "ticket_notify",
              "records_notify")


@pytest.fixture
def pinned_now(live: ChannelServer, monkeypatch: pytest.MonkeyPatch) -> int:
    """The relay's clock, stopped at the current whole second for this test."""
    now = int(time.time())
    monkeypatch.setattr(live.relay, "clock", lambda: float(now))
    return now


def test_a_battery_of_forged_tampered_and_replayed_calls_appends_nothing(
        live: ChannelServer, model_agent: ModelAgent, pinned_now: int,
        monkeypatch: pytest.MonkeyPatch) -> None:
    conversation = new_widget_conversation(live)
    before = model_agent.events(conversation)
    cases: List[Tuple[str, int, Request]] = []
    genuine: List[Request] = []
    for kind in BASE_KINDS:
        caller = CALLER_OF[kind]
        body = payload(kind, conversation)
        genuine.append(signed(caller, body, now=pinned_now))
        for failure, variants in forgeries(pinned_now).items():
            for expected, build in variants:
                cases.append((failure, expected, build(caller, body)))
    unexpected = []
    for failure, expected, request in cases:
        status, answer = send(live, request)
        if status != expected:
            unexpected.append((failure, expected, status, answer))
    assert unexpected == [], unexpected[:5]
    assert model_agent.events(conversation) == before
    assert live.platforms.pushes.calls == [] and live.platforms.actions.calls == []

    # Replayed: each genuine request once (delivered), then again, byte for byte (refused);
    # and again once its window has passed (refused by its time).
    for request in genuine:
        assert send(live, request)[0] == 200
    delivered = model_agent.events(conversation)
    pushes, actions = len(live.platforms.pushes.calls), len(live.platforms.actions.calls)
    assert pushes == 6 and actions == 3
    replays = [(409, request) for request in genuine for _ in range(3)]
    statuses = [(expected, send(live, request)[0]) for expected, request in replays]
    monkeypatch.setattr(live.relay, "clock", lambda: float(pinned_now + 61))
    late = [(401, request) for request in genuine]
    statuses += [(expected, send(live, request)[0]) for expected, request in late]
    replays += late
    assert all(expected == got for expected, got in statuses), statuses
    assert model_agent.events(conversation) == delivered
    assert (len(live.platforms.pushes.calls), len(live.platforms.actions.calls)) == (6, 3)
    total = len(cases) + len(replays)
    print(f"\nrelay battery: {total} forged, tampered or replayed calls, 0 events appended")
    assert total >= 100


# --- the vocabulary is closed ----------------------------------------------------------------------

def outside_the_vocabulary(conversation: str) -> List[Tuple[int, str, Any]]:
    """(expected status, caller, body): each signed with that caller's genuine key."""
    message = payload("agent_message", conversation)

    def but(**changes: Any) -> Dict[str, Any]:
        return {**message, **changes}

    def without(name: str) -> Dict[str, Any]:
        return {k: v for k, v in message.items() if k != name}

    cases: List[Tuple[int, str, Any]] = []
    for kind in ("user", "bot", "action", "slot", "set_slot", "user_message", "intent",
                 "trigger_intent", "execute", "restart", "pause", "resume", "events",
                 "session_start", "followup", "AGENT_MESSAGE", "agent_message ", ""):
        cases.append((400, "console", but(kind=kind)))
    for extra in ({"metadata": {"principal": {"channel": "widget", "tenant": ISSUER,
                                              "subject": "boss"}}},
                  {"principal": {"channel": "widget"}}, {"principal_proof": {"mac": "0"}},
                  {"slots": {"person": "boss"}}, {"events": [{"event": "user", "text": "hi"}]},
                  {"intent": "leave_balance"}, {"name": "action_leave_balance"},
                  {"input_channel": "widget"}, {"sender_id": "widget-x"}, {"buttons": []},
                  {"data": {"custom": {}}}, {"policy": "x"}, {"timestamp": 1}):
        cases.append((400, "console", {**message, **extra}))
    for name in ("text", "author", "id", "conversation_id", "kind"):
        cases.append((400, "console", without(name)))
    cases += [(400, "console", {**payload("notice", conversation), "author": "Sam Patel"}),
              (400, "console", {**payload("hand_back", conversation), "author": "Sam Patel"}),
              (400, "console", {**payload("satisfaction_offer", conversation), "text": "Rate!"})]
    for field_changes in ({"text": ""}, {"text": "   "}, {"text": "x" * 4001}, {"text": 7},
                          {"text": None}, {"text": ["hi"]}, {"text": "a\x00b"},
                          {"text": "\ud800"}, {"author": ""}, {"author": "a" * 101},
                          {"author": "Sam\nPatel"}, {"author": "Sam\x1b[31m"}, {"author": 1},
                          {"id": "short"}, {"id": "x" * 65}, {"id": "bad id with spaces!!"},
                          {"id": 12345678901234567}, {"conversation_id": "default"},
                          {"conversation_id": "widget-" + "A" * 32},
                          {"conversation_id": "rest-" + "0" * 32},
                          {"conversation_id": "../" + conversation},
                          {"conversation_id": conversation + "\n"}, {"conversation_id": None}):
        cases.append((400, "console", but(**field_changes)))
    for body in ([message], "agent_message", None, 3, b"\xff\xfe{}", b"{", b"",
                 b"[" * 5000 + b"]" * 5000):
        cases.append((400, "console", body if isinstance(body, bytes) else json.dumps(body)
                      .encode()))
    # a genuine key asking for another caller's kind: 403
    for caller, kind in (("tickets", "agent_message"), ("tickets", "hand_back"),
                         ("records", "notice"), ("records", "ticket_notify"),
                         ("console", "records_notify"), ("console", "ticket_notify"),
                         ("tickets", "records_notify"), ("records", "satisfaction_offer")):
        cases.append((403, caller, payload(kind, conversation)))
    cases += [(404, "admin", message), (404, "relay", message), (404, "CONSOLE", message),
              (413, "console", but(text="x" * (relay.MAX_BODY_BYTES + 1)))]
    return cases


def test_anything_outside_the_vocabulary_is_refused_and_appends_nothing(
        live: ChannelServer, model_agent: ModelAgent) -> None:
    conversation = new_widget_conversation(live)
    before = model_agent.events(conversation)
    cases = outside_the_vocabulary(conversation)
    unexpected = []
    for expected, caller, body in cases:
        status, answer = send(live, signed(caller, body, key=RELAY_KEYS.get(caller, b"k" * 32)))
        if status != expected or not isinstance(answer, dict) or "error" not in answer:
            unexpected.append((expected, status, caller, str(body)[:80], answer))
    assert unexpected == [], unexpected[:5]
    assert len(cases) >= 80
    assert model_agent.events(conversation) == before
    assert live.platforms.pushes.calls == [] and live.platforms.actions.calls == []


def test_the_relay_is_never_a_conversations_channel_and_makes_no_user_message(
        live: ChannelServer, model_agent: ModelAgent) -> None:
    conversation = new_widget_conversation(live)
    messages = len(live.agent.messages)
    for kind in BASE_KINDS:
        assert deliver(live, kind, conversation)[0] == 200
    assert len(live.agent.messages) == messages  # on_new_message was never called
    events = model_agent.events(conversation)
    assert [e for e in events if e["event"] == "user"][-1]["input_channel"] == "widget"
    assert not [e for e in events if e["event"] == "slot" and e["timestamp"] > events[0]["timestamp"]
                and e.get("name") in ("person", "employee_number")]
    assert live.relay.get_output_channel() is None


# --- configuration --------------------------------------------------------------------------------

def test_each_caller_needs_a_long_key_of_its_own() -> None:
    keys = {f"{caller}_key": key.decode() for caller, key in RELAY_KEYS.items()}
    channel = RelayInput.from_credentials(keys)
    assert isinstance(channel, RelayInput) and set(channel.keys) == {"console", "tickets",
                                                                      "records"}
    for caller in RELAY_KEYS:
        with pytest.raises(ValueError, match=f"RELAY_{caller.upper()}_KEY"):
            RelayInput.from_credentials({**keys, f"{caller}_key": "short"})
        with pytest.raises(ValueError, match=f"{caller}_key"):
            RelayInput.from_credentials({k: v for k, v in keys.items() if k != f"{caller}_key"})
    with pytest.raises(ValueError, match="a key of its own"):
        RelayInput.from_credentials({**keys, "tickets_key": keys["console_key"]})


def test_signature_golden_vector() -> None:
    """The same vector is checked by the services' client (tests/unit/test_relay_client.py)."""
    assert signature(b"k" * 32, "console", "1700000000", b'{"kind":"notice"}') == (
        "v1=34ef2b7ad8a5ae7132f33809c0038c08ab1c2cc8433f367ee70b8d0b82fc713c")
