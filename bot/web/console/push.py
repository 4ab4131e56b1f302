"""`POST /internal/widget/push`: Rasa's widget output channel delivers messages here.

Authenticated by an HMAC signature over the timestamp and the raw body (see
`bot.handoff.widget_push`), checked before the body is parsed; nothing else is accepted. The
message is stored for the employee's browser and the hub is told, so it goes out on the
employee's event stream at once.
"""
from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bot.handoff import widget_push

from ..forms import read_capped
from ..keys import DATABASE, SETTINGS
from .keys import HUB

log = logging.getLogger(__name__)


async def receive(request: web.Request) -> web.StreamResponse:
    body = await read_capped(request.content, widget_push.MAX_BODY_BYTES)
    if body is None:
        return web.json_response({"error": "too large"}, status=413)
    key = widget_push.push_key(request.app[SETTINGS].require_widget_secret())
    try:
        widget_push.verify(key, request.headers.get(widget_push.TIMESTAMP_HEADER),
                           request.headers.get(widget_push.SIGNATURE_HEADER), body)
        push = widget_push.parse(body)
    except widget_push.InvalidPush as error:
        log.info("widget push refused: %s", error)
        return web.json_response({"error": "refused"}, status=401 if "sign" in str(error)
                                 or str(error) in ("stale", "bad timestamp") else 400)
    stored = await asyncio.to_thread(widget_push.store, request.app[DATABASE], push)
    if stored:
        await request.app[HUB].notify()
    return web.json_response({"stored": stored})
