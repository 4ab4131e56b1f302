"""`POST /api/messages`: the browser's one JSON endpoint, a verified proxy to Rasa."""
from __future__ import annotations

import asyncio
import logging
import re
import time
import uuid
from typing import Any

from aiohttp import web

from .forms import read_json
from .keys import RASA_CLIENT
from .rasa_client import RasaRejected, RasaUnavailable
from .session_cookie import session_token, signed_in

log = logging.getLogger(__name__)

MAX_TEXT_LENGTH = 2000

# The chat page names each message it sends (and sends the same id again when it retries a
# message that failed); the channel answers a retried id it has handled from the conversation.
MESSAGE_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
# A message that failed on the way to Rasa (connection refused or cut, a 5xx) is sent again,
# with its id and marked as a retry, for this long before the employee is told to try again:
# a Rasa worker or the tracker store restarting costs them nothing.
RETRY_SECONDS = 15.0
RETRY_PAUSES = (0.25, 0.5, 1.0, 2.0)

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


def _client_message(body: dict[str, Any]) -> tuple[str, bool] | None:
    """The message id the page chose (a new one if none) and whether this is a retry; None if
    either is malformed."""
    message_id, retry = body.get("message_id"), body.get("retry", False)
    if not isinstance(retry, bool):
        return None
    if message_id is None:
        return None if retry else (uuid.uuid4().hex, False)
    if not isinstance(message_id, str) or not MESSAGE_ID.match(message_id):
        return None
    return message_id, retry


async def _send_with_retries(client: Any, token: str, text: str, message_id: str,
                             retry: bool) -> list[dict[str, Any]]:
    """Send; on a retryable failure send again (same id, as a retry) until RETRY_SECONDS."""
    deadline = time.monotonic() + RETRY_SECONDS
    attempt = 0
    while True:
        try:
            return await client.send(token, text, message_id, retry=retry)
        except RasaUnavailable as error:
            pause = RETRY_PAUSES[min(attempt, len(RETRY_PAUSES) - 1)]
            if not error.retryable or time.monotonic() + pause > deadline:
                raise
            log.info("message sent again after a retryable failure (attempt %d)", attempt + 2)
            retry, attempt = True, attempt + 1
            await asyncio.sleep(pause)  # backing off before the next attempt


async def post_message(request: web.Request) -> web.StreamResponse:
    claims = await signed_in(request)
    token = session_token(request)
    if claims is None or token is None:
        log.info("message refused: status=401 no valid session")
        return _error(401, SESSION_EXPIRED)
    if request.content_type != "application/json":
        log.info("message refused: status=415 content type")
        return _error(415, "Send the message as JSON (Content-Type: application/json).")
    try:
        body = await read_json(request)
    except ValueError:
        log.info("message refused: status=400 body is not JSON")
        return _error(400, "The message could not be read: the body is not valid JSON.")
    text = _message_text(body)
    if text is None:
        log.info("message refused: status=400 text missing, empty or too long")
        return _error(
            400, f"Type a message of 1 to {MAX_TEXT_LENGTH} characters before sending."
        )

    client_message = _client_message(body)
    if client_message is None:
        log.info("message refused: status=400 message id or retry flag malformed")
        return _error(400, "The message could not be read: bad message id.")
    message_id, retry = client_message

    started = time.perf_counter()
    try:
        messages = await _send_with_retries(request.app[RASA_CLIENT], token, text, message_id,
                                            retry)
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
