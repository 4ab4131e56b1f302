"""`POST /api/messages`: the browser's one JSON endpoint, a verified proxy to Rasa."""
from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from aiohttp import web

from .keys import RASA_CLIENT
from .rasa_client import RasaRejected, RasaUnavailable
from .session_cookie import current_claims, session_token

log = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 2000

SESSION_EXPIRED = "session expired, please sign in again"
ASSISTANT_UNAVAILABLE = "The assistant is not available right now. Please try again in a minute."


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def _message_text(body: Any) -> str | None:
    """The stripped message text, or None if the body is not {"text": "<1..2000 chars>"}."""
    if not isinstance(body, dict) or not isinstance(body.get("text"), str):
        return None
    text = body["text"].strip()
    return text if 1 <= len(text) <= MAX_TEXT_LENGTH else None


async def post_message(request: web.Request) -> web.StreamResponse:
    claims = current_claims(request)
    token = session_token(request)
    if claims is None or token is None:
        log.info("message refused: status=401 no valid session")
        return _error(401, SESSION_EXPIRED)
    if request.content_type != "application/json":
        log.info("message refused: status=415 content type")
        return _error(415, "Send the message as JSON (Content-Type: application/json).")
    try:
        body = await request.json()
    except (ValueError, RecursionError):
        log.info("message refused: status=400 body is not JSON")
        return _error(400, "The message could not be read: the body is not valid JSON.")
    text = _message_text(body)
    if text is None:
        log.info("message refused: status=400 text missing, empty or too long")
        return _error(
            400, f"Type a message of 1 to {MAX_TEXT_LENGTH} characters before sending."
        )

    started = time.perf_counter()
    try:
        messages = await request.app[RASA_CLIENT].send(token, text, uuid.uuid4().hex)
    except RasaUnavailable:
        log.warning("message not delivered: status=502 rasa unavailable after %.0f ms",
                    (time.perf_counter() - started) * 1000)
        return _error(502, ASSISTANT_UNAVAILABLE)
    except RasaRejected as rejected:
        log.warning("message not delivered: rasa rejected it with status=%s", rejected.status)
        if rejected.status == 401:
            return _error(401, SESSION_EXPIRED)
        return _error(400, "The assistant could not accept that message.")
    log.info("message forwarded: status=200 replies=%d rasa_ms=%.0f",
             len(messages), (time.perf_counter() - started) * 1000)
    return web.json_response({"messages": messages})
