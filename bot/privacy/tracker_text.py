"""Rasa's tracker store, from the services runtime: its events' text redacted in place, old
sessions deleted, an employee's conversations read for a subject access request.

Rasa 3.6's `SQLTrackerStore` keeps one row per event (`events`: id, sender_id, type_name,
timestamp, intent_name, action_name, data), `data` being the event's JSON
(`bot.handoff.feed.tracker_events` describes the table). Anonymising keeps every row and every
key of its JSON and replaces only the strings that can hold what someone typed or was told
(`TEXT_KEYS`: a message's text, an entity's or slot's value, a button's title) by their
redacted form, so Rasa still loads every tracker (tested in tests/rasa_stores against Rasa
itself). The `metadata` of a message is kept: it holds the verified principal, the identifier
that says whose conversation it is (needed for subject access and erasure), not what was said.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url

from bot.redaction import redact

TEXT_KEYS = frozenset({"text", "value", "title", "action_text"})
SKIPPED_KEYS = frozenset({"metadata"})


def writable_url(url: str) -> str:
    """Rasa's tracker store URL, for the services runtime's SQLAlchemy 2 and psycopg 3."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError("the tracker store must be a SQLite file or a server database")
        return url
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    raise ValueError(f"unsupported tracker store database {backend!r}")


def tracker_engine(url: str) -> Engine:
    return create_engine(writable_url(url), pool_pre_ping=True)


def _redact_all(value: Any, clean: Callable[[str], str]) -> Any:
    if isinstance(value, str):
        return clean(value)
    if isinstance(value, list):
        return [_redact_all(item, clean) for item in value]
    if isinstance(value, dict):
        return {key: _redact_all(item, clean) for key, item in value.items()}
    return value


def redact_event(event: Any, clean: Callable[[str], str] = redact) -> Any:
    """The event's JSON with the text someone typed or was told redacted; structure kept."""
    if isinstance(event, list):
        return [redact_event(item, clean) for item in event]
    if not isinstance(event, dict):
        return event
    result = {}
    for key, value in event.items():
        if key in SKIPPED_KEYS:
            result[key] = value
        elif key in TEXT_KEYS:
            result[key] = _redact_all(value, clean)
        else:
            result[key] = redact_event(value, clean)
    return result


def redact_data(data: str | None, clean: Callable[[str], str] = redact) -> str | None:
    """A row's `data` column, redacted (unparseable data is left as it is)."""
    if not data:
        return data
    try:
        event = json.loads(data)
    except ValueError:
        return data
    return json.dumps(redact_event(event, clean), ensure_ascii=False)
