"""Every HTTP endpoint of the web app answers any input with less than 500 and no stack trace.

One in-process web app (its own demo database, a fake Rasa behind it) receives requests that
Hypothesis generates for each route: paths, queries, headers of any characters, Content-Types
with unknown charsets, bodies of any bytes, encodings, sizes and JSON nesting (strategies.py).
About half carry the server's own credentials (a live agent session with its CSRF token, a
widget session cookie, a correctly signed widget push), so the generated bodies reach the
handlers behind each check, not only the first refusal. Every answer must be below 500 with no
traceback in its body, and no log record may carry an exception (aiohttp logs unhandled ones
with their stack). `HELPDESK_FUZZ_SCALE` multiplies the number of requests (default 1).
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import os
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from bot.config import Settings
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.demo.organisation import seed_organisation
from bot.handoff import accounts, requester, widget_push
from bot.handoff.enums import HandoffReason
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.migrate import upgrade
from bot.tickets.categories import ServiceLine
from bot.tickets.models import Ticket
from bot.tickets.requester import NewTicket, raise_ticket
from bot.tickets.sla import policy_from_settings
from bot.web import session_tokens
from bot.web.app import create_app
from tests.entra_fake import CLIENT_ID as ENTRA_CLIENT
from tests.entra_fake import CLIENT_SECRET as ENTRA_SECRET
from tests.entra_fake import TENANT_ID as ENTRA_TENANT
from tests.entra_fake import FakeEntra, write_certificates

from .strategies import FuzzRequest, bodies, free_headers, path_segment, query_string

SECRET = "fuzz-widget-secret-" + "0123456789abcdef" * 3
RELAY_CONSOLE_KEY = "fuzz-relay-console-key-" + "x" * 32
PASSWORD = "fuzz agent password 1"
SCALE = float(os.environ.get("HELPDESK_FUZZ_SCALE", "1"))
PER_DRAW = 5  # requests made from each generated example
EXAMPLES = {"pages": int(700 * SCALE), "console": int(1300 * SCALE),
            "machine": int(820 * SCALE)}  # x PER_DRAW: 14,100 requests
ALICE = Principal("widget", DEMO_WIDGET_ISSUER, "alice.hughes")
STREAM_TYPES = ("text/event-stream",)
HANDOFF_COMMANDS = ("claim", "reply", "note", "transfer", "hand_back", "convert", "end")
TICKET_COMMANDS = ("status", "assign", "priority", "comment")
SENT: Counter[str] = Counter()


class FakeRasa:
    """Rasa as the web app sees it: the widget channel, the relay and the channel routes."""

    async def answer(self, request: web.Request) -> web.Response:
        await request.read()
        if request.path == "/webhooks/widget/webhook":
            return web.json_response([{"recipient_id": "x", "text": "Hello."}])
        return web.json_response({})

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.answer)
        return app


class Harness:
    """The web app on a loop of its own; `send` runs one request to completion."""

    def __init__(self, db: Database, tmp: Any) -> None:
        self.db = db
        self.loop = asyncio.new_event_loop()
        self.rasa = TestServer(FakeRasa().app(), loop=self.loop)
        self.loop.run_until_complete(self.rasa.start_server())
        rasa_url = str(self.rasa.make_url("")).rstrip("/")
        # Sign-in with Entra ID on, against the local fake (tests/entra_fake.py).
        self.entra = FakeEntra()
        self.entra.add_user("alice", "11111111-aaaa-4bbb-8ccc-000000000001", "Alice Hughes")
        certificates = write_certificates(tmp / "entra-tls")
        self.loop.run_until_complete(self.entra.start(certificates))
        self.settings = Settings(database_url=db.url, widget_token_secret=SECRET,
                                 dev_signin_enabled=True, rasa_url=rasa_url,
                                 relay_console_key=RELAY_CONSOLE_KEY,
                                 tracker_store_url=f"sqlite:///{tmp / 'tracker.db'}",
                                 entra_tenant_id=ENTRA_TENANT, entra_client_id=ENTRA_CLIENT,
                                 entra_client_secret=ENTRA_SECRET,
                                 entra_authority_host=self.entra.base_url,
                                 entra_redirect_uri="https://helpdesk.test/auth/callback",
                                 entra_ca_bundle=str(certificates[0]))
        self.server = TestServer(create_app(self.settings, db), loop=self.loop)
        self.loop.run_until_complete(self.server.start_server())
        self.base = str(self.server.make_url("")).rstrip("/")
        self.http = self.loop.run_until_complete(self._session())
        self.widget_cookie = session_tokens.mint(self.settings, "alice.hughes")
        self.push_key = widget_push.push_key(SECRET)
        self.agent_token = self.csrf = ""
        self.sign_in()

    async def _session(self) -> aiohttp.ClientSession:
        return aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(),
                                     timeout=aiohttp.ClientTimeout(total=60))

    def sign_in(self) -> None:
        signed = accounts.sign_in(self.db, "fuzz.agent", PASSWORD, allow_demo=False)
        self.agent_token, self.csrf = signed.token, signed.csrf_token

    def close(self) -> None:
        self.loop.run_until_complete(self.http.close())
        self.loop.run_until_complete(self.server.close())
        self.loop.run_until_complete(self.rasa.close())
        self.loop.run_until_complete(self.entra.stop())
        self.loop.close()

    def credentials(self, request: FuzzRequest) -> dict[str, str]:
        headers: dict[str, str] = {}
        if request.authenticated:
            headers["Cookie"] = f"hd_agent={self.agent_token}; hd_session={self.widget_cookie}"
            headers["Origin"] = self.base
            headers.setdefault("X-CSRF-Token", self.csrf)
        if request.signed:
            timestamp = str(int(time.time()))
            headers[widget_push.TIMESTAMP_HEADER] = timestamp
            headers[widget_push.SIGNATURE_HEADER] = widget_push.signature(
                self.push_key, timestamp, request.body)
        return headers

    def send(self, request: FuzzRequest) -> tuple[int, str]:
        headers = {**request.headers, **self.credentials(request)}
        if request.authenticated and "X-CSRF-Token" in request.headers:
            headers["X-CSRF-Token"] = request.headers["X-CSRF-Token"]  # fuzz the token itself
        status, text = self.loop.run_until_complete(self._send(request, headers))
        SENT[request.path.split("?")[0].rsplit("/", 1)[0] or "/"] += 1
        if request.path.startswith(("/console/signout", "/signout")):
            self.sign_in()  # a fuzzed sign-out may have ended the agent's session
            self.widget_cookie = session_tokens.mint(self.settings, "alice.hughes")  # or the
            # employee's (signed-out tokens are refused from then on)
        return status, text

    async def _send(self, request: FuzzRequest, headers: dict[str, str]) -> tuple[int, str]:
        url = aiohttp.client.URL(self.base + request.path, encoded=True)
        async with self.http.request(request.method, url, data=request.body or None,
                                     headers=headers, allow_redirects=False,
                                     skip_auto_headers=("Content-Type",)) as response:
            if response.content_type in STREAM_TYPES:
                return response.status, ""  # a live stream: its status is the answer
            return response.status, await response.text(errors="replace")


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Harness]:
    tmp = tmp_path_factory.mktemp("fuzz-web")
    url = f"sqlite:///{tmp / 'helpdesk.db'}"
    upgrade(url)
    db = Database(url)
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    saved = accounts._hasher, accounts._DUMMY_HASH
    accounts._hasher, accounts._DUMMY_HASH = cheap, cheap.hash("dummy")  # 64 MiB per try is
    # the production cost; the fuzz suite sends thousands of sign-ins
    with db.unit_of_work() as session:
        seed_organisation(session, dt.date.today())
        accounts.create_agent(session, "fuzz.agent", "Fuzz Agent", PASSWORD,
                              "hr,payroll,pensions,finance,access", roles="admin")
    for word in ("one", "two"):
        raise_ticket(db, ALICE, NewTicket(ServiceLine.HR, f"Fuzz ticket {word} about my pay.",
                                          conversation_id=f"conv-{word}", channel="widget"),
                     policy_from_settings(Settings()))
    requester.request_handoff(db, ALICE, requester.NewHandoff(
        widget_push.widget_conversation_id(DEMO_WIDGET_ISSUER, "alice.hughes"),
        ServiceLine.HR, HandoffReason.REQUESTED, "Fuzz handoff.", 0.0))
    running = Harness(db, tmp)
    yield running
    running.close()
    accounts._hasher, accounts._DUMMY_HASH = saved
    db.dispose()


@pytest.fixture
def clean_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO)
    return caplog


def check(harness: Harness, request: FuzzRequest, caplog: pytest.LogCaptureFixture) -> None:
    caplog.clear()
    status, text = harness.send(request)
    assert status < 500, (status, request.method, request.path, request.headers, text[:300])
    assert "Traceback" not in text and "File \"" not in text, (request.path, text[:300])
    traced = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
    assert not traced, (request.method, request.path, traced[0].getMessage())


def ids(harness: Harness) -> tuple[list[str], list[str]]:
    with harness.db.unit_of_work() as session:
        references = list(session.scalars(select(Ticket.reference)))
    return ["1", "2"], references


# --- the employee's pages and API -----------------------------------------------------------

PAGE_ROUTES = (("GET", "/"), ("GET", "/signin"), ("POST", "/signin"), ("POST", "/signout"),
               ("GET", "/chat"), ("POST", "/api/messages"), ("GET", "/healthz"),
               ("GET", "/api/events"), ("GET", "/static/chat.js"), ("GET", "/static/{x}"),
               ("GET", "/auth/signin"), ("GET", "/auth/callback"), ("POST", "/auth/callback"),
               ("GET", "/console/auth/signin"), ("GET", "/widget"), ("GET", "/api/history"),
               ("GET", "/queries"), ("GET", "/queries/{x}"), ("POST", "/queries/{x}/comment"),
               ("POST", "/queries/{x}/close"), ("POST", "/queries/{x}/reopen"),
               ("POST", "/queries/email"), ("POST", "/api/seen"),
               ("GET", "/{x}"), ("PUT", "/api/messages"), ("DELETE", "/chat"))


@st.composite
def page_requests(draw: st.DrawFn) -> list[FuzzRequest]:
    """One generated body, header set and query, sent to several routes (generating costs more
    than sending, so each draw is used PER_DRAW times)."""
    routes = draw(st.lists(st.sampled_from(PAGE_ROUTES), min_size=PER_DRAW, max_size=PER_DRAW))
    segment = draw(path_segment(["chat.js", "..%2f..%2fetc%2fpasswd"]))
    body, content_type = draw(bodies())
    headers = draw(free_headers(("Origin", "Accept", "Last-Event-ID", "Cookie", "Referer")))
    if content_type is not None:
        headers["Content-Type"] = content_type
    query = draw(query_string())
    authenticated = draw(st.booleans())
    return [FuzzRequest(method, template.replace("{x}", segment) + (f"?{query}" if query else ""),
                        headers, body if method != "GET" else b"", authenticated=authenticated)
            for method, template in routes]


def test_the_employee_pages_and_api_never_answer_5xx(harness: Harness,
                                                     clean_logs: pytest.LogCaptureFixture) -> None:
    before = sum(SENT.values())

    @settings(max_examples=EXAMPLES["pages"], deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(page_requests())
    def run(requests: list[FuzzRequest]) -> None:
        for request in requests:
            check(harness, request, clean_logs)

    run()
    assert sum(SENT.values()) - before >= EXAMPLES["pages"] * PER_DRAW


# --- the agent console --------------------------------------------------------------------------

@st.composite
def console_requests(draw: st.DrawFn, handoffs: list[str],
                     tickets: list[str]) -> list[FuzzRequest]:
    """One generated body, header set, query and ids, sent to PER_DRAW console routes."""
    body, content_type = draw(bodies())
    headers = draw(free_headers(("X-CSRF-Token", "Accept", "Last-Event-ID", "Origin")))
    if content_type is not None:
        headers["Content-Type"] = content_type
    if draw(st.booleans()):
        headers["Accept"] = "application/json"
    query = draw(query_string())
    handoff, ticket = draw(path_segment(handoffs)), draw(path_segment(tickets))
    authenticated = draw(st.integers(0, 3)) > 0
    requests = []
    for _ in range(PER_DRAW):
        method, path = draw(console_route())
        path = path.replace("{h}", handoff).replace("{t}", ticket)
        requests.append(FuzzRequest(method, path + (f"?{query}" if query else ""), headers,
                                    body if method == "POST" else b"",
                                    authenticated=authenticated))
    return requests


@st.composite
def console_route(draw: st.DrawFn) -> tuple[str, str]:
    kind = draw(st.sampled_from(["signin", "page", "handoff", "ticket", "stream", "signout"]))
    method = "POST"
    if kind == "signin":
        method, path = draw(st.sampled_from([("GET", "/console/signin"),
                                             ("POST", "/console/signin")]))
    elif kind == "page":
        method = "GET"
        path = draw(st.sampled_from(["/console", "/console/tickets",
                                     "/console/tickets/{t}", "/console/handoffs/{h}"]))
    elif kind == "handoff":
        path = "/console/handoffs/{h}/" + draw(st.sampled_from(HANDOFF_COMMANDS))
    elif kind == "ticket":
        path = "/console/tickets/{t}/" + draw(st.sampled_from(TICKET_COMMANDS))
    elif kind == "stream":
        method = "GET"
        path = draw(st.sampled_from(["/console/stream", "/console/handoffs/{h}/stream"]))
    else:
        path = "/console/signout"
    return method, path


def test_the_console_never_answers_5xx(harness: Harness,
                                       clean_logs: pytest.LogCaptureFixture) -> None:
    handoffs, tickets = ids(harness)
    before = sum(SENT.values())

    @settings(max_examples=EXAMPLES["console"], deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(console_requests(handoffs, tickets))
    def run(requests: list[FuzzRequest]) -> None:
        for request in requests:
            check(harness, request, clean_logs)

    run()
    assert sum(SENT.values()) - before >= EXAMPLES["console"] * PER_DRAW


# --- machine-to-machine: Rasa's widget pushes, the Teams and Slack relays ----------------------

MACHINE_ROUTES = ("/internal/widget/push", "/webhooks/msteams/webhook", "/webhooks/slack/webhook",
                  "/webhooks/widget/webhook", "/conversations/x/tracker/events",
                  "/webhooks/relay/console")


@st.composite
def machine_requests(draw: st.DrawFn) -> list[FuzzRequest]:
    """One generated body and header set, sent to PER_DRAW machine routes (the push twice when
    drawn: signed and unsigned)."""
    body, content_type = draw(bodies(limit=256 * 1024))
    if draw(st.booleans()):
        # A well-formed push with fuzzed parts, correctly signed: reaches parse and store.
        body = draw(st.builds(
            lambda push_id, recipient, text: (
                '{"id": %s, "recipient_id": %s, "message": {"text": %s}}'
                % (push_id, recipient, text)).encode("utf-8", "replace"),
            st.sampled_from(['"p1"', '"' + "a" * 65 + '"', "1", "null", '"é"']),
            st.sampled_from(['"widget-abc"', '""', "[]", '"' + "x" * 300 + '"']),
            st.sampled_from(['"hello"', '""', "{}", '"' + "y" * 40000 + '"'])))
    headers = draw(free_headers((widget_push.TIMESTAMP_HEADER, widget_push.SIGNATURE_HEADER,
                                 "Authorization", "X-Slack-Signature",
                                 "X-Slack-Request-Timestamp", "X-Slack-Retry-Num")))
    if content_type is not None:
        headers["Content-Type"] = content_type
    paths = draw(st.lists(st.sampled_from(MACHINE_ROUTES), min_size=PER_DRAW,
                          max_size=PER_DRAW))
    return [FuzzRequest("POST", path, headers, body,
                        signed=path == "/internal/widget/push" and index % 2 == 0)
            for index, path in enumerate(paths)]


def test_the_machine_endpoints_never_answer_5xx(harness: Harness,
                                                clean_logs: pytest.LogCaptureFixture) -> None:
    before = sum(SENT.values())

    @settings(max_examples=EXAMPLES["machine"], deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(machine_requests())
    def run(requests: list[FuzzRequest]) -> None:
        for request in requests:
            check(harness, request, clean_logs)

    run()
    assert sum(SENT.values()) - before >= EXAMPLES["machine"] * PER_DRAW
