"""A unit of work that holds the database long is logged with its caller (and nothing else)."""
from __future__ import annotations

import logging

import pytest

from bot.storage import database
from bot.storage.database import Database


def raise_a_ticket_slowly(db: Database) -> None:
    with db.unit_of_work() as session:
        session.connection()


def test_a_slow_unit_of_work_names_its_caller(monkeypatch: pytest.MonkeyPatch,
                                             caplog: pytest.LogCaptureFixture) -> None:
    db = Database("sqlite://")
    try:
        monkeypatch.setattr(database, "SLOW_UNIT_OF_WORK_SECONDS", 0.0)
        with caplog.at_level(logging.WARNING, logger="bot.storage.database"):
            raise_a_ticket_slowly(db)
        [record] = caplog.records
        assert record.getMessage().endswith(
            "caller=test_slow_unit_of_work.raise_a_ticket_slowly")
        monkeypatch.setattr(database, "SLOW_UNIT_OF_WORK_SECONDS", 60.0)
        caplog.clear()
        raise_a_ticket_slowly(db)
        assert caplog.records == []
    finally:
        db.dispose()
