"""The host-local lock store: Rasa's ticket locks shared by the workers of one host.

Two store objects on one file stand for two Sanic workers; the cross-process test uses real
processes. endpoints.yml must build the store from the embedded default's variables, and Rasa
must then allow more than one worker.
"""
from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path

import pytest

from rasa.core.lock_store import LockError, LockStore
from rasa.core.utils import number_of_sanic_workers

from rasa_runtime.host_database import database_path
from rasa_runtime.lock_store import SQLiteLockStore

from .test_endpoints_stores import configure

STORE_TYPE = "rasa_runtime.lock_store.SQLiteLockStore"
POLL_SECONDS = 0.01  # Rasa's own polling interval while a ticket waits (default 1 s)


def two_workers(path: Path) -> tuple[SQLiteLockStore, SQLiteLockStore]:
    return SQLiteLockStore(path=str(path)), SQLiteLockStore(path=f"sqlite:///{path}")


def test_endpoints_yml_builds_it_and_rasa_then_allows_two_workers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    endpoints = configure(monkeypatch, LOCK_STORE_TYPE=STORE_TYPE,
                          LOCK_STORE_HOST=str(tmp_path / "locks.db"))
    store = LockStore.create(endpoints.lock_store)
    assert isinstance(store, SQLiteLockStore)
    assert store.path == tmp_path / "locks.db"
    monkeypatch.setenv("SANIC_WORKERS", "2")
    assert number_of_sanic_workers(endpoints.lock_store) == 2


def test_a_missing_path_is_refused_at_start_up() -> None:
    with pytest.raises(ValueError, match="LOCK_STORE_HOST"):
        SQLiteLockStore(path=" ")
    assert database_path("sqlite:///var/x.db") == Path("var/x.db")


def test_tickets_are_numbered_across_workers(tmp_path: Path) -> None:
    first, second = two_workers(tmp_path / "locks.db")
    numbers = [first.issue_ticket("c1"), second.issue_ticket("c1"), first.issue_ticket("c1")]
    assert numbers == [0, 1, 2]  # Rasa numbers a conversation's tickets from 0
    assert second.issue_ticket("other") == 0
    lock = first.get_lock("c1")
    assert lock is not None and lock.now_serving == 0 and lock.last_issued == 2


def test_finishing_the_last_ticket_removes_the_lock(tmp_path: Path) -> None:
    first, second = two_workers(tmp_path / "locks.db")
    one, two = first.issue_ticket("c1"), second.issue_ticket("c1")
    first.cleanup("c1", one)
    lock = second.get_lock("c1")
    assert lock is not None and lock.now_serving == two
    second.cleanup("c1", two)
    assert first.get_lock("c1") is None and not first.is_someone_waiting("c1")


def test_expired_tickets_no_longer_hold_the_conversation(tmp_path: Path) -> None:
    first, second = two_workers(tmp_path / "locks.db")
    first.issue_ticket("c1", lock_lifetime=-1)  # a crashed worker's ticket, already expired
    ticket = second.issue_ticket("c1")
    lock = second.get_lock("c1")
    assert lock is not None and not lock.is_locked(ticket)


def test_a_worker_waits_for_the_other_workers_turn(tmp_path: Path) -> None:
    first, second = two_workers(tmp_path / "locks.db")
    order: list[str] = []

    async def scenario() -> None:
        released = asyncio.Event()

        async def waiting_worker() -> None:
            async with second.lock("c1", wait_time_in_seconds=POLL_SECONDS):
                order.append("second holds")

        async with first.lock("c1", wait_time_in_seconds=POLL_SECONDS):
            order.append("first holds")
            waiter = asyncio.create_task(waiting_worker())
            while not second.is_someone_waiting("c1") or second.get_lock("c1").last_issued < 1:
                await asyncio.sleep(0)  # let the waiter take its ticket
            await asyncio.sleep(POLL_SECONDS * 5)  # it polls several times meanwhile
            order.append("first releases")
            released.set()
        await waiter

    asyncio.run(scenario())
    assert order == ["first holds", "first releases", "second holds"]
    assert first.get_lock("c1") is None


def test_a_waiter_whose_ticket_expired_with_the_holders_fails_instead_of_waiting_forever(
        tmp_path: Path) -> None:
    """Rasa's base store saves the emptied lock, and the waiter then polls it for ever; here
    the row goes with its last ticket, so the waiter gets Rasa's LockError."""
    first, second = two_workers(tmp_path / "locks.db")
    # A holder that never finishes (crashed); its ticket outlives the waiter's, so the waiter
    # is never served: it polls until the holder's ticket expires too.
    first.issue_ticket("c1", lock_lifetime=1.0)

    async def wait_with_a_short_ticket() -> None:
        async with second.lock("c1", lock_lifetime=0.05, wait_time_in_seconds=POLL_SECONDS):
            pass

    with pytest.raises(LockError):
        asyncio.run(wait_with_a_short_ticket())


def _issue_many(path: str, conversation: str, count: int, results: "multiprocessing.Queue") -> None:
    store = SQLiteLockStore(path=path)
    results.put([store.issue_ticket(conversation) for _ in range(count)])


def test_two_processes_never_issue_the_same_ticket(tmp_path: Path) -> None:
    path, count = str(tmp_path / "locks.db"), 150
    SQLiteLockStore(path=path)  # the file and its table exist before the race
    context = multiprocessing.get_context("fork")  # each child opens its own connection
    results = context.Queue()
    workers = [context.Process(target=_issue_many, args=(path, "c1", count, results))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    issued = [results.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert all(numbers == sorted(numbers) for numbers in issued)
    assert sorted(issued[0] + issued[1]) == list(range(2 * count))
