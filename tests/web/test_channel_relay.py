"""The web app relays the Teams and Slack webhooks to Rasa unchanged (bot/web/channel_relay.py).

A fake Rasa records the raw bytes and every header it received, and answers what it is told.
"""
from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Callable
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web

from bot.web import channel_relay
from bot.web.security import SERVER_TO_SERVER_PATHS

TEAMS = "/webhooks/msteams/webhook"
SLACK = "/webhooks/slack/webhook"
# What any HTTP client adds on its own; everything else Rasa sees must come from the platform.
TRANSPORT = {"host", "content-length", "accept", "accept-encoding"}
# A body whose exact bytes matter: non-ASCII, escapes, odd spacing, no trailing newline.
TEAMS_BODY = ('{"type":"message", "text":"Wie viel Urlaub habe ich?  caf\u00e9 \\u00e9 \U0001f334",'
              '\n "serviceUrl":"https://smba.trafficmanager.net/emea/"}').encode("utf-8")
SLACK_BODY = (b'{"token":"x","team_id":"T0HELPDESK","event":{"type":"message","text":"a+b=c&d"},'
              b'"type":"event_callback","event_id":"Ev01"}')
PLATFORM_TOKEN = "eyJhbGciOiJSUzI1NiJ9.relay-test-claims.relay-test-signature"
SLACK_SIGNATURE = "v0=" + "ab" * 32
STRANGERS = {
    "Cookie": "hd_session=employee-session-token; other=1",
    "Origin": "https://evil.example",
    "X-Forwarded-For": "203.0.113.9",
    "X-Real-IP": "203.0.113.9",
    "Forwarded": "for=203.0.113.9",
    "X-Custom": "custom",
    "Referer": "https://evil.example/page",
    "User-Agent": "Microsoft-SkypeBotApi (Microsoft-BotFramework/3.0)",
}


class RecordingRasa:
    """Rasa's two channel routes: records each request, answers `status`/`body`/`content_type`."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []
        self.status = 202
        self.body = b""
        self.content_type: str | None = None
        self.set_cookie = False
        self.hold: asyncio.Event | None = None  # when set: answer only once it fires
        self.url = ""

    async def receive(self, request: web.Request) -> web.Response:
        self.calls.append({"path": request.path, "body": await request.read(),
                           "headers": list(request.headers.items())})
        if self.hold is not None:
            await self.hold.wait()
        response = web.Response(status=self.status, body=self.body)
        if self.content_type:
            response.headers["Content-Type"] = self.content_type
        response.headers["X-Rasa-Internal"] = "replica-1"
        if self.set_cookie:
            response.set_cookie("rasa_affinity", "replica-1")
        return response

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        for path in (TEAMS, SLACK, "/webhooks/widget/webhook", "/webhooks/rest/webhook",
                     "/model/parse"):
            app.router.add_post(path, self.receive)
        return app

    def header_names(self, call: int = 0) -> set[str]:
        return {name.lower() for name, _ in self.calls[call]["headers"]}

    def header(self, name: str, call: int = 0) -> list[str]:
        return [v for k, v in self.calls[call]["headers"] if k.lower() == name.lower()]


@pytest_asyncio.fixture
async def rasa(aiohttp_server: Callable[..., Any]) -> Any:
    fake = RecordingRasa()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("/")).rstrip("/")
    yield fake
    if fake.hold is not None:
        fake.hold.set()


@pytest_asyncio.fixture
async def relay_client(make_client: Any, make_settings: Any, rasa: RecordingRasa) -> Any:
    return await make_client(make_settings(rasa_url=rasa.url))


def teams_headers(**extra: str) -> dict[str, str]:
    return {"Content-Type": "application/json; charset=utf-8",
            "Authorization": f"Bearer {PLATFORM_TOKEN}", **extra}


def slack_headers(**extra: str) -> dict[str, str]:
    return {"Content-Type": "application/json", "X-Slack-Signature": SLACK_SIGNATURE,
            "X-Slack-Request-Timestamp": "1700000000", **extra}


async def test_a_teams_activity_reaches_rasa_byte_for_byte_with_only_its_headers(
        relay_client: Any, rasa: RecordingRasa) -> None:
    response = await relay_client.post(
        TEAMS, data=TEAMS_BODY,
        headers=teams_headers(**STRANGERS, **{"X-Slack-Signature": SLACK_SIGNATURE}))
    assert response.status == 202
    [call] = rasa.calls
    assert call["path"] == TEAMS
    assert call["body"] == TEAMS_BODY
    assert rasa.header("Authorization") == [f"Bearer {PLATFORM_TOKEN}"]
    assert rasa.header("Content-Type") == ["application/json; charset=utf-8"]
    assert rasa.header_names() - TRANSPORT == {"authorization", "content-type"}
    assert rasa.header("Content-Length") == [str(len(TEAMS_BODY))]


async def test_a_slack_event_reaches_rasa_byte_for_byte_with_only_its_headers(
        relay_client: Any, rasa: RecordingRasa) -> None:
    rasa.status = 200
    headers = slack_headers(**STRANGERS, **{"X-Slack-Retry-Num": "2",
                                            "X-Slack-Retry-Reason": "http_timeout",
                                            "Authorization": f"Bearer {PLATFORM_TOKEN}"})
    response = await relay_client.post(SLACK, data=SLACK_BODY, headers=headers)
    assert response.status == 200
    [call] = rasa.calls
    assert call["path"] == SLACK and call["body"] == SLACK_BODY
    assert rasa.header_names() - TRANSPORT == {
        "content-type", "x-slack-signature", "x-slack-request-timestamp", "x-slack-retry-num",
        "x-slack-retry-reason"}
    assert rasa.header("X-Slack-Signature") == [SLACK_SIGNATURE]
    assert rasa.header("X-Slack-Request-Timestamp") == ["1700000000"]
    assert rasa.header("X-Slack-Retry-Num") == ["2"]
    assert rasa.header("X-Slack-Retry-Reason") == ["http_timeout"]


async def test_a_slack_interaction_form_keeps_its_content_type_and_bytes(
        relay_client: Any, rasa: RecordingRasa) -> None:
    form = b"payload=%7B%22type%22%3A%22block_actions%22%2C%22x%22%3A%22a+b%22%7D"
    response = await relay_client.post(
        SLACK, data=form,
        headers=slack_headers(**{"Content-Type": "application/x-www-form-urlencoded"}))
    assert response.status == 202
    assert rasa.calls[0]["body"] == form
    assert rasa.header("Content-Type") == ["application/x-www-form-urlencoded"]


async def test_no_header_is_invented(relay_client: Any, rasa: RecordingRasa) -> None:
    """A request without Content-Type reaches Rasa without one (not application/octet-stream)."""
    response = await relay_client.post(SLACK, data=b"{}", headers={
        "X-Slack-Signature": SLACK_SIGNATURE, "X-Slack-Request-Timestamp": "1"},
        skip_auto_headers=("Content-Type",))
    assert response.status == 202
    assert rasa.header_names() - TRANSPORT == {"x-slack-signature", "x-slack-request-timestamp"}


@pytest.mark.parametrize("path", [TEAMS, SLACK])
@pytest.mark.parametrize("status, body, content_type", [
    (200, b'{"challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}',
     "application/json"),
    (202, b"", None),
    (400, b'{"error": "not a valid activity"}', "application/json"),
    (401, b'{"error": "unauthorized"}', "application/json"),
    (403, b'{"error": "forbidden"}', "application/json"),
    (413, b'{"error": "request too large"}', "application/json"),
    (503, b'{"error": "this channel is not configured"}', "application/json"),
    (500, b"Internal Server Error", "text/plain; charset=utf-8"),
])
async def test_rasas_status_and_body_come_back_unchanged(
        relay_client: Any, rasa: RecordingRasa, path: str, status: int, body: bytes,
        content_type: str | None) -> None:
    rasa.status, rasa.body, rasa.content_type = status, body, content_type
    response = await relay_client.post(path, data=b"{}", headers=teams_headers())
    assert response.status == status
    assert await response.read() == body
    if content_type:
        assert response.headers["Content-Type"] == content_type
    assert "X-Rasa-Internal" not in response.headers


async def test_cookies_from_rasa_are_neither_kept_nor_passed_on(
        make_client: Any, make_settings: Any, rasa: RecordingRasa) -> None:
    # A host name, as in production (http://rasa:5005): cookie jars ignore cookies from IPs.
    relay_client = await make_client(make_settings(rasa_url=rasa.url.replace("127.0.0.1",
                                                                             "localhost")))
    rasa.set_cookie = True
    first = await relay_client.post(TEAMS, data=b"{}", headers=teams_headers())
    assert "Set-Cookie" not in first.headers
    await relay_client.post(TEAMS, data=b"{}", headers=teams_headers())
    assert len(rasa.calls) == 2
    assert rasa.header("Cookie", call=1) == []


@pytest.mark.parametrize("path", [TEAMS, SLACK])
async def test_502_when_rasa_is_down(make_client: Any, make_settings: Any,
                                     closed_port_url: str, path: str) -> None:
    client = await make_client(make_settings(rasa_url=closed_port_url))
    response = await client.post(path, data=b"{}", headers=teams_headers())
    assert response.status == 502
    assert (await response.json()) == {"error": "the assistant is unavailable"}


async def test_504_when_rasa_does_not_answer_within_the_channels_timeout(
        make_client: Any, make_settings: Any, rasa: RecordingRasa,
        monkeypatch: pytest.MonkeyPatch) -> None:
    quick = dataclasses.replace(channel_relay.SLACK, timeout_seconds=0.2)
    monkeypatch.setattr(channel_relay, "ROUTES", (channel_relay.TEAMS, quick))
    client = await make_client(make_settings(rasa_url=rasa.url))
    rasa.hold = asyncio.Event()  # never set during the request
    response = await client.post(SLACK, data=SLACK_BODY, headers=slack_headers())
    assert response.status == 504
    assert len(rasa.calls) == 1


def test_slack_is_answered_well_within_its_three_seconds() -> None:
    assert channel_relay.SLACK.timeout_seconds < 3


@pytest.mark.parametrize("path, limit", [(TEAMS, 256 * 1024), (SLACK, 128 * 1024)])
async def test_bodies_over_the_channels_limit_are_refused_and_not_relayed(
        relay_client: Any, rasa: RecordingRasa, path: str, limit: int) -> None:
    at_limit = await relay_client.post(path, data=b"x" * limit, headers=teams_headers())
    assert at_limit.status == 202 and len(rasa.calls[0]["body"]) == limit
    over = await relay_client.post(path, data=b"x" * (limit + 1), headers=teams_headers())
    assert over.status == 413

    async def chunked() -> Any:  # no Content-Length: the cap applies while reading
        for _ in range(limit // 4096 + 1):
            yield b"y" * 4096

    streamed = await relay_client.post(path, data=chunked(), headers=teams_headers())
    assert streamed.status == 413
    assert len(rasa.calls) == 1


@pytest.mark.parametrize("path, limit", [(TEAMS, 256 * 1024), (SLACK, 128 * 1024)])
async def test_an_announced_oversized_body_is_refused_before_it_is_read(
        relay_client: Any, rasa: RecordingRasa, path: str, limit: int) -> None:
    """Content-Length over the limit: 413 at once, without waiting for (or reading) the body."""
    reader, writer = await asyncio.open_connection(relay_client.host, relay_client.port)
    try:
        writer.write((f"POST {path} HTTP/1.1\r\nHost: {relay_client.host}\r\n"
                      f"Content-Type: application/json\r\nContent-Length: {limit + 1}\r\n"
                      "\r\n{").encode())
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=5)
    finally:
        writer.close()
    assert status_line.split()[1] == b"413"
    assert rasa.calls == []


@pytest.mark.parametrize("path, header", [(TEAMS, "Authorization"),
                                          (SLACK, "X-Slack-Signature")])
async def test_a_repeated_checked_header_is_refused(relay_client: Any, rasa: RecordingRasa,
                                                    path: str, header: str) -> None:
    headers = [("Content-Type", "application/json"), (header, "first"), (header, "second")]
    response = await relay_client.post(path, data=b"{}", headers=headers)
    assert response.status == 400
    assert rasa.calls == []


@pytest.mark.parametrize("method, path", [
    ("GET", TEAMS), ("GET", SLACK), ("PUT", TEAMS),
    ("POST", "/webhooks/rest/webhook"), ("POST", "/webhooks/widget/webhook"),
    ("POST", "/webhooks/msteams/"), ("POST", "/webhooks/msteams/webhook/"),
    ("POST", "/model/parse"), ("POST", "/webhooks/slack/webhook/../../model/parse"),
    # Rasa's relay channel is for the services inside; browsers and platforms never reach it
    ("POST", "/webhooks/relay/console"), ("POST", "/webhooks/relay/tickets"),
    ("POST", "/webhooks/relay/records"), ("POST", "/webhooks/slack/webhook/../../relay/console"),
])
async def test_nothing_else_of_rasa_is_reachable(relay_client: Any, rasa: RecordingRasa,
                                                 method: str, path: str) -> None:
    response = await relay_client.request(method, path, data=b"{}", headers=teams_headers())
    assert response.status in (403, 404, 405)
    assert rasa.calls == []


async def test_the_browser_origin_check_does_not_apply_to_the_platforms_but_still_elsewhere(
        relay_client: Any, rasa: RecordingRasa) -> None:
    assert SERVER_TO_SERVER_PATHS == channel_relay.RELAY_PATHS
    foreign = {"Origin": "https://smba.trafficmanager.net"}
    assert (await relay_client.post(TEAMS, data=b"{}", headers=teams_headers(**foreign))
            ).status == 202
    assert (await relay_client.post(SLACK, data=b"{}", headers=slack_headers(**foreign))
            ).status == 202
    refused = await relay_client.post("/api/messages", json={"text": "hi"}, headers=foreign)
    assert refused.status == 403
    assert len(rasa.calls) == 2


async def test_bodies_and_headers_are_never_logged(relay_client: Any, rasa: RecordingRasa,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    rasa.status, rasa.body = 401, b'{"error": "unauthorized: rasa-answer-marker"}'
    await relay_client.post(TEAMS, data=TEAMS_BODY, headers=teams_headers())
    await relay_client.post(SLACK, data=SLACK_BODY, headers=slack_headers())
    text = caplog.text
    assert "channel relay channel=msteams status=401" in text
    for secret in (PLATFORM_TOKEN, SLACK_SIGNATURE, "Urlaub", "event_callback",
                   "rasa-answer-marker"):
        assert secret not in text
