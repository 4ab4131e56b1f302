"""The services' way into a conversation: Rasa's relay channel (connectors/relay.py).

The agent console (the web app), the ticket worker and the records notifications (the action
server) each hold the key of their own caller and nothing else: no Rasa admin credential, no
key that can make a user message or name an employee (docs/security.md):

| caller | held by | may send |
| --- | --- | --- |
| console | web app (`RELAY_CONSOLE_KEY`) | an agent's message (with the agent's name), a notice, the hand-back, the satisfaction offer |
| tickets | ticket worker (`RELAY_TICKETS_KEY`) | "run action_ticket_notify" |
| records | action server (`RELAY_RECORDS_KEY`) | "run action_records_notify" |

The contract, checked on both sides with the same golden vector:

    POST {RASA_URL}/webhooks/relay/<caller>
    X-Relay-Timestamp: <unix seconds>
    X-Relay-Signature: v1=<hex HMAC-SHA256(key, "helpdesk relay v1" LF caller LF timestamp LF body)>
    {"id": <uuid4 hex>, "conversation_id": ..., "kind": ..., [text], [author]}

    200 delivered (and saved); 503 not delivered and nothing saved, or Rasa busy or starting:
    try again (with a new id: each id is accepted once); any other 4xx: refused, for good.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import uuid
from urllib.parse import quote

import aiohttp

log = logging.getLogger(__name__)

LABEL = b"helpdesk relay v1"
TIMESTAMP_HEADER = "X-Relay-Timestamp"
SIGNATURE_HEADER = "X-Relay-Signature"
CALLERS = ("console", "tickets", "records")
NOTIFY_KINDS = {"tickets": "ticket_notify", "records": "records_notify"}
TIMEOUT_SECONDS = 20.0


class RelayError(Exception):
    """Base of the errors delivering through the relay."""


class RelayUnavailable(RelayError):
    """Not delivered, for now: Rasa unreachable, too slow, starting, busy, or the employee's
    channel did not take it (nothing was saved). Worth another try."""


class RelayRefused(RelayError):
    """Rasa refused the delivery itself (a 4xx): another try would be refused too."""

    def __init__(self, status: int) -> None:
        super().__init__(f"the relay refused the delivery with status {status}")
        self.status = status


def signature(key: bytes, caller: str, timestamp: str, body: bytes) -> str:
    message = b"\n".join([LABEL, caller.encode("ascii"), timestamp.encode("ascii"), body])
    return "v1=" + hmac.new(key, message, hashlib.sha256).hexdigest()


class Relay:
    """One caller's client; `session` is the process's aiohttp session."""

    def __init__(self, rasa_url: str, caller: str, key: str, session: aiohttp.ClientSession,
                 timeout_seconds: float = TIMEOUT_SECONDS) -> None:
        if caller not in CALLERS:
            raise ValueError(f"unknown relay caller {caller!r}")
        if len(key) < 32:
            raise ValueError(f"the {caller} relay key must be at least 32 characters")
        self.url = f"{rasa_url.rstrip('/')}/webhooks/relay/{quote(caller)}"
        self.caller = caller
        self._key = key.encode("utf-8")
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def deliver(self, conversation_id: str, kind: str, **fields: str) -> None:
        """One delivery; RelayUnavailable or RelayRefused when it was not made."""
        body = json.dumps({"id": uuid.uuid4().hex, "conversation_id": conversation_id,
                           "kind": kind, **fields}, ensure_ascii=False).encode("utf-8")
        timestamp = str(int(time.time()))
        headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: timestamp,
                   SIGNATURE_HEADER: signature(self._key, self.caller, timestamp, body)}
        try:
            async with self._session.post(self.url, data=body, headers=headers,
                                          timeout=self._timeout) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as error:
            log.warning("relay.unreachable caller=%s kind=%s error=%s", self.caller, kind,
                        type(error).__name__)
            raise RelayUnavailable(type(error).__name__) from None
        if status == 200:
            return
        log.warning("relay.not_delivered caller=%s kind=%s status=%s", self.caller, kind, status)
        if 400 <= status < 500:
            raise RelayRefused(status)
        raise RelayUnavailable(f"status {status}")

    # --- the console's deliveries -----------------------------------------------------------

    async def say(self, conversation_id: str, text: str, author: str | None = None) -> None:
        """An agent's message (shown with their name) or, without an author, a notice."""
        if author:
            await self.deliver(conversation_id, "agent_message", text=text, author=author)
        else:
            await self.deliver(conversation_id, "notice", text=text)

    async def hand_back(self, conversation_id: str, text: str) -> None:
        """Resume the assistant with a last word, then offer the survey (best effort)."""
        await self.deliver(conversation_id, "hand_back", text=text)
        await self.ask_for_rating(conversation_id)

    async def ask_for_rating(self, conversation_id: str) -> None:
        """Run the satisfaction action (bot.insight decides whether it asks: a handoff that
        ended is rated once). A survey never fails a hand-back."""
        try:
            await self.deliver(conversation_id, "satisfaction_offer")
        except RelayError:
            pass  # logged by deliver

    # --- the workers' -----------------------------------------------------------------------

    async def notify(self, conversation_id: str) -> bool:
        """Run this caller's notify action in the conversation; False (logged) on failure."""
        try:
            await self.deliver(conversation_id, NOTIFY_KINDS[self.caller])
        except RelayError:
            return False
        return True


def relay_session() -> aiohttp.ClientSession:
    """A session for a process's relay client: no cookies kept."""
    return aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar())
