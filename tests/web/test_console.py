"""The agent console in the web app: sign-in, CSRF, claim, reply, note, transfer, hand back,
ticket; the live streams; Rasa's signed widget pushes; the tracker-store feed.

Rasa's relay channel is a local fake (tests/relay_fake.py) that checks the console's key and
signature and records each delivery; Rasa's tracker store is a SQLite file with Rasa 3.6's
`events` table. The channel itself is tested in front of Rasa in tests/connectors/test_relay.py.
"""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import create_engine, insert, select

from bot.config import Settings
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.handoff import accounts, requester, widget_push
from bot.handoff.errors import InvalidHandoffInput
from bot.handoff.feed import tracker_events
from bot.handoff.models import Handoff, HandoffEntry, HandoffReason, HandoffStatus
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import AuditEvent
from bot.tickets.models import ServiceLine, Ticket
from bot.web import session_tokens
from bot.web.app import create_app
from bot.web.keys import DATABASE, SETTINGS

from tests.relay_fake import KEYS as RELAY_KEYS
from tests.relay_fake import FakeRelay

from .conftest import AGENT_PASSWORD as PASSWORD
from .conftest import SECRET, console_sign_in

ALICE = Principal("widget", DEMO_WIDGET_ISSUER, "alice.hughes")
ALICE_CONVERSATION = widget_push.widget_conversation_id(DEMO_WIDGET_ISSUER, "alice.hughes")


@pytest.fixture
def tracker_db(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = create_engine(url)
    tracker_events.metadata.create_all(engine)
    engine.dispose()
    yield url


def add_tracker_event(url: str, sender: str, text: str, timestamp: float) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(tracker_events).values(
            sender_id=sender, type_name="user", timestamp=timestamp, intent_name="x",
            data=json.dumps({"event": "user", "text": text, "timestamp": timestamp})))
    engine.dispose()


@pytest_asyncio.fixture
async def relay(aiohttp_server: Callable[..., Any]) -> FakeRelay:
    fake = FakeRelay()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("/")).rstrip("/")
    return fake


@pytest.fixture
def agents(database: Database) -> dict[str, str]:
    """Local accounts (created once per module database)."""
    with database.unit_of_work() as session:
        existing = set(session.scalars(select(accounts.Agent.username)))
        for username, name, skills in (("sam.hr", "Sam Patel", "hr"),
                                       ("pat.pay", "Pat Payne", "payroll")):
            if username not in existing:
                accounts.create_agent(session, username, name, PASSWORD, skills)
    return {"sam.hr": "Sam Patel", "pat.pay": "Pat Payne"}


@pytest.fixture(autouse=True)
def clean_handoffs(database: Database) -> Iterator[None]:
    yield
    with database.unit_of_work() as session:
        session.query(HandoffEntry).delete()
        session.query(Handoff).delete()


@pytest_asyncio.fixture
async def console(aiohttp_client: Callable[..., Any], database: Database, relay: FakeRelay,
                  tracker_db: str, agents: dict[str, str]) -> AsyncIterator[TestClient]:
    settings = Settings(database_url=database.url, widget_token_secret=SECRET,
                        dev_signin_enabled=False, rasa_url=relay.url,
                        relay_console_key=RELAY_KEYS["console"], tracker_store_url=tracker_db)
    client = await aiohttp_client(create_app(settings, database))
    yield client


async def sign_in(client: TestClient, username: str = "sam.hr") -> str:
    return await console_sign_in(client, username)


def queue_alice(database: Database, skill: ServiceLine = ServiceLine.HR,
                since: float = 0.0) -> int:
    place = requester.request_handoff(database, ALICE, requester.NewHandoff(
        ALICE_CONVERSATION, skill, HandoffReason.REQUESTED,
        "Asked for a person (hr queue).\nLast messages:\n- my leave is wrong", since))
    return place.handoff_id


async def post(client: TestClient, path: str, csrf: str | None, **form: str) -> Any:
    data = dict(form)
    if csrf is not None:
        data["csrf_token"] = csrf
    return await client.post(path, data=data, headers={"Accept": "application/json"})


async def read_events(response: Any, wanted: Callable[[str, Any], bool],
                      timeout: float = 5.0) -> list[tuple[str, Any]]:
    """Read server-sent events until `wanted(event, data)` is true; all events read."""
    seen: list[tuple[str, Any]] = []
    event, data = None, None

    async def read() -> None:
        nonlocal event, data
        async for raw in response.content:
            line = raw.decode().rstrip("\n")
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = json.loads(line[6:])
            elif line == "" and event is not None:
                seen.append((event, data))
                if wanted(event, data):
                    return
                event, data = None, None

    await asyncio.wait_for(read(), timeout)
    return seen


# --- sign-in and CSRF ---------------------------------------------------------------------

async def test_the_console_needs_a_signed_in_agent(console: TestClient) -> None:
    response = await console.get("/console", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/console/signin"
    assert (await console.get("/console/stream")).status == 401


async def test_an_account_without_the_agent_role_sees_neither_queue_nor_tickets(
        console: TestClient, database: Database) -> None:
    with database.unit_of_work() as session:
        if session.scalar(select(accounts.Agent.id).where(
                accounts.Agent.username == "kim.editor")) is None:
            accounts.create_agent(session, "kim.editor", "Kim Editor", PASSWORD, "",
                                  roles="knowledge_editor")
    response = await console.post("/console/signin", data={"username": "kim.editor",
                                                            "password": PASSWORD},
                                  allow_redirects=False)
    assert response.status == 303
    for path in ("/console", "/console/tickets"):
        page = await console.get(path, allow_redirects=False)
        assert page.status == 403, path
        html = await page.text()
        assert "You do not have access to this page" in html
        assert 'href="/console/tickets"' not in html  # the navigation hides what it cannot use
    stream = await console.get("/console/stream", headers={"Accept": "text/event-stream"})
    assert stream.status == 403
    handoff_id = queue_alice(database)
    html = await (await console.get("/console")).text()
    csrf = html.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
    claim = await console.post(f"/console/handoffs/{handoff_id}/claim",
                               data={"csrf_token": csrf}, allow_redirects=False)
    assert claim.status == 403
    with database.unit_of_work() as session:
        assert session.get(Handoff, handoff_id).status == HandoffStatus.WAITING  # type: ignore


async def test_an_account_needs_a_known_role_and_agents_need_a_skill(database: Database) -> None:
    with database.unit_of_work() as session:
        with pytest.raises(InvalidHandoffInput, match="unknown role"):
            accounts.create_agent(session, "x.root", "X", PASSWORD, "hr", roles="root")
        with pytest.raises(InvalidHandoffInput, match="at least one skill"):
            accounts.create_agent(session, "x.super", "X", PASSWORD, "", roles="supervisor")
        session.rollback()


async def test_wrong_passwords_and_unknown_users_look_the_same(console: TestClient) -> None:
    wrong = await console.post("/console/signin", data={"username": "sam.hr",
                                                        "password": "not the password"})
    unknown = await console.post("/console/signin", data={"username": "nobody",
                                                          "password": "not the password"})
    assert wrong.status == unknown.status == 401
    assert (await wrong.text()).replace("sam.hr", "nobody") == await unknown.text()
    assert "hd_agent" not in console.session.cookie_jar.filter_cookies(console.make_url("/console"))


async def test_session_cookie_is_strict_httponly_and_scoped(console: TestClient) -> None:
    response = await console.post("/console/signin", data={"username": "sam.hr",
                                                           "password": PASSWORD},
                                  allow_redirects=False)
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/console" in cookie


async def test_commands_need_the_csrf_token(console: TestClient, database: Database) -> None:
    await sign_in(console)
    handoff_id = await asyncio.to_thread(queue_alice, database)
    for token in (None, "forged"):
        response = await post(console, f"/console/handoffs/{handoff_id}/claim", token)
        assert response.status == 403
    foreign = await console.post(f"/console/handoffs/{handoff_id}/claim",
                                 headers={"Origin": "https://evil.example"})
    assert foreign.status == 403
    with database.unit_of_work() as session:
        assert session.get_one(Handoff, handoff_id).assignee is None


async def test_demo_accounts_only_sign_in_in_dev_mode(console: TestClient,
                                                      database: Database) -> None:
    with database.unit_of_work() as session:
        if not session.scalar(select(accounts.Agent).where(accounts.Agent.username == "demo.x")):
            accounts.create_agent(session, "demo.x", "Demo", PASSWORD, "hr", demo=True)
    response = await console.post("/console/signin", data={"username": "demo.x",
                                                           "password": PASSWORD},
                                  allow_redirects=False)
    assert response.status == 401


# --- the handoff, from claim to hand-back ---------------------------------------------------

async def test_claim_reply_note_and_hand_back(console: TestClient, database: Database,
                                              relay: FakeRelay) -> None:
    csrf = await sign_in(console)
    handoff_id = await asyncio.to_thread(queue_alice, database)
    page = await (await console.get("/console")).text()
    assert f"/console/handoffs/{handoff_id}/claim" in page and "Alice" not in page  # minimised

    claimed = await post(console, f"/console/handoffs/{handoff_id}/claim", csrf)
    assert claimed.status == 200, await claimed.text()
    [joined] = relay.deliveries
    assert (joined["caller"], joined["kind"], joined["conversation_id"], joined["author"],
            joined["text"]) == ("console", "agent_message", ALICE_CONVERSATION, "Sam Patel",
                                "Sam Patel from the HR helpdesk team has joined the chat.")

    again = await post(console, f"/console/handoffs/{handoff_id}/claim", csrf)
    assert again.status == 409

    replied = await post(console, f"/console/handoffs/{handoff_id}/reply", csrf,
                         text="Hello Alice, let me look at your leave.")
    assert replied.status == 200
    assert {k: v for k, v in relay.deliveries[-1].items() if k != "id"} == {
        "caller": "console", "kind": "agent_message", "conversation_id": ALICE_CONVERSATION,
        "text": "Hello Alice, let me look at your leave.", "author": "Sam Patel"}
    noted = await post(console, f"/console/handoffs/{handoff_id}/note", csrf,
                       text="Carry-over was not applied")
    assert noted.status == 200
    assert "Carry-over" not in " ".join(relay.texts())  # notes never reach the employee

    page = await (await console.get(f"/console/handoffs/{handoff_id}")).text()
    assert "Alice Hughes" in page and "E1001" in page and "Carry-over was not applied" in page

    back = await post(console, f"/console/handoffs/{handoff_id}/handback", csrf)
    assert back.status == 200
    # the hand-back (resume, action_handoff_resume, the words, action_listen: Rasa's side), then
    # the satisfaction survey's offer
    assert relay.kinds()[-2:] == ["hand_back", "satisfaction_offer"]
    assert relay.deliveries[-2]["text"].startswith("Sam Patel has handed")
    assert relay.refused == []
    with database.unit_of_work() as session:
        handoff = session.get_one(Handoff, handoff_id)
        assert handoff.status is HandoffStatus.RESUMED and handoff.open_conversation_id is None
        audits = session.scalars(select(AuditEvent.action).where(
            AuditEvent.actor_principal == "console:helpdesk:sam.hr",
            AuditEvent.record_type == "handoff")).all()
    assert {"claim", "reply", "note", "read", "end"} <= set(audits)


async def test_a_failed_delivery_is_reported_and_the_handoff_stays(
        console: TestClient, database: Database, relay: FakeRelay) -> None:
    csrf = await sign_in(console)
    handoff_id = await asyncio.to_thread(queue_alice, database)
    await post(console, f"/console/handoffs/{handoff_id}/claim", csrf)
    relay.status = 503  # not delivered, nothing saved
    replied = await post(console, f"/console/handoffs/{handoff_id}/reply", csrf, text="Hello")
    assert replied.status == 502
    back = await post(console, f"/console/handoffs/{handoff_id}/handback", csrf)
    assert back.status == 502
    with database.unit_of_work() as session:
        assert session.get_one(Handoff, handoff_id).status is HandoffStatus.ASSIGNED
        entry = session.scalar(select(HandoffEntry).where(HandoffEntry.kind == "agent"))
        assert entry.delivery_failed


async def test_only_the_assignee_replies_and_other_skills_cannot_claim(
        console: TestClient, database: Database, aiohttp_client: Callable[..., Any]) -> None:
    csrf = await sign_in(console)
    handoff_id = await asyncio.to_thread(queue_alice, database)
    other = await aiohttp_client(console.app)
    other_csrf = await sign_in(other, "pat.pay")
    refused = await post(other, f"/console/handoffs/{handoff_id}/claim", other_csrf)
    assert refused.status == 403
    await post(console, f"/console/handoffs/{handoff_id}/claim", csrf)
    reply = await post(other, f"/console/handoffs/{handoff_id}/reply", other_csrf, text="hi")
    assert reply.status == 403


async def test_transfer_and_convert_to_ticket(console: TestClient, database: Database,
                                              relay: FakeRelay,
                                              aiohttp_client: Callable[..., Any]) -> None:
    csrf = await sign_in(console)
    handoff_id = await asyncio.to_thread(queue_alice, database)
    await post(console, f"/console/handoffs/{handoff_id}/claim", csrf)
    moved = await post(console, f"/console/handoffs/{handoff_id}/transfer", csrf,
                       skill="payroll")
    assert moved.status == 200
    assert relay.kinds()[-1] == "notice"
    assert relay.texts()[-1].startswith("I'm passing your conversation to the payroll")
    payroll = await aiohttp_client(console.app)
    pay_csrf = await sign_in(payroll, "pat.pay")
    assert (await post(payroll, f"/console/handoffs/{handoff_id}/claim", pay_csrf)).status == 200
    converted = await post(payroll, f"/console/handoffs/{handoff_id}/ticket", pay_csrf,
                           category="payroll")
    assert converted.status == 200
    reference = (await converted.json())["reference"]
    assert reference.startswith("PAY-")
    assert relay.kinds()[-2:] == ["hand_back", "satisfaction_offer"]
    assert reference in relay.texts()[-1]
    with database.unit_of_work() as session:
        assert session.get_one(Handoff, handoff_id).ticket_reference == reference
        ticket = session.scalar(select(Ticket).where(Ticket.reference == reference))
        assert ticket.conversation_id == ALICE_CONVERSATION


# --- live: the tracker feed, the console streams, widget pushes ------------------------------

async def test_an_employee_message_reaches_the_open_console_within_two_seconds(
        console: TestClient, database: Database, tracker_db: str) -> None:
    csrf = await sign_in(console)
    handoff_id = await asyncio.to_thread(queue_alice, database, ServiceLine.HR, time.time() - 5)
    await post(console, f"/console/handoffs/{handoff_id}/claim", csrf)
    async with console.get(f"/console/handoffs/{handoff_id}/stream?after=0") as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        await read_events(stream, lambda event, _: event == "state")
        stored_at = time.monotonic()
        await asyncio.to_thread(add_tracker_event, tracker_db, ALICE_CONVERSATION,
                                "It says 2 days but I had 5 carried over", time.time())
        events = await read_events(
            stream, lambda event, data: event == "entry" and "carried over" in data["html"],
            timeout=2.0)
        assert time.monotonic() - stored_at < 2.0
    assert any("(employee)" in data["html"] for event, data in events if event == "entry")


async def test_the_queue_stream_shows_new_requests(console: TestClient,
                                                   database: Database) -> None:
    await sign_in(console)
    async with console.get("/console/stream") as stream:
        [(_, first)] = await read_events(stream, lambda event, _: event == "queue")
        assert first["waiting"] == 0
        await asyncio.to_thread(queue_alice, database)
        events = await read_events(stream, lambda event, data: event == "queue"
                                   and data["waiting"] == 1, timeout=3.0)
    assert "/claim" in events[-1][1]["html"]


def signed_push(body: dict[str, Any], secret: str = SECRET,
                timestamp: int | None = None) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    key = widget_push.push_key(secret)
    return raw, {"Content-Type": "application/json", "X-Helpdesk-Timestamp": stamp,
                 "X-Helpdesk-Signature": widget_push.signature(key, stamp, raw)}


async def test_a_signed_push_reaches_the_employees_open_chat(console: TestClient) -> None:
    console.session.cookie_jar.update_cookies(
        {"hd_session": session_tokens.mint(console.app[SETTINGS], "alice.hughes")})
    async with console.get("/api/events") as stream:
        assert stream.status == 200
        raw, headers = signed_push({"id": uuid.uuid4().hex, "recipient_id": ALICE_CONVERSATION,
                                    "message": {"text": "Hello from Sam", "author": "Sam Patel",
                                                "recipient_id": "dropped"}})
        assert (await console.post("/internal/widget/push", data=raw,
                                   headers=headers)).status == 200
        again = await console.post("/internal/widget/push", data=raw, headers=headers)
        assert (await again.json()) == {"stored": False}  # a replay is stored once
        [(event, data)] = await read_events(stream, lambda event, _: event == "message",
                                            timeout=2.0)
    assert data == {"text": "Hello from Sam", "author": "Sam Patel"}


async def test_another_employees_stream_gets_nothing(console: TestClient,
                                                     database: Database) -> None:
    console.session.cookie_jar.update_cookies(
        {"hd_session": session_tokens.mint(console.app[SETTINGS], "ben.okafor")})
    raw, headers = signed_push({"id": uuid.uuid4().hex, "recipient_id": ALICE_CONVERSATION,
                                "message": {"text": "for Alice only"}})
    async with console.get("/api/events", headers={"Last-Event-ID": "0"}) as stream:
        await console.post("/internal/widget/push", data=raw, headers=headers)
        with pytest.raises(TimeoutError):
            await read_events(stream, lambda event, _: event == "message", timeout=1.5)


@pytest.mark.parametrize("case", ["unsigned", "wrong key", "stale", "tampered"])
async def test_unsigned_or_forged_pushes_are_refused(console: TestClient, case: str) -> None:
    body = {"id": uuid.uuid4().hex, "recipient_id": ALICE_CONVERSATION,
            "message": {"text": "forged"}}
    if case == "unsigned":
        raw, headers = json.dumps(body).encode(), {"Content-Type": "application/json"}
    elif case == "wrong key":
        raw, headers = signed_push(body, secret="another-secret-" + "y" * 40)
    elif case == "stale":
        raw, headers = signed_push(body, timestamp=int(time.time()) - 600)
    else:
        raw, headers = signed_push(body)
        raw = raw.replace(b"forged", b"FORGED")
    response = await console.post("/internal/widget/push", data=raw, headers=headers)
    assert response.status == 401
    stored = widget_push.messages_after(console.app[DATABASE], ALICE_CONVERSATION, 0)
    assert not [m for _, m in stored if m.get("text", "").lower() == "forged"]


async def test_the_widget_event_stream_needs_a_session(console: TestClient) -> None:
    assert (await console.get("/api/events")).status == 401


def test_push_signature_matches_the_connectors_golden_vector() -> None:
    """The same vector is checked on the Rasa side (tests/connectors/test_widget_push.py)."""
    key = widget_push.push_key("s" * 48)
    assert widget_push.signature(key, "1700000000", b"{}") == (
        "v1=2ba08b64a10a63acbad2ed94f58d1a5690046481baea7863db3a103e892be97f")


def test_widget_conversation_id_matches_the_connector() -> None:
    from connectors.principal import conversation_id  # no Rasa import in that module

    assert widget_push.widget_conversation_id("issuer", "alice") == conversation_id(
        "widget", "issuer", "alice")

