"""Fixtures of the web app tests: a demo database per module, a fake Rasa, a test client."""
from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import json
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from aiohttp.test_utils import TestClient

from bot.config import Settings
from bot.demo.organisation import seed_organisation
from bot.storage.database import Database
from bot.storage.migrate import upgrade
from bot.web.app import create_app

SECRET = "test-widget-secret-" + "0123456789abcdef" * 3  # 67 characters
AGENT_PASSWORD = "correct horse battery staple"  # the console test agents' password


async def console_sign_in(client: TestClient, username: str = "sam.hr",
                          page: str = "/console") -> str:
    """Sign an agent in to the console; the session's CSRF token, read from `page`."""
    response = await client.post("/console/signin", data={"username": username,
                                                          "password": AGENT_PASSWORD},
                                 allow_redirects=False)
    assert response.status == 303, await response.text()
    html = await (await client.get(page)).text()
    return html.split('name="csrf-token" content="', 1)[1].split('"', 1)[0]
OTHER_SECRET = "another-widget-secret-" + "fedcba9876543210" * 3

DEMO_SUBJECTS = ("chloe.singh", "alice.hughes", "ben.okafor", "daniel.evans", "fatima.rahman")
DEMO_NAMES = ("Chloe Singh", "Alice Hughes", "Ben Okafor", "Daniel Evans", "Fatima Rahman")

DEFAULT_REPLY: list[dict[str, Any]] = [
    {"recipient_id": "alice.hughes", "text": "You have 12.5 days of annual leave left."},
    {
        "recipient_id": "alice.hughes",
        "text": "Anything else?",
        "buttons": [
            {"title": "Book leave", "payload": "/book_leave"},
            {"title": "No, thanks", "payload": "/goodbye"},
        ],
    },
]


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    """A migrated SQLite database holding the demo organisation, shared by one test module."""
    url = f"sqlite:///{tmp_path_factory.mktemp('web') / 'helpdesk.db'}"
    upgrade(url)
    db = Database(url)
    with db.unit_of_work() as session:
        seed_organisation(session, dt.date.today())
    yield db
    db.dispose()


class FakeRasa:
    """Stands in for Rasa's widget channel; records what it received, answers what it is told."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.status = 200
        self.reply: Any = DEFAULT_REPLY
        self.root_status = 200
        self.url = ""

    # Like connectors/widget.py: bodies over 16 KiB are refused.
    max_body_bytes = 16 * 1024

    async def webhook(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.calls.append({
            "authorization": request.headers.get("Authorization"),
            "content_type": request.content_type,
            "body": json.loads(raw),
            "body_bytes": len(raw),
            "cookie": request.headers.get("Cookie"),
        })
        if len(raw) > self.max_body_bytes:
            return web.json_response({"error": "message too large"}, status=413)
        if self.status != 200:
            return web.json_response({"error": "refused"}, status=self.status)
        return web.json_response(self.reply)

    async def root(self, _request: web.Request) -> web.Response:
        return web.Response(text="Hello from Rasa: 3.6.21", status=self.root_status)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/widget/webhook", self.webhook)
        app.router.add_get("/", self.root)
        return app


@pytest_asyncio.fixture
async def fake_rasa(aiohttp_server: Callable[..., Any]) -> FakeRasa:
    fake = FakeRasa()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("/")).rstrip("/")
    return fake


@pytest.fixture
def closed_port_url() -> Iterator[str]:
    """The URL of a local port that is bound but not listening: connections are refused."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        sock.close()


@pytest.fixture
def make_settings(database: Database) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        base = Settings(
            database_url=database.url,
            widget_token_secret=SECRET,
            dev_signin_enabled=True,
            rasa_url="http://127.0.0.1:9",
        )
        return dataclasses.replace(base, **overrides)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings], fake_rasa: FakeRasa) -> Settings:
    return make_settings(rasa_url=fake_rasa.url)


@pytest_asyncio.fixture
async def client(aiohttp_client: Callable[..., Any], settings: Settings,
                 database: Database) -> TestClient:
    return await aiohttp_client(create_app(settings, database))


@pytest.fixture
def make_client(aiohttp_client: Callable[..., Any], database: Database):
    """Build a client for an app with other settings: `await make_client(settings, **kwargs)`."""

    async def make(settings: Settings, **kwargs: Any) -> TestClient:
        return await aiohttp_client(create_app(settings, database, **kwargs))

    return make


def b64url(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def cookie_header(token: str) -> dict[str, str]:
    return {"Cookie": f"hd_session={token}"}


@pytest.fixture(autouse=True)
def fresh_signin_throttles(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test starts with no sign-in attempts counted: the module's database is shared, and
    every test client signs in from 127.0.0.1 (the throttles are tested on their own)."""
    yield
    if "database" in request.fixturenames:
        from bot.handoff.models import SigninThrottle
        with request.getfixturevalue("database").unit_of_work() as session:
            session.query(SigninThrottle).delete()


@pytest.fixture(autouse=True)
def short_rasa_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The web app sends a message that failed on the way again for 15 s before it answers
    "try again"; here for under a second (still at least one retry), so a test of Rasa being
    down takes no 15 s. tests/web/test_messages.py tests the retries themselves."""
    from bot.web import api

    monkeypatch.setattr(api, "RETRY_SECONDS", 0.6)
