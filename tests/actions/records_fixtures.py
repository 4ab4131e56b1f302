"""Fixtures for the records action tests: a copy of the records demo, a pinned today."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from bot.storage.database import Database
from tests.records_support import TODAY, records_database, widget_metadata


@pytest.fixture
def records_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Database]:
    with records_database("sqlite", tmp_path, employees=12) as db:
        services.use_database(db)
        monkeypatch.setattr(services, "today", lambda: TODAY)
        try:
            yield db
        finally:
            services.use_database(None)


def tracker(
    text: str,
    intent: str,
    subject: str | None = "alice.hughes",
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    sender_id: str = "widget-test",
) -> Tracker:
    meta = metadata if metadata is not None else (widget_metadata(subject) if subject else {})
    latest = {
        "text": text,
        "intent": {"name": intent, "confidence": 0.99},
        "entities": entities or [],
        "metadata": meta,
    }
    events = [{"event": "user", "text": text, "parse_data": latest, "metadata": meta}]
    return Tracker(sender_id, slots or {}, latest, events, False, None, {}, "action_listen")


async def said(action: Any, tr: Tracker) -> list[str]:
    dispatcher = CollectingDispatcher()
    await action.run(dispatcher, tr, {})
    return [m.get("text") or m.get("response") for m in dispatcher.messages]
