"""Teams and Slack reach Rasa through the web app: two paths, relayed unchanged.

    POST /webhooks/msteams/webhook  ->  {RASA_URL}/webhooks/msteams/webhook
    POST /webhooks/slack/webhook    ->  {RASA_URL}/webhooks/slack/webhook

In production only the web app is published (docker-compose.yml): Rasa's channel routes share
a port with its HTTP API, so Rasa stays on the internal network, and the public HTTPS route
for the Azure Bot's messaging endpoint and the Slack app's request URL goes to the web app.

The relay authenticates nothing itself: the channels verify every request (the Bot Connector
JWT, the Slack signature; docs/channels.md). So it passes on exactly what they check and
nothing else: the raw body byte for byte (Slack signs the raw bytes), and only the headers the
channel reads; no cookies, no client address, no other header. Rasa's status and body come
back as they are, with its Content-Type. Rasa unreachable -> 502; too slow -> 504 (Slack wants
its answer within 3 seconds and retries otherwise; Rasa's Slack channel answers at once and
works in the background, and de-duplicates retries).

These requests come from Microsoft's and Slack's servers, not from browsers: the Origin check
(security.py) does not apply to them. Bodies and headers are never logged.
"""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial

import aiohttp
from aiohttp import web

from .keys import SETTINGS
from .forms import read_capped
from .rasa_client import new_client_session

log = logging.getLogger(__name__)

MAX_ANSWER_BYTES = 64 * 1024


@dataclass(frozen=True)
class ChannelRoute:
    channel: str
    path: str
    headers: tuple[str, ...]  # forwarded when present, each at most once
    max_body_bytes: int  # as the channel itself (connectors/teams.py, slack.py)
    timeout_seconds: float


TEAMS = ChannelRoute(
    "msteams", "/webhooks/msteams/webhook", ("Content-Type", "Authorization"),
    256 * 1024, 10.0)
SLACK = ChannelRoute(
    "slack", "/webhooks/slack/webhook",
    ("Content-Type", "X-Slack-Signature", "X-Slack-Request-Timestamp", "X-Slack-Retry-Num",
     "X-Slack-Retry-Reason"),
    128 * 1024, 2.5)
ROUTES = (TEAMS, SLACK)
RELAY_PATHS = frozenset(route.path for route in ROUTES)

RELAY_SESSION = web.AppKey("channel_relay_session", aiohttp.ClientSession)


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


async def relay(route: ChannelRoute, request: web.Request) -> web.Response:
    if request.content_length is not None and request.content_length > route.max_body_bytes:
        return _error(413, "request too large")
    headers: dict[str, str] = {}
    for name in route.headers:
        values = request.headers.getall(name, [])
        if len(values) > 1:  # which one would the channel check? Refuse rather than choose.
            log.info("channel relay refused: channel=%s repeated header", route.channel)
            return _error(400, "repeated header")
        if values:
            headers[name] = values[0]
    body = await read_capped(request.content, route.max_body_bytes)
    if body is None:
        return _error(413, "request too large")

    url = request.app[SETTINGS].rasa_url + route.path
    try:
        async with request.app[RELAY_SESSION].post(
            url,
            data=body,
            headers=headers,
            # Only what the platform sent: no invented Content-Type or User-Agent.
            skip_auto_headers=("Content-Type", "User-Agent"),
            allow_redirects=False,
            timeout=aiohttp.ClientTimeout(total=route.timeout_seconds),
        ) as answer:
            status = answer.status
            content_type = answer.headers.get("Content-Type")
            payload = await read_capped(answer.content, MAX_ANSWER_BYTES)
    except TimeoutError:
        log.warning("channel relay: rasa timed out channel=%s", route.channel)
        return _error(504, "the assistant did not answer in time")
    except aiohttp.ClientError as error:
        log.warning("channel relay: rasa unreachable channel=%s error=%s",
                    route.channel, type(error).__name__)
        return _error(502, "the assistant is unavailable")
    if payload is None:
        log.warning("channel relay: rasa answer too large channel=%s", route.channel)
        return _error(502, "the assistant answered something unusable")
    log.info("channel relay channel=%s status=%d", route.channel, status)
    response = web.Response(status=status, body=payload)
    if content_type:
        response.headers["Content-Type"] = content_type
    return response


def setup(app: web.Application) -> None:
    """Mount the two relay routes; one HTTP session to Rasa for all of them."""

    async def session_context(app: web.Application) -> AsyncIterator[None]:
        session = new_client_session()  # no cookie jar: nothing carried between requests
        app[RELAY_SESSION] = session
        try:
            yield
        finally:
            await session.close()

    app.cleanup_ctx.append(session_context)
    for route in ROUTES:
        app.router.add_post(route.path, partial(relay, route))
