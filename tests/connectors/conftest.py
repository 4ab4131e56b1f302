"""One real Sanic server, in a background thread, carrying the channels under test.

Sanic 21.12 optimises its HTTP protocol class once per process at start-up ("touch-up"),
so a single app serves the whole session (a second app in the same process fails to start);
each test starts with an empty recording agent. The Teams and Slack channels talk to local
fakes of the platforms (fakes.py); a disabled copy of each (no credentials) is mounted too,
under its own prefix. The widget pushes to the fakes' stand-in for the web app; the relay
channel (connectors/relay.py) is mounted with a key per caller.

Tests that need Rasa itself behind the channels (the trained model, its processor, tracker
and lock stores) set `model_agent`, loaded once per session, as the recording agent's
delegate: `app.ctx.agent` then answers as that real Agent does.
"""
from __future__ import annotations

import asyncio
import socket
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
from sanic import Sanic
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from connectors.dedup import InMemoryStore
from connectors.relay import RelayInput
from connectors.slack import SlackInput
from connectors.teams import TeamsInput
from connectors.teams_auth import OpenIdKeys
from connectors.teams_client import BotConnector, JsonFetcher, MsalTokenSource
from connectors.widget import WidgetInput
from rasa.core.channels.channel import UserMessage, register

from . import fakes

SECRET = "s" * 48
PRINCIPAL_KEY = b"principal-key-for-connector-tests-" + b"k" * 16
RELAY_KEYS = {caller: f"relay-{caller}-key-for-connector-tests-".encode() + bytes([65 + n]) * 8
              for n, caller in enumerate(("console", "tickets", "records"))}
ROOT = Path(__file__).resolve().parents[2]


def signed_principal(message: UserMessage) -> Dict[str, Any]:
    """The message's principal, after checking the channel signed it for this very message."""
    from connectors.principal import proof_payload
    import hashlib
    import hmac
    proof = message.metadata["principal_proof"]
    payload = proof_payload(message.metadata["principal"], message.sender_id,
                            message.message_id, message.text, proof["iat"])
    assert proof["mac"] == hmac.new(PRINCIPAL_KEY, payload, hashlib.sha256).hexdigest()
    assert set(message.metadata) == {"principal", "principal_proof"}
    return message.metadata["principal"]
ISSUER, AUDIENCE = "helpdesk-intranet", "helpdesk-widget"


@dataclass
class RecordingAgent:
    """Stands in for rasa's Agent: records each message and answers with one line."""

    messages: List[UserMessage] = field(default_factory=list)
    # A real rasa Agent, for the tests that run the trained model behind the channels.
    delegate: Any = None

    def is_ready(self) -> bool:
        return self.delegate is not None and self.delegate.is_ready()

    def __getattr__(self, name: str) -> Any:
        """Anything else (lock_store, tracker_store, processor, domain, execute_action...)
        is the real Agent's, when one is set."""
        delegate = self.__dict__.get("delegate")
        if delegate is None or name.startswith("__"):
            raise AttributeError(name)
        return getattr(delegate, name)

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        if self.delegate is not None:
            await self.delegate.handle_message(message)
            return
        await message.output_channel.send_text_message(message.sender_id, "reply")


class DisabledTeams(TeamsInput):
    def url_prefix(self) -> str:
        return "msteams_off"


class DisabledSlack(SlackInput):
    def url_prefix(self) -> str:
        return "slack_off"


class VectorSlack(SlackInput):
    """Slack's published signature example, with the clock at its timestamp."""

    def url_prefix(self) -> str:
        return "slack_vector"


@dataclass
class ChannelServer:
    base_url: str
    agent: RecordingAgent
    loop: asyncio.AbstractEventLoop | None = None
    teams: TeamsInput | None = None
    slack: SlackInput | None = None
    platforms: fakes.PlatformFakes | None = None
    msal_http: fakes.FakeMsalHttp | None = None
    relay: RelayInput | None = None

    def drain(self) -> None:
        """Wait until both channels finished every message they accepted (no sleeping)."""
        async def drain_all() -> None:
            await self.teams.drain()
            await self.slack.drain()

        asyncio.run_coroutine_threadsafe(drain_all(), self.loop).result(timeout=30)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def keys() -> fakes.Keys:
    return fakes.Keys()


@pytest.fixture(scope="session")
def platforms(keys: fakes.Keys) -> Iterator[fakes.PlatformFakes]:
    server = fakes.PlatformFakes(keys).start()
    yield server
    server.stop()


def teams_channel(platforms: fakes.PlatformFakes, msal_http: fakes.FakeMsalHttp) -> TeamsInput:
    return TeamsInput(
        app_id=fakes.APP_ID,
        tenant_id=fakes.TENANT_ID,
        keys=OpenIdKeys(platforms.metadata_url, JsonFetcher()),
        connector=BotConnector(MsalTokenSource(fakes.APP_ID, "app-password", fakes.TENANT_ID,
                                               http_client=msal_http)),
        store=InMemoryStore(),
        require_https_service_url=False,  # the fake Bot Connector listens on http://127.0.0.1
        principal_key=PRINCIPAL_KEY,
    )


def slack_channel(platforms: fakes.PlatformFakes) -> SlackInput:
    client = AsyncWebClient(token=fakes.SLACK_BOT_TOKEN, base_url=platforms.slack_api_url)
    return SlackInput(SignatureVerifier(fakes.SLACK_SIGNING_SECRET), client,
                      {fakes.SLACK_TEAM_ID}, InMemoryStore(), principal_key=PRINCIPAL_KEY)


@pytest.fixture(scope="session")
def channel_server(platforms: fakes.PlatformFakes) -> Iterator[ChannelServer]:
    app = Sanic("connector_tests")
    agent = RecordingAgent()
    app.ctx.agent = agent
    msal_http = fakes.FakeMsalHttp()
    teams, slack = teams_channel(platforms, msal_http), slack_channel(platforms)
    vector = VectorSlack(
        SignatureVerifier(fakes.VECTOR_SECRET,
                          clock=fakes.FixedClock(float(fakes.VECTOR_TIMESTAMP))),
        AsyncWebClient(token=fakes.SLACK_BOT_TOKEN, base_url=platforms.slack_api_url),
        {"T1DC2JH3J"}, InMemoryStore(), principal_key=PRINCIPAL_KEY)
    relay = RelayInput(RELAY_KEYS, InMemoryStore())
    register([WidgetInput(SECRET, ISSUER, AUDIENCE, push_url=platforms.push_url,
                          principal_key=PRINCIPAL_KEY), teams, slack,
              DisabledTeams.disabled(), DisabledSlack.disabled(), vector, relay],
             app, route="/webhooks/")
    port = _free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def start() -> None:
        server = await app.create_server(host="127.0.0.1", port=port,
                                         return_asyncio_server=True)
        await server.startup()
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()),
                                              loop.run_forever()), daemon=True)
    thread.start()
    assert ready.wait(timeout=30), "the channel test server did not start"
    yield ChannelServer(f"http://127.0.0.1:{port}/webhooks", agent, loop, teams, slack,
                        platforms, msal_http, relay)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)


@pytest.fixture
def server(channel_server: ChannelServer) -> ChannelServer:
    channel_server.agent.messages.clear()
    if channel_server.platforms is not None:
        channel_server.platforms.clear()
    return channel_server


Journal = List[Tuple[str, str]]


def recording_stores(journal: Journal, tracker_url: str) -> Tuple[Any, Any]:
    """Rasa's in-memory lock store and our tracker store, noting (in order) when each
    conversation's lock is taken and given back and when its tracker is saved."""
    from rasa.core.lock_store import InMemoryLockStore

    from rasa_runtime.tracker_store import CachingSQLTrackerStore

    class RecordingLockStore(InMemoryLockStore):
        async def _acquire_lock(self, conversation_id: str, ticket: int,
                                wait_time_in_seconds: float) -> Any:
            lock = await super()._acquire_lock(conversation_id, ticket, wait_time_in_seconds)
            journal.append(("locked", conversation_id))
            return lock

        def cleanup(self, conversation_id: str, ticket_number: int) -> None:
            journal.append(("unlocked", conversation_id))
            super().cleanup(conversation_id, ticket_number)

    class RecordingTrackerStore(CachingSQLTrackerStore):
        async def save(self, tracker: Any) -> None:
            journal.append(("saved", tracker.sender_id))
            await super().save(tracker)

    return RecordingLockStore(), RecordingTrackerStore(host=tracker_url)


@dataclass
class ModelAgent:
    """The trained model as Rasa runs it, with an SQLite tracker store of its own."""

    agent: Any
    tracker_db: Path
    journal: Journal

    def events(self, sender_id: str) -> List[Dict[str, Any]]:
        """What the tracker store holds for a conversation (every session), in order."""
        import json

        with sqlite3.connect(self.tracker_db) as connection:
            rows = connection.execute("SELECT data FROM events WHERE sender_id = ? ORDER BY id",
                                      (sender_id,)).fetchall()
        return [json.loads(data) for (data,) in rows]


@pytest.fixture(scope="session")
def model_agent(channel_server: ChannelServer,
                tmp_path_factory: pytest.TempPathFactory) -> ModelAgent:
    pointer = ROOT / "models" / "current.txt"
    if not pointer.exists() or not (ROOT / pointer.read_text().strip()).exists():
        pytest.fail("no trained model: run `make model` (make test trains it first)")
    from rasa.core.agent import Agent
    from rasa.utils.endpoints import EndpointConfig

    tracker_db = tmp_path_factory.mktemp("model-agent") / "tracker.db"
    journal: Journal = []
    lock_store, tracker_store = recording_stores(journal, f"sqlite:///{tracker_db}")
    agent = Agent.load(str(ROOT / pointer.read_text().strip()), tracker_store=tracker_store,
                       lock_store=lock_store,
                       action_endpoint=EndpointConfig(channel_server.platforms.action_url))
    return ModelAgent(agent, tracker_db, journal)


@pytest.fixture
def with_model(server: ChannelServer, model_agent: ModelAgent) -> Iterator[ChannelServer]:
    """The channel server with the trained model behind it, for one test."""
    server.agent.delegate = model_agent.agent
    model_agent.journal.clear()
    yield server
    server.agent.delegate = None
