"""The web app's client of Rasa's HTTP API, for the agent console.

Every call carries a short-lived HS256 JWT signed with RASA_JWT_SECRET (the same token the
ticket notifier uses: `bot.tickets.notifications.rasa_token`, role "admin"), in the
Authorization header: never the `?token=` query parameter, which lands in access logs.

    POST {rasa}/conversations/{id}/tracker/events
         ?output_channel=latest&execute_side_effects=true&include_events=NONE
    [events...]

`execute_side_effects` makes Rasa send each appended bot message through the output channel
of the channel the employee last wrote from (`output_channel=latest`): the widget's push to
this web app, or Teams, or Slack. The pause gates only user messages, so this works while the
conversation is paused. Appending is done under Rasa's conversation lock; if sending fails,
Rasa answers 500 and does not save the events, so the transcript never claims a message the
employee did not get.
"""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import aiohttp

from bot.tickets.notifications import rasa_token

from .rasa_client import RasaRejected, RasaUnavailable

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 20.0
HANDOFF_RESUME_ACTION = "action_handoff_resume"


def bot_event(text: str, author: str | None = None) -> dict[str, Any]:
    """A bot utterance; `handoff_author` (metadata) lets the widget show who wrote it."""
    event: dict[str, Any] = {"event": "bot", "text": text}
    if author:
        event["metadata"] = {"handoff_author": author}
    return event


def resume_events(text: str) -> list[dict[str, Any]]:
    """Hand the conversation back: resume, say so, and listen.

    `action_handoff_resume` is recorded as the last action before the goodbye message, so the
    dialogue policies see a clean hand-back rather than the earlier `action_handoff_request`
    (whose follow-up rules must not fire again), and `action_listen` makes the employee's next
    message start a normal turn.
    """
    return [
        {"event": "resume"},
        {"event": "action", "name": HANDOFF_RESUME_ACTION},
        bot_event(text),
        {"event": "action", "name": "action_listen"},
    ]


class RasaApi:
    def __init__(self, base_url: str, jwt_secret: str, session: aiohttp.ClientSession) -> None:
        self.base_url = base_url.rstrip("/")
        self._secret = jwt_secret
        self._session = session

    def _url(self, conversation_id: str) -> str:
        return (f"{self.base_url}/conversations/{quote(conversation_id, safe='')}/tracker/events"
                "?output_channel=latest&execute_side_effects=true&include_events=NONE")

    async def append(self, conversation_id: str, events: list[dict[str, Any]]) -> None:
        """Append events and deliver their bot messages; RasaUnavailable / RasaRejected."""
        headers = {"Authorization": f"Bearer {rasa_token(self._secret)}",
                   "Content-Type": "application/json"}
        try:
            async with self._session.post(
                self._url(conversation_id), json=events, headers=headers,
                timeout=aiohttp.ClientTimeout(total=TIMEOUT_SECONDS),
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("rasa api unreachable: %s", type(error).__name__)
            raise RasaUnavailable(type(error).__name__) from None
        if status in (400, 401, 403, 404):
            log.warning("rasa api refused events: status=%s", status)
            raise RasaRejected(status)
        if status != 200:
            log.warning("rasa api failed: status=%s", status)
            raise RasaUnavailable(f"status {status}")

    async def say(self, conversation_id: str, text: str, author: str | None = None) -> None:
        await self.append(conversation_id, [bot_event(text, author)])

    async def hand_back(self, conversation_id: str, text: str) -> None:
        await self.append(conversation_id, resume_events(text))
