"""The records outbox on both databases: a notice is enqueued with its change, goes to the
recipient's latest conversation, and is delivered once even when two pushes race."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.backoffice.types import LeaveType
from bot.leave.booking import book_leave
from bot.records.dates import DateRange
from bot.records.notifications import claim, remember_conversation
from bot.storage.database import Database
from tests.records_support import TODAY, records_database, widget

ALICE, CHLOE = widget("alice.hughes"), widget("chloe.singh")
MARCH = DateRange(
    TODAY.replace(year=2027, month=3, day=3), TODAY.replace(year=2027, month=3, day=5)
)


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    with records_database(request.param, tmp_path, employees=12) as database:
        yield database


def test_the_request_goes_to_the_managers_latest_conversation(db: Database) -> None:
    remember_conversation(db, CHLOE, "widget-old")
    remember_conversation(db, CHLOE, "msteams-new")
    booked = book_leave(db, ALICE, LeaveType.ANNUAL, MARCH, TODAY)
    assert booked.notify_conversation == "msteams-new"
    [notice] = claim(db, CHLOE)
    assert notice.decision_reference.endswith("-" + booked.reference) and "Alice Hughes" in notice.text
    assert claim(db, CHLOE) == []


def test_a_failed_booking_enqueues_nothing(db: Database) -> None:
    book_leave(db, ALICE, LeaveType.ANNUAL, MARCH, TODAY)
    claim(db, CHLOE)
    with pytest.raises(Exception):
        book_leave(db, ALICE, LeaveType.ANNUAL, MARCH, TODAY)  # overlaps the first
    assert claim(db, CHLOE) == []


def test_two_racing_deliveries_say_it_once(db: Database) -> None:
    book_leave(db, ALICE, LeaveType.ANNUAL, MARCH, TODAY)
    barrier = threading.Barrier(2)
    results: list[int] = []

    def deliver() -> None:
        barrier.wait()
        results.append(len(claim(db, CHLOE)))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [0, 1]
