"""The feed reads user messages from a tracker store shaped like Rasa 3.6's, read-only, on
SQLite and PostgreSQL (given as Rasa writes the URL: `postgresql://`, no driver)."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from bot.handoff.feed import TrackerFeed, read_only_url, tracker_events
from bot.handoff.transcript import FeedTarget


def rasa_style(url: str) -> str:
    """The URL as Rasa's configuration has it (psycopg2 dialect name, no driver)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql":
        parsed = parsed.set(drivername="postgresql")
    return parsed.render_as_string(hide_password=False)


def test_user_messages_of_the_given_conversations_after_their_request(
        database_url: str) -> None:
    engine = create_engine(database_url)
    tracker_events.metadata.create_all(engine)
    rows = [("c1", "user", 10.0, {"text": "before"}), ("c1", "user", 11.0, {"text": "after"}),
            ("c1", "bot", 12.0, {"text": "a bot line"}), ("c2", "user", 13.0, {"text": "other"}),
            ("c1", "user", 14.0, {"text": "  "}), ("c1", "user", 15.0, None)]
    with engine.begin() as connection:
        for sender, kind, stamp, data in rows:
            connection.execute(insert(tracker_events).values(
                sender_id=sender, type_name=kind, timestamp=stamp,
                data=json.dumps(data) if data is not None else "not json"))
    engine.dispose()
    feed = TrackerFeed(rasa_style(database_url))
    try:
        messages = feed.user_messages([FeedTarget(1, "c1", 10.5)])
        assert [(m.conversation_id, m.text) for m in messages] == [("c1", "after")]
        assert feed.user_messages([]) == []
        with pytest.raises(SQLAlchemyError):  # the connection cannot write
            with feed.engine.begin() as connection:
                connection.execute(text("DELETE FROM events"))
    finally:
        feed.dispose()


def test_a_missing_tracker_store_reads_as_empty(database_url: str) -> None:
    feed = TrackerFeed(rasa_style(database_url))  # no events table yet
    try:
        assert feed.user_messages([FeedTarget(1, "c1", 0.0)]) == []
    finally:
        feed.dispose()


def test_in_memory_or_unknown_databases_are_refused() -> None:
    for url in ("sqlite://", "mysql://x@y/z"):
        with pytest.raises(ValueError):
            read_only_url(url)
