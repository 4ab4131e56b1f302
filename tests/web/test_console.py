"""The agent console in the web app: sign-in, CSRF, claim, reply, note, transfer, hand back,
ticket; the live streams; Rasa's signed widget pushes; the tracker-store feed.

Rasa's HTTP API is a local fake that records what it is sent (and checks the JWT); Rasa's
tracker store is a SQLite file with Rasa 3.6's `events` table.
"""
from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient
from sqlalchemy import create_engine, insert, select

from bot.config import Settings
from bot.demo_data import DEMO_WIDGET_ISSUER
from bot.handoff import accounts, queue, widget_push
from bot.handoff.feed import tracker_events
from bot.handoff.models import Handoff, HandoffEntry, HandoffReason, HandoffStatus
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import AuditEvent
from bot.tickets.models import ServiceLine, Ticket
from bot.web import session_tokens
from bot.web.app import create_app
from bot.web.keys import DATABASE, SETTINGS

from .conftest import AGENT_PASSWORD as PASSWORD
from .conftest import SECRET, console_sign_in

JWT_SECRET = "rasa-jwt-secret-for-console-tests-" + "x" * 16
ALICE = Principal("widget", DEMO_WIDGET_ISSUER, "alice.hughes")
ALICE_CONVERSATION = widget_push.widget_conversation_id(DEMO_WIDGET_ISSUER, "alice.hughes")


class FakeRasaApi:
    """Rasa's `POST /conversations/{id}/tracker/events`: records calls, checks the JWT."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.status = 200
        self.appended = asyncio.Event()

    async def append(self, request: web.Request) -> web.Response:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"])
        except jwt.PyJWTError:
            return web.json_response({"error": "unauthorised"}, status=401)
        self.calls.append({"conversation": request.match_info["conversation_id"],
                           "query": dict(request.query), "events": await request.json(),
                           "role": claims["user"]["role"]})
        self.appended.set()
        return web.json_response({}, status=self.status)

    def texts(self) -> list[str]:
        return [e["text"] for call in self.calls for e in call["events"] if e["event"] == "bot"]


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
async def rasa_api(aiohttp_server: Callable[..., Any]) -> FakeRasaApi:
    fake = FakeRasaApi()
    app = web.Application()
    app.router.add_post("/conversations/{conversation_id}/tracker/events", fake.append)
    server = await aiohttp_server(app)
    fake.url = str(server.make_url("/")).rstrip("/")  # type: ignore[attr-defined]
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
async def console(aiohttp_client: Callable[..., Any], database: Database, rasa_api: FakeRasaApi,
                  tracker_db: str, agents: dict[str, str]) -> AsyncIterator[TestClient]:
    settings = Settings(database_url=database.url, widget_token_secret=SECRET,
                        dev_signin_enabled=False, rasa_url=rasa_api.url,  # type: ignore
                        rasa_jwt_secret=JWT_SECRET, tracker_store_url=tracker_db)
    client = await aiohttp_client(create_app(settings, database))
    yield client


async def sign_in(client: TestClient, username: str = "sam.hr") -> str:
    return await console_sign_in(client, username)


def queue_alice(database: Database, skill: ServiceLine = ServiceLine.HR,
                since: float = 0.0) -> int:
    place = queue.request_handoff(database, ALICE, queue.NewHandoff(
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
                                              rasa_api: FakeRasaApi) -> None:
    csrf = await sign_in(console)
    handoff_id = await asyncio.to_thread(queue_alice, database)
    page = await (await console.get("/console")).text()
    assert f"/console/handoffs/{handoff_id}/claim" in page and "Alice" not in page  # minimised

    claimed = await post(console, f"/console/handoffs/{handoff_id}/claim", csrf)
    assert claimed.status == 200, await claimed.text()
    assert rasa_api.texts() == ["Sam Patel from the HR helpdesk team has joined the chat."]
    call = rasa_api.calls[-1]
    assert call["conversation"] == ALICE_CONVERSATION and call["role"] == "admin"
    assert call["query"]["output_channel"] == "latest"
    assert call["query"]["execute_side_effects"] == "true"

    again = await post(console, f"/console/handoffs/{handoff_id}/claim", csrf)
    assert again.status == 409

    replied = await post(console, f"/console/handoffs/{handoff_id}/reply", csrf,
                         text="Hello Alice, let me look at your leave.")
    assert replied.status == 200
    assert rasa_api.calls[-1]["events"] == [{
        "event": "bot", "text": "Hello Alice, let me look at your leave.",
        "metadata": {"handoff_author": "Sam Patel"}}]
    noted = await post(console, f"/console/handoffs/{handoff_id}/note", csrf,
                       text="Carry-over was not applied")
    assert noted.status == 200
    assert "Carry-over" not in " ".join(rasa_api.texts())  # notes never reach the employee

    page = await (await console.get(f"/console/handoffs/{handoff_id}")).text()
    assert "Alice Hughes" in page and "E1001" in page and "Carry-over was not applied" in page

    back = await post(console, f"/console/handoffs/{handoff_id}/handback", csrf)
    assert back.status == 200
    events = rasa_api.calls[-1]["events"]
    assert [e["event"] for e in events] == ["resume", "action", "bot", "action"]
    assert events[1]["name"] == "action_handoff_resume"
    assert events[3]["name"] == "action_listen"
    with database.unit_of_work() as session:
        handoff = session.get_one(Handoff, handoff_id)
        assert handoff.status is HandoffStatus.RESUMED and handoff.open_conversation_id is None
        audits = session.scalars(select(AuditEvent.action).where(
            AuditEvent.actor_principal == "console:helpdesk:sam.hr",
            AuditEvent.record_type == "handoff")).all()
    assert {"claim", "reply", "note", "read", "end"} <= set(audits)


async def test_a_failed_delivery_is_reported_and_the_handoff_stays(
        console: TestClient, database: Database, rasa_api: FakeRasaApi) -> None:
    csrf = await sign_in(console)
    handoff_id = await asyncio.to_thread(queue_alice, database)
    await post(console, f"/console/handoffs/{handoff_id}/claim", csrf)
    rasa_api.status = 500
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
                                              rasa_api: FakeRasaApi,
                                              aiohttp_client: Callable[..., Any]) -> None:
    csrf = await sign_in(console)
    handoff_id = await asyncio.to_thread(queue_alice, database)
    await post(console, f"/console/handoffs/{handoff_id}/claim", csrf)
    moved = await post(console, f"/console/handoffs/{handoff_id}/transfer", csrf,
                       skill="payroll")
    assert moved.status == 200
    assert rasa_api.texts()[-1].startswith("I'm passing your conversation to the payroll")
    payroll = await aiohttp_client(console.app)
    pay_csrf = await sign_in(payroll, "pat.pay")
    assert (await post(payroll, f"/console/handoffs/{handoff_id}/claim", pay_csrf)).status == 200
    converted = await post(payroll, f"/console/handoffs/{handoff_id}/ticket", pay_csrf,
                           category="payroll")
    assert converted.status == 200
    reference = (await converted.json())["reference"]
    assert reference.startswith("PAY-")
    assert rasa_api.calls[-1]["events"][0] == {"event": "resume"}
    assert reference in rasa_api.texts()[-1]
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

