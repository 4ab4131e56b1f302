"""References under concurrency: distinct, gap-free, one ticket per turn, on both databases."""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.identity import Principal
from bot.storage.database import Database
from bot.tickets.models import ServiceLine, Ticket, TicketCounter
from bot.tickets.requester import NewTicket, RaisedTicket, raise_ticket
from bot.tickets.sla import policy_from_settings

POLICY = policy_from_settings(Settings())
PEOPLE = ("alice.hughes", "ben.okafor", "chloe.singh", "daniel.evans", "fatima.rahman")
T = TypeVar("T")


def widget(subject: str) -> Principal:
    return Principal("widget", DEMO_WIDGET_ISSUER, subject)


def all_at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """Run `work(i)` in `count` threads released together by a barrier."""
    barrier = threading.Barrier(count)

    def run(i: int) -> T:
        barrier.wait()
        return work(i)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def raise_for(db: Database, i: int, key: str | None = None,
              category: ServiceLine = ServiceLine.PAYROLL) -> RaisedTicket:
    new = NewTicket(category, f"Concurrent query number {i} about my pay",
                    conversation_id=f"conv-{i}", idempotency_key=key or f"key-{i}")
    return raise_ticket(db, widget(PEOPLE[i % len(PEOPLE)]), new, POLICY)


def test_fifty_concurrent_creations_get_fifty_gap_free_references(demo_db: Database) -> None:
    results = all_at_once(50, lambda i: raise_for(demo_db, i))
    references = sorted(r.summary.reference for r in results)
    assert references == [f"PAY-{n:06d}" for n in range(1, 51)]
    assert all(r.created for r in results)
    with demo_db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 50
        assert session.get(TicketCounter, "PAY").last_number == 50


def test_service_lines_count_separately_under_concurrency(demo_db: Database) -> None:
    lines = [ServiceLine.HR, ServiceLine.FINANCE]
    results = all_at_once(20, lambda i: raise_for(demo_db, i, category=lines[i % 2]))
    references = sorted(r.summary.reference for r in results)
    assert references == sorted([f"HR-{n:06d}" for n in range(1, 11)]
                                + [f"FIN-{n:06d}" for n in range(1, 11)])


def test_retries_of_one_turn_racing_each_other_make_one_ticket(demo_db: Database) -> None:
    results = all_at_once(10, lambda i: raise_for(demo_db, 0, key="same-turn"))
    assert {r.summary.reference for r in results} == {"PAY-000001"}
    assert sum(r.created for r in results) == 1
    # the losers' counter bumps were rolled back: the next ticket has the next number
    assert raise_for(demo_db, 1).summary.reference == "PAY-000002"


def test_a_failed_creation_gives_its_number_back(demo_db: Database,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    import bot.tickets.requester as requester

    def broken_subject(_: str) -> str:
        raise RuntimeError("fails after the number was taken")

    monkeypatch.setattr(requester, "subject_from", broken_subject)
    with pytest.raises(RuntimeError):
        raise_for(demo_db, 0)
    monkeypatch.undo()
    assert raise_for(demo_db, 1).summary.reference == "PAY-000001"


def test_the_schema_refuses_a_duplicate_reference(demo_db: Database) -> None:
    from sqlalchemy.exc import IntegrityError

    first = raise_for(demo_db, 0).summary
    with pytest.raises(IntegrityError):
        with demo_db.unit_of_work() as session:
            original = session.scalar(select(Ticket).where(Ticket.reference == first.reference))
            session.add(Ticket(
                reference=first.reference, prefix="PAY", number=2,
                requester_id=original.requester_id,
                category=original.category, subject="x", description="x" * 10,
                priority=original.priority, status=original.status,
                response_due_at=original.response_due_at,
                resolution_due_at=original.resolution_due_at, response_breached=False,
                resolution_breached=False, reopen_count=0))
