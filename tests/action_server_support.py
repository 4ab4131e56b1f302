"""The guarded action server (actions/server.py) on a loopback port, in a thread of its own,
with a records demo database: for the forged-call battery and the action server's fuzz suite.

Also a signer, standing in for the connectors (`connectors/principal.py`, Rasa runtime), built
on the shared payload definition `bot.principal_proof.proof_payload`.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from rasa_sdk.executor import ActionExecutor
from sanic import Sanic

from actions.server import Guard, build_app
from bot.principal_proof import proof_payload

TOKEN = "action-server-token-for-tests-" + "t" * 20
PRINCIPAL_KEY = "principal-key-for-action-server-tests-" + "k" * 12


def sign(principal: dict[str, Any], sender_id: str, message_id: str, text: str,
         issued_at: int | None = None, key: str = PRINCIPAL_KEY) -> dict[str, Any]:
    """The metadata a connector writes: the principal and its proof."""
    iat = int(time.time()) if issued_at is None else issued_at
    mac = hmac.new(key.encode(), proof_payload(principal, sender_id, message_id, text, iat),
                   hashlib.sha256).hexdigest()
    return {"principal": principal, "principal_proof": {"v": 1, "iat": iat, "mac": mac}}


def action_call(action: str, sender_id: str, text: str, metadata: dict[str, Any],
                message_id: str | None = None, intent: str = "leave_balance",
                entities: list[dict[str, Any]] | None = None,
                slots: dict[str, Any] | None = None) -> dict[str, Any]:
    """An action call as Rasa 3.6 sends it (the parts rasa-sdk reads)."""
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99},
              "entities": entities or [], "message_id": message_id or uuid.uuid4().hex,
              "metadata": metadata}
    return {
        "next_action": action, "sender_id": sender_id, "version": "3.6.21",
        "domain": {"slots": {}, "responses": {}, "intents": [], "entities": [], "forms": {},
                   "actions": []},
        "tracker": {"sender_id": sender_id, "slots": slots or {}, "latest_message": latest,
                    "events": [{"event": "user", "text": text, "parse_data": latest,
                                "metadata": metadata}],
                    "paused": False, "followup_action": None, "active_loop": {},
                    "latest_action_name": "action_listen", "latest_action": {}},
    }


@dataclass
class RunningActionServer:
    base_url: str
    loop: asyncio.AbstractEventLoop
    runs: list[str] = field(default_factory=list)  # action names the executor actually ran


def start_action_server() -> tuple[RunningActionServer, threading.Thread]:
    executor = ActionExecutor()
    executor.register_package("actions")
    original = executor.run

    server_state: dict[str, Any] = {}

    async def counting_run(call: dict[str, Any]) -> Any:
        server_state["running"].runs.append(call.get("next_action"))
        return await original(call)

    executor.run = counting_run  # type: ignore[method-assign]
    Sanic.test_mode = True  # rasa-sdk names every app "rasa_sdk"; tests may build it again
    app = build_app(executor, Guard(TOKEN, PRINCIPAL_KEY))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    loop = asyncio.new_event_loop()
    ready = threading.Event()

    async def start() -> None:
        server = await app.create_server(host="127.0.0.1", port=port,
                                         return_asyncio_server=True, access_log=False)
        await server.startup()
        await server.before_start()
        await server.after_start()
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()),
                                              loop.run_forever()), daemon=True)
    thread.start()
    if not ready.wait(timeout=30):
        raise RuntimeError("the action server did not start")
    running = RunningActionServer(f"http://127.0.0.1:{port}", loop)
    server_state["running"] = running
    return running, thread
