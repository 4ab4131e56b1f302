"""The employee's messages during a handoff, read from Rasa's own tracker store.

While a conversation is paused Rasa predicts nothing, but it still parses and stores every user
message in its tracker store. The web app copies the user messages of open handoffs from there
into the handoff transcript (`transcript.record_employee_messages`) twice a second, whatever the
channel (widget, Teams, Slack) and whichever Rasa replica took the message.

Why the tracker store and not Rasa's event broker: it needs no extra service and no extra Rasa
configuration (the embedded default stays zero-set-up), works the same on SQLite and
PostgreSQL, and costs one indexed query per poll whatever the number of open handoffs. The
price is reading Rasa 3.6's `events` table directly; its schema (`SQLTrackerStore.SQLEvent`:
id, sender_id, type_name, timestamp, intent_name, action_name, data) is fixed for good, since
3.6 is the last open-source Rasa. The connection is read-only (SQLite `mode=ro`; PostgreSQL
`default_transaction_read_only`), so the web app cannot change a tracker.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Sequence

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, select
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError

from .transcript import FeedMessage, FeedTarget

log = logging.getLogger(__name__)

# Rasa 3.6's SQLTrackerStore table, as it creates it (read-only here).
tracker_events = Table(
    "events", MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def read_only_url(url: str) -> tuple[str, dict]:
    """The services-runtime URL of Rasa's tracker store, opened read-only, and connect args."""
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        path = parsed.database or ""
        if not path or path == ":memory:":
            raise ValueError("the tracker store must be a SQLite file or a server database")
        return f"sqlite:///file:{path}?mode=ro&uri=true", {}
    if backend == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
        return (parsed.render_as_string(hide_password=False),
                {"options": "-c default_transaction_read_only=on"})
    raise ValueError(f"unsupported tracker store database {backend!r}")


def _text(data: str | None) -> str | None:
    try:
        event = json.loads(data or "null")
    except ValueError:
        return None
    text = event.get("text") if isinstance(event, dict) else None
    return text.strip() if isinstance(text, str) and text.strip() else None


class TrackerFeed:
    """Reads new user messages of given conversations from Rasa's tracker store."""

    def __init__(self, url: str) -> None:
        target, connect_args = read_only_url(url)
        self.engine: Engine = create_engine(target, pool_pre_ping=True,
                                            connect_args=connect_args)
        self._warned = False

    def user_messages(self, targets: Sequence[FeedTarget]) -> list[FeedMessage]:
        if not targets:
            return []
        since = min(t.feed_since for t in targets)
        query = (select(tracker_events.c.id, tracker_events.c.sender_id,
                        tracker_events.c.timestamp, tracker_events.c.data)
                 .where(tracker_events.c.type_name == "user",
                        tracker_events.c.sender_id.in_({t.conversation_id for t in targets}),
                        tracker_events.c.timestamp > since)
                 .order_by(tracker_events.c.id))
        try:
            with self.engine.connect() as connection:
                rows = connection.execute(query).all()
        except SQLAlchemyError as error:  # e.g. Rasa has not created its tables yet
            if not self._warned:
                log.warning("handoff.feed.unavailable error=%s", type(error).__name__)
                self._warned = True
            return []
        self._warned = False
        messages = []
        for event_id, sender_id, timestamp, data in rows:
            text = _text(data)
            if text is not None and timestamp is not None:
                messages.append(FeedMessage(sender_id, int(event_id), float(timestamp), text))
        return messages

    def dispose(self) -> None:
        self.engine.dispose()
