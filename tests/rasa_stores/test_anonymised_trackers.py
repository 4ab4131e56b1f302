"""Rasa still loads a conversation after the retention schedule (services runtime,
`python -m bot.cli retention --run`) has redacted its text and deleted its ended sessions.

Rasa (this runtime) writes the tracker, on SQLite and PostgreSQL; the services runtime's command
runs against the same store in a subprocess (the two runtimes cannot share a process); then Rasa's
own stock store and ours read it back: every event is there, of the same kind, in the same order,
with the personal data replaced by placeholders and the identifiers (intents, slots' names, the
verified principal) untouched.
"""
from __future__ import annotations

import asyncio
import os
import subprocess
import time
from pathlib import Path

import sqlalchemy as sa

from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa_runtime.tracker_store import CachingSQLTrackerStore

from .test_caching_tracker_store import DOMAIN, tracker_url  # noqa: F401 - the fixture

ROOT = Path(__file__).resolve().parents[2]
SERVICES_PYTHON = ROOT / ".venv" / "services" / "bin" / "python"
DAY = 86400.0
PII = "my NI number is QQ 12 34 56 C, ring 07700 900123"
PRINCIPAL = {"principal": {"channel": "widget", "tenant": "helpdesk-intranet",
                           "subject": "alice.hughes"}}


def _session(start: float, text: str) -> list:
    events = [ActionExecuted("action_session_start", timestamp=start),
              SessionStarted(timestamp=start + 1),
              ActionExecuted("action_listen", timestamp=start + 2),
              UserUttered(text, {"name": "leave_balance", "confidence": 1.0},
                          entities=[{"entity": "phone", "value": "07700 900123",
                                     "start": 33, "end": 45}],
                          timestamp=start + 3, metadata=PRINCIPAL),
              ActionExecuted("action_leave_balance", timestamp=start + 4),
              BotUttered("We have your number as 07700 900123.", timestamp=start + 5),
              SlotSet("ticket_reference", text, timestamp=start + 6),
              ActionExecuted("action_listen", timestamp=start + 7)]
    return events


def _retention(tracker_url: str, tmp_path: Path) -> str:  # noqa: F811
    env = dict(os.environ, PYTHONPATH=str(ROOT), TRACKER_STORE_URL=tracker_url,
               HELPDESK_DATABASE_URL=f"sqlite:///{tmp_path / 'helpdesk.db'}",
               HELPDESK_RETENTION="conversation_text=30,conversations=365")
    for command in (["migrate"], ["retention", "--run"]):
        done = subprocess.run([str(SERVICES_PYTHON), "-m", "bot.cli", *command], cwd=ROOT,
                              env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_rasa_loads_a_tracker_the_retention_schedule_anonymised(tracker_url: str,  # noqa: F811
                                                                tmp_path: Path) -> None:
    now = time.time()
    old = _session(now - 400 * DAY, "an old question about my leave, NI QQ 98 76 54 A")
    recent = _session(now - 40 * DAY, PII)
    store = SQLTrackerStore(domain=DOMAIN, host=tracker_url)
    tracker = store.init_tracker("conversation-1")
    for event in old + recent:
        tracker.update(event)
    asyncio.run(store.save(tracker))
    store.engine.dispose()

    output = _retention(tracker_url, tmp_path)
    assert "tracker_events_deleted=8" in output and "tracker_events_redacted=" in output

    engine = sa.create_engine(tracker_url)
    with engine.connect() as connection:
        stored = connection.execute(sa.text("SELECT data FROM events ORDER BY id")).all()
    engine.dispose()
    assert len(stored) == len(recent)  # the ended session is gone, the current one whole
    assert not any("QQ 12 34 56 C" in row.data or "07700 900123" in row.data for row in stored)

    for reader in (SQLTrackerStore(domain=DOMAIN, host=tracker_url),
                   CachingSQLTrackerStore(domain=DOMAIN, host=tracker_url)):
        loaded = asyncio.run(reader.retrieve("conversation-1"))
        reader.engine.dispose()
        assert loaded is not None
        # Rasa reads a conversation from its last session start on, as it always does.
        assert [type(e) for e in loaded.events] == [type(e) for e in recent[1:]]
        user = loaded.latest_message
        assert user.text == "my NI number is [NI number], ring [phone]"
        assert user.intent["name"] == "leave_balance"
        assert user.entities[0]["entity"] == "phone"
        assert user.entities[0]["value"] == "[phone]"
        assert user.metadata == PRINCIPAL
        bot = [e for e in loaded.events if isinstance(e, BotUttered)][0]
        assert bot.text == "We have your number as [phone]."
        assert loaded.get_slot("ticket_reference") == user.text
