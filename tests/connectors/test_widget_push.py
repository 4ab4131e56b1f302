"""The widget's output channel: messages Rasa sends outside a request (agent replies through
the HTTP API with `?output_channel=latest`) are pushed to the web app, HMAC-signed."""
from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any, Dict, List

import pytest
from aiohttp import web

from connectors.widget import (
    PushFailed,
    WidgetInput,
    WidgetPushOutput,
    push_key,
    push_signature,
)

from .conftest import AUDIENCE, ISSUER, SECRET


class Receiver:
    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.requests: List[Dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        self.requests.append({"headers": dict(request.headers), "body": await request.read()})
        return web.json_response({"stored": True}, status=self.status)


async def start(receiver: Receiver) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_post("/internal/widget/push", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}/internal/widget/push"


def test_the_output_channel_exists_only_with_a_push_url() -> None:
    assert WidgetInput(SECRET, ISSUER, AUDIENCE).get_output_channel() is None
    channel = WidgetInput.from_credentials({"token_secret": SECRET, "principal_key": "p" * 32,
                                            "push_url": "http://127.0.0.1:9/x"})
    output = channel.get_output_channel()
    assert isinstance(output, WidgetPushOutput) and output.name() == "widget"


def test_push_signature_golden_vector() -> None:
    """The same vector is checked on the web app side (tests/web/test_console.py)."""
    assert push_signature(push_key("s" * 48), "1700000000", b"{}") == (
        "v1=2ba08b64a10a63acbad2ed94f58d1a5690046481baea7863db3a103e892be97f")


async def test_a_bot_message_is_pushed_signed_with_its_author() -> None:
    receiver = Receiver()
    runner, url = await start(receiver)
    try:
        output = WidgetPushOutput(url, push_key(SECRET))
        await output.send_response("widget-abc", {
            "text": "Hello Alice", "handoff_author": "Sam Patel", "timestamp": 1.0,
            "recipient_id": "ignored", "buttons": [{"title": "Yes", "payload": "/affirm"}]})
    finally:
        await runner.cleanup()
    [request] = receiver.requests
    body = json.loads(request["body"])
    assert body["recipient_id"] == "widget-abc" and len(body["id"]) == 32
    assert body["message"] == {"text": "Hello Alice", "author": "Sam Patel",
                               "buttons": [{"title": "Yes", "payload": "/affirm"}]}
    stamp = request["headers"]["X-Helpdesk-Timestamp"]
    expected = hmac.new(push_key(SECRET), stamp.encode() + b"." + request["body"],
                        hashlib.sha256).hexdigest()
    assert request["headers"]["X-Helpdesk-Signature"] == f"v1={expected}"


@pytest.mark.parametrize("status", [401, 500])
async def test_a_refused_push_fails_loudly(status: int) -> None:
    receiver = Receiver(status)
    runner, url = await start(receiver)
    try:
        with pytest.raises(PushFailed):
            await WidgetPushOutput(url, push_key(SECRET)).send_text_message("w", "hello")
    finally:
        await runner.cleanup()


async def test_an_unreachable_web_app_fails_loudly() -> None:
    with pytest.raises(PushFailed):
        await WidgetPushOutput("http://127.0.0.1:9/push", push_key(SECRET)).send_text_message(
            "w", "hello")
