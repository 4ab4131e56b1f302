"""A stand-in for Rasa's relay channel (connectors/relay.py) for the services' tests.

It checks what the channel checks of the caller's side of the contract: the caller's own key,
the signature over label, caller, timestamp and body, the time window, a fresh id, the kinds
the caller may send and their exact fields; it records each delivery it accepts and answers
`status`. `on_delivery` lets a test do what Rasa would (run the notify action's claim).
The channel itself, in front of Rasa, is tested in tests/connectors/test_relay.py; the golden
vector in tests/unit/test_relay_client.py ties the two signatures together.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

KEYS = {caller: f"relay-{caller}-key-for-services-tests-{caller}".ljust(48, "k")
        for caller in ("console", "tickets", "records")}
KINDS = {"console": {"agent_message": {"text", "author"}, "notice": {"text"},
                     "hand_back": {"text"}, "satisfaction_offer": set()},
         "tickets": {"ticket_notify": set()}, "records": {"records_notify": set()}}


@dataclass
class FakeRelay:
    keys: dict[str, str] = field(default_factory=lambda: dict(KEYS))
    status: int = 200
    requests: list[dict[str, Any]] = field(default_factory=list)  # every genuine request
    deliveries: list[dict[str, Any]] = field(default_factory=list)  # those answered 200
    refused: list[tuple[int, str]] = field(default_factory=list)
    on_delivery: Callable[[dict[str, Any]], None] | None = None
    url: str = ""
    _seen: set[str] = field(default_factory=set)

    def _refuse(self, status: int, reason: str) -> web.Response:
        self.refused.append((status, reason))
        return web.json_response({"error": reason}, status=status)

    async def handle(self, request: web.Request) -> web.Response:
        caller = request.match_info["caller"]
        key = self.keys.get(caller)
        if key is None:
            return self._refuse(404, "no such caller")
        body = await request.read()
        stamp = request.headers.get("X-Relay-Timestamp", "")
        given = request.headers.get("X-Relay-Signature", "")
        if not stamp.isascii() or not stamp.isdigit() or not -30 <= time.time() - int(stamp) <= 60:
            return self._refuse(401, "timestamp")
        expected = "v1=" + hmac.new(key.encode(), b"\n".join(
            [b"helpdesk relay v1", caller.encode(), stamp.encode(), body]),
            hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, given):
            return self._refuse(401, "signature")
        delivery = json.loads(body)
        kind = delivery.get("kind")
        if kind not in KINDS[caller]:
            return self._refuse(403, f"{caller} may not send {kind}")
        if set(delivery) != {"id", "conversation_id", "kind"} | KINDS[caller][kind]:
            return self._refuse(400, "fields")
        if delivery["id"] in self._seen:
            return self._refuse(409, "replay")
        self._seen.add(delivery["id"])
        self.requests.append({"caller": caller, **delivery})
        if self.status != 200:
            return web.json_response({"error": "not delivered"}, status=self.status)
        self.deliveries.append({"caller": caller, **delivery})
        if self.on_delivery is not None:
            self.on_delivery(delivery)
        return web.json_response({"delivered": kind})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/webhooks/relay/{caller}", self.handle)
        return app

    def texts(self) -> list[str]:
        return [d["text"] for d in self.deliveries if "text" in d]

    def kinds(self) -> list[str]:
        return [d["kind"] for d in self.deliveries]
