"""The action server dies after the ticket is committed and before it replies; the turn is
retried: exactly one ticket, and the retry's reply carries its reference.

The real rasa-sdk action server runs as a subprocess. The first one is started through the
test-only `crashing_action_server` module: the Sanic worker running the action `os._exit`s
right after the commit, as a killed process would, so Rasa's call gets no reply. The server is
then stopped (as an orchestrator replaces a failed container) and a new one, the ordinary
`python -m rasa_sdk`, receives the very same action call that Rasa sends again for the
retried turn.
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from typing import IO
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.storage.database import Database
from bot.tickets.models import Ticket, TicketCounter
from tests.action_server_support import PRINCIPAL_KEY, TOKEN, sign

from . import crashing_action_server

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def action_server(database_url: str, crash: bool) -> Iterator[tuple[str, IO[bytes]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("HELPDESK_")}
    env.update(PYTHONPATH=str(ROOT), HELPDESK_DATABASE_URL=database_url,
               SANIC_HOST="127.0.0.1", SQLALCHEMY_SILENCE_UBER_WARNING="1",
               ACTION_SERVER_TOKEN=TOKEN, HELPDESK_PRINCIPAL_KEY=PRINCIPAL_KEY)
    server = crashing_action_server.__name__ if crash else "actions.server"
    log = tempfile.TemporaryFile()  # a file, not a pipe: a chatty server never blocks on it
    process = subprocess.Popen(
        [sys.executable, "-m", server, "--actions", "actions", "--port", str(port)],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while True:  # readiness probe: poll /health until it answers or the process dies
            try:
                with urllib.request.urlopen(url + "/health", timeout=2) as response:
                    if response.status == 200:
                        break
            except OSError:  # refused, reset or timed out: not ready yet
                pass
            try:
                process.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                pass
            else:
                log.seek(0)
                raise RuntimeError(f"action server exited: {log.read()[-2000:]!r}")
            if time.monotonic() > deadline:
                raise RuntimeError("action server not ready")
        yield url, log
    finally:
        # Sanic runs workers in child processes: stop the whole group this test started.
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        log.close()


def action_call(sender_id: str) -> dict[str, Any]:
    """What Rasa 3.6 POSTs for action_ticket_create after a confirmed form."""
    message_id = "3f2c9a7e5b1d4c8e9f0a1b2c3d4e5f60"
    metadata = sign({"channel": "widget", "tenant": DEMO_WIDGET_ISSUER,
                     "subject": "alice.hughes"}, sender_id, message_id, "yes")
    latest = {"intent": {"name": "affirm", "confidence": 0.99}, "entities": [], "text": "yes",
              "message_id": message_id, "metadata": metadata}
    return {
        "next_action": "action_ticket_create",
        "sender_id": sender_id,
        "version": "3.6.21",
        "domain": {"slots": {}, "responses": {}, "actions": [], "forms": {}},
        "tracker": {
            "sender_id": sender_id,
            "slots": {"ticket_category": "payroll",
                      "ticket_description": "My overtime for October has not been paid",
                      "ticket_priority": "high", "ticket_confirmed": True,
                      "requested_slot": None},
            "latest_message": latest,
            "latest_event_time": 1795680000.0,
            "followup_action": None,
            "paused": False,
            "events": [{"event": "user", "timestamp": 1795680000.0, "text": "yes",
                        "parse_data": latest, "metadata": metadata, "input_channel": "widget"}],
            "latest_input_channel": "widget",
            "active_loop": {},
            "latest_action": {"action_name": "ticket_form"},
            "latest_action_name": "ticket_form",
        },
    }


def post(url: str, payload: dict[str, Any], timeout: float = 30) -> dict[str, Any]:
    request = urllib.request.Request(url + "/webhook", data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json",
                                              "Authorization": f"Bearer {TOKEN}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def tickets(db: Database) -> list[tuple[str, str | None]]:
    with db.unit_of_work() as session:
        return [(t.reference, t.conversation_id) for t in session.scalars(select(Ticket))]


def test_a_crash_after_commit_then_a_retry_gives_one_ticket_and_the_reference(
    demo_db: Database,
) -> None:
    url = demo_db.engine.url.render_as_string(hide_password=False)
    payload = action_call("widget-crash-test")

    with action_server(url, crash=True) as (server, log):
        with pytest.raises(OSError):  # connection closed without a reply (or no reply in time)
            post(server, payload, timeout=20)
        log.seek(0)
        assert crashing_action_server.FAULT_MESSAGE.encode() in log.read()

    [(reference, conversation)] = tickets(demo_db)  # the commit happened before the crash
    assert conversation == "widget-crash-test"

    with action_server(url, crash=False) as (server, _):
        answer = post(server, payload)  # Rasa retries the same turn

    [message] = answer["responses"]
    assert f"Your query is logged as {reference}." in message["text"]
    assert tickets(demo_db) == [(reference, "widget-crash-test")]
    with demo_db.unit_of_work() as session:
        assert session.get(TicketCounter, "PAY").last_number == 1
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
    # the form's slots are cleared for the next query
    assert {"event": "slot", "name": "ticket_confirmed", "value": None} in [
        {k: e.get(k) for k in ("event", "name", "value")} for e in answer["events"]]
