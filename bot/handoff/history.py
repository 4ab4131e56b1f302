"""The employee's recent conversation, read from Rasa's tracker store for the chat's continuity:
opening or reloading the chat (the full page or the embedded widget) shows what was said,
including what the assistant, an agent or a notification said while the employee was away.

Read-only, like `feed.py` (the same table and connection rules). Only what the chat itself
shows leaves here: who spoke (the employee, the assistant, a named agent), the text, buttons
(their titles and payloads) and images, and the tracker's event id and time. A button the
employee pressed is stored as its payload; it is shown as the button's title, as it was when
pressed, and a payload whose button is not found is shown as "(chose an option)".
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import create_engine, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from .feed import read_only_url, tracker_events

log = logging.getLogger(__name__)

MAX_MESSAGES = 50
CHOSE_AN_OPTION = "(chose an option)"


@dataclass(frozen=True)
class HistoryMessage:
    event_id: int
    at: float
    author: str  # "you", "assistant" or "agent"
    message: dict[str, Any]  # as the chat shows it: text, buttons, image, author

    def as_json(self) -> dict[str, Any]:
        return {"id": self.event_id, "at": self.at, "from": self.author, **self.message}


def _buttons(value: Any) -> list[dict[str, str]]:
    if not isinstance(value, list):
        return []
    return [{"title": b["title"], "payload": b["payload"]} for b in value
            if isinstance(b, dict) and isinstance(b.get("title"), str)
            and isinstance(b.get("payload"), str)]


def _event(data: str | None) -> dict[str, Any] | None:
    try:
        event = json.loads(data or "null")
    except (ValueError, RecursionError):
        return None
    return event if isinstance(event, dict) else None


class ConversationHistory:
    """Recent user and bot events of one conversation, oldest first."""

    def __init__(self, url: str) -> None:
        target, connect_args = read_only_url(url)
        self.engine: Engine = create_engine(target, pool_pre_ping=True,
                                            connect_args=connect_args)

    def recent(self, conversation_id: str, limit: int = MAX_MESSAGES) -> list[HistoryMessage]:
        query = (select(tracker_events.c.id, tracker_events.c.type_name,
                        tracker_events.c.timestamp, tracker_events.c.data)
                 .where(tracker_events.c.sender_id == conversation_id,
                        tracker_events.c.type_name.in_(("user", "bot")))
                 .order_by(tracker_events.c.id.desc()).limit(limit * 2))
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(query).all()
        except SQLAlchemyError as error:  # e.g. Rasa has not created its tables yet
            log.warning("history.unavailable error=%s", type(error).__name__)
            return []
        messages: list[HistoryMessage] = []
        titles: dict[str, str] = {}
        for event_id, kind, timestamp, data in reversed(rows):
            event = _event(data)
            if event is None:
                continue
            at = float(timestamp or 0.0)
            if kind == "bot":
                shown = self._bot_message(event)
                if shown is None:
                    continue
                titles = {b["payload"]: b["title"] for b in shown.get("buttons", [])}
                author = "agent" if "author" in shown else "assistant"
                messages.append(HistoryMessage(int(event_id), at, author, shown))
            else:
                text = event.get("text")
                if not isinstance(text, str) or not text.strip():
                    continue
                text = text.strip()
                if text.startswith("/"):
                    text = titles.get(text, CHOSE_AN_OPTION)
                messages.append(HistoryMessage(int(event_id), at, "you", {"text": text}))
        return messages[-limit:]

    @staticmethod
    def _bot_message(event: dict[str, Any]) -> dict[str, Any] | None:
        shown: dict[str, Any] = {}
        if isinstance(event.get("text"), str) and event["text"]:
            shown["text"] = event["text"]
        data = event.get("data") if isinstance(event.get("data"), dict) else {}
        buttons = _buttons(data.get("buttons"))
        if buttons:
            shown["buttons"] = buttons
        if isinstance(data.get("image"), str) and data["image"]:
            shown["image"] = data["image"]
        metadata = event.get("metadata") if isinstance(event.get("metadata"), dict) else {}
        author = metadata.get("handoff_author")
        if isinstance(author, str) and author:
            shown["author"] = author
        return shown if ("text" in shown or "image" in shown or "buttons" in shown) else None

    def dispose(self) -> None:
        self.engine.dispose()
