"""Actions run against real rasa-sdk Trackers and a migrated SQLite demo database."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.storage.database import Database
from tests.databases import demo_database

TODAY = dt.date(2026, 11, 26)


@pytest.fixture
def demo_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    """Actions see a fresh demo database and a pinned 'today'."""
    with demo_database("sqlite", tmp_path, TODAY) as db:
        services.use_database(db)
        monkeypatch.setattr(services, "today", lambda: TODAY)
        try:
            yield db
        finally:
            services.use_database(None)


def widget_metadata(subject: str, issuer: str = DEMO_WIDGET_ISSUER) -> dict[str, Any]:
    return {"principal": {"channel": "widget", "tenant": issuer, "subject": subject}}


def make_tracker(
    text: str = "how much leave do I have left?",
    intent: str = "leave_balance",
    metadata: dict[str, Any] | None = None,
    slots: dict[str, Any] | None = None,
    entities: list[dict[str, Any]] | None = None,
    sender_id: str = "widget-test",
) -> Tracker:
    """A tracker whose latest user message carries the given (connector-written) metadata."""
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": entities or [],
        "metadata": metadata if metadata is not None else {},
    }
    events = [{"event": "user", "text": text, "parse_data": latest, "metadata": latest["metadata"]}]
    return Tracker(sender_id, slots or {}, latest, events, False, None, {}, "action_listen")


def texts(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("text") or m.get("response") for m in dispatcher.messages]
