"""One real Sanic server, in a background thread, carrying the channels under test.

Sanic 21.12 optimises its HTTP protocol class once per process at start-up ("touch-up"),
so a single app serves the whole session; each test starts with an empty recording agent.
The Teams and Slack channels talk to local fakes of the platforms (fakes.py); a disabled copy
of each (no credentials) is mounted too, under its own prefix.
"""
from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from typing import Any, Iterator, List

import pytest
from sanic import Sanic
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from connectors.dedup import InMemoryStore
from connectors.slack import SlackInput
from connectors.teams import TeamsInput
from connectors.teams_auth import OpenIdKeys
from connectors.teams_client import BotConnector, JsonFetcher, MsalTokenSource
from connectors.widget import WidgetInput
from rasa.core.channels.channel import UserMessage, register

from . import fakes

SECRET = "s" * 48
ISSUER, AUDIENCE = "helpdesk-intranet", "helpdesk-widget"


@dataclass
class RecordingAgent:
    """Stands in for rasa's Agent: records each message and answers with one line."""

    messages: List[UserMessage] = field(default_factory=list)
    # A real rasa Agent, for the tests that run the trained model behind the channels.
    delegate: Any = None

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
    )


def slack_channel(platforms: fakes.PlatformFakes) -> SlackInput:
    client = AsyncWebClient(token=fakes.SLACK_BOT_TOKEN, base_url=platforms.slack_api_url)
    return SlackInput(SignatureVerifier(fakes.SLACK_SIGNING_SECRET), client,
                      {fakes.SLACK_TEAM_ID}, InMemoryStore())


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
        {"T1DC2JH3J"}, InMemoryStore())
    register([WidgetInput(SECRET, ISSUER, AUDIENCE), teams, slack,
              DisabledTeams.disabled(), DisabledSlack.disabled(), vector],
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
                        platforms, msal_http)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)


@pytest.fixture
def server(channel_server: ChannelServer) -> ChannelServer:
    channel_server.agent.messages.clear()
    if channel_server.platforms is not None:
        channel_server.platforms.clear()
    return channel_server
