"""The web app's client of the Rasa `widget` input channel.

Contract (the channel lives in `connectors/`, in the Rasa runtime):

    POST {rasa_url}/webhooks/widget/webhook
    Authorization: Bearer <widget session token>      (the channel verifies it itself)
    {"text": "<1..2000 characters>", "message_id": "<1..64 of [A-Za-z0-9_-]>", "retry"?: true}

    200 → JSON list of bot messages, each {"text"?, "buttons"?: [{"title", "payload"}],
          "image"?, "custom"?}; anything else in them (recipient_id...) is dropped here.
    401 → bad token; 400 → bad body.

The application opens one `aiohttp.ClientSession` (see `new_client_session`) at start-up and
closes it at shutdown.
"""
from __future__ import annotations

import json
import logging
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/webhooks/widget/webhook"
SEND_TIMEOUT_SECONDS = 30.0
PING_TIMEOUT_SECONDS = 2.0
# 400 bad body, 401 bad token, 413 body too large: the message, not Rasa, is the problem.
REJECTED_STATUSES = frozenset({400, 401, 413})


class RasaError(Exception):
    """Base of the errors talking to Rasa."""


class RasaUnavailable(RasaError):
    """Rasa could not be reached, timed out, failed (5xx) or answered something unusable.

    `retryable`: the same message (same id, marked as a retry) may be sent again at once: the
    connection was refused or cut, or Rasa answered 5xx. Not after a timeout (the employee has
    waited long enough) or an unusable answer.
    """

    def __init__(self, reason: str, retryable: bool = False) -> None:
        super().__init__(reason)
        self.retryable = retryable


class RasaRejected(RasaError):
    """Rasa refused the message: 401 (token), 400 or 413 (body)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"rasa rejected the message with status {status}")
        self.status = status


def _clean_button(button: Any) -> dict[str, str] | None:
    if not isinstance(button, dict):
        return None
    title, payload = button.get("title"), button.get("payload")
    if not isinstance(title, str) or not isinstance(payload, str) or not title or not payload:
        return None
    return {"title": title, "payload": payload}


def clean_bot_message(message: Any) -> dict[str, Any] | None:
    """Keep only what the browser may see: text, buttons, image, custom (no recipient_id)."""
    if not isinstance(message, dict):
        return None
    cleaned: dict[str, Any] = {}
    if isinstance(message.get("text"), str):
        cleaned["text"] = message["text"]
    if isinstance(message.get("buttons"), list):
        buttons = [b for b in map(_clean_button, message["buttons"]) if b is not None]
        if buttons:
            cleaned["buttons"] = buttons
    if isinstance(message.get("image"), str):
        cleaned["image"] = message["image"]
    if "custom" in message and message["custom"] is not None:
        cleaned["custom"] = message["custom"]
    return cleaned or None


class RasaClient:
    """Sends one user message to the widget channel and returns the bot's answers."""

    def __init__(self, base_url: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url.rstrip("/")
        self._session = session

    async def send(self, token: str, text: str, message_id: str,
                   retry: bool = False) -> list[dict[str, Any]]:
        url = self.base_url + WEBHOOK_PATH
        headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Content-Type": "application/json",
        }
        # UTF-8 rather than \u-escapes: 2000 characters stay under 12 kB in every case (the
        # widget channel refuses bodies over 16 KiB; escaped emoji would need 24 kB).
        fields: dict[str, Any] = {"text": text, "message_id": message_id}
        if retry:
            fields["retry"] = True
        body = json.dumps(fields, ensure_ascii=False)
        try:
            async with self._session.post(url, data=body.encode("utf-8"),
                                          headers=headers) as response:
                status = response.status
                if status in REJECTED_STATUSES:
                    raise RasaRejected(status)
                if status != 200:
                    log.warning("rasa answered an unexpected status=%s", status)
                    raise RasaUnavailable(f"rasa answered status {status}",
                                          retryable=status >= 500)
                try:
                    answer = await response.json(content_type=None)
                except ValueError:
                    raise RasaUnavailable("rasa answered something that is not JSON") from None
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("rasa unreachable: %s", type(error).__name__)
            raise RasaUnavailable(type(error).__name__,
                                  retryable=not isinstance(error, TimeoutError)) from None
        if not isinstance(answer, list):
            raise RasaUnavailable("rasa answered JSON that is not a list")
        return [m for m in map(clean_bot_message, answer) if m is not None]

    async def ping(self) -> bool:
        """True when Rasa's root endpoint answers 2xx within PING_TIMEOUT_SECONDS."""
        try:
            async with self._session.get(
                self.base_url + "/",
                timeout=aiohttp.ClientTimeout(total=PING_TIMEOUT_SECONDS),
            ) as response:
                return 200 <= response.status < 300
        except (aiohttp.ClientError, TimeoutError):
            return False


def new_client_session() -> aiohttp.ClientSession:
    """The one HTTP session an application uses for Rasa; create it inside the running loop."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT_SECONDS),
        # Shared by every user's requests: never keep (and replay) cookies Rasa might set.
        cookie_jar=aiohttp.DummyCookieJar(),
        raise_for_status=False,
    )
