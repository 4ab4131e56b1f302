"""One real Sanic server, in a background thread, carrying the channels under test.

Sanic 21.12 optimises its HTTP protocol class once per process at start-up ("touch-up"),
so a single app serves the whole session; each test starts with an empty recording agent.
"""
from __future__ import annotations

import asyncio
import socket
import threading
from dataclasses import dataclass, field
from typing import Iterator, List

import pytest
from sanic import Sanic

from connectors.widget import WidgetInput
from rasa.core.channels.channel import UserMessage, register

SECRET = "s" * 48
ISSUER, AUDIENCE = "helpdesk-intranet", "helpdesk-widget"


@dataclass
class RecordingAgent:
    """Stands in for rasa's Agent: records each message and answers with one line."""

    messages: List[UserMessage] = field(default_factory=list)

    async def handle_message(self, message: UserMessage) -> None:
        self.messages.append(message)
        await message.output_channel.send_text_message(message.sender_id, "reply")


@dataclass
class ChannelServer:
    base_url: str
    agent: RecordingAgent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def channel_server() -> Iterator[ChannelServer]:
    app = Sanic("connector_tests")
    agent = RecordingAgent()
    app.ctx.agent = agent
    register([WidgetInput(SECRET, ISSUER, AUDIENCE)], app, route="/webhooks/")
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
    yield ChannelServer(f"http://127.0.0.1:{port}/webhooks", agent)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=10)


@pytest.fixture
def server(channel_server: ChannelServer) -> ChannelServer:
    channel_server.agent.messages.clear()
    return channel_server
