"""Sign-in throttling under parallel attempts (issue 21), on SQLite and PostgreSQL.

Twenty threads released together by a barrier guess one agent's password from one address:
exactly five may spend a password hash (the pair limit), the other fifteen are refused before
hashing. The account itself is not locked: the agent signs in from their own address. The
counters reset after their lock-out, so nobody is locked out for good.
"""
from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from bot.handoff import accounts, signin_throttle
from bot.handoff.errors import SignInBusy, SignInFailed
from bot.handoff.models import SigninThrottle
from bot.storage.database import Database

PASSWORD = "correct horse battery staple"
STRANGER, AGENT_DESK = "203.0.113.9", "198.51.100.20"


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Count the password hashes actually verified (a cheap argon2 keeps the test quick)."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    verified: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str, password: str) -> bool:  # noqa: A002 - argon2's name
            verified.append(password)
            return cheap.verify(hash, password)

    monkeypatch.setattr(accounts, "_hasher", Counting(time_cost=1, memory_cost=8,
                                                      parallelism=1))
    monkeypatch.setattr(accounts, "_DUMMY_HASH", cheap.hash("dummy"))
    return verified


@pytest.fixture
def agent(demo_db: Database, counted: list[str]) -> str:
    with demo_db.unit_of_work() as session:
        accounts.create_agent(session, "sam.hr", "Sam Patel", PASSWORD, "hr")
    return "sam.hr"


def attempt(db: Database, password: str, address: str, barrier: threading.Barrier) -> str:
    barrier.wait()
    try:
        accounts.sign_in(db, "sam.hr", password, allow_demo=False, address=address)
    except SignInFailed:
        return "refused"
    return "signed in"


def test_twenty_parallel_wrong_guesses_spend_exactly_five_hashes(
        demo_db: Database, agent: str, counted: list[str]) -> None:
    barrier = threading.Barrier(20)
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda i: attempt(demo_db, f"guess {i:02d} wrong!", STRANGER,
                                                  barrier), range(20)))
    assert results == ["refused"] * 20
    assert len(counted) == signin_throttle.PAIR.attempts == 5  # the limit holds exactly
    with demo_db.unit_of_work() as session:
        pair = session.get(SigninThrottle, ("pair", f"sam.hr|{STRANGER}"))
        assert pair.attempts == 5 and pair.locked_until is not None
    # Even the right password from the stranger's address is refused now, unhashed...
    with pytest.raises(SignInFailed):
        accounts.sign_in(demo_db, "sam.hr", PASSWORD, allow_demo=False, address=STRANGER)
    assert len(counted) == 5
    # ...but the agent, from their own desk, is not locked out by the stranger.
    assert accounts.sign_in(demo_db, "sam.hr", PASSWORD, allow_demo=False,
                            address=AGENT_DESK).agent.username == "sam.hr"


def test_the_lock_ends_so_nobody_is_locked_out_for_good(demo_db: Database, agent: str,
                                                       counted: list[str]) -> None:
    for _ in range(5):
        with pytest.raises(SignInFailed):
            accounts.sign_in(demo_db, "sam.hr", "not the password", allow_demo=False,
                             address=STRANGER)
    with pytest.raises(SignInFailed):
        accounts.sign_in(demo_db, "sam.hr", PASSWORD, allow_demo=False, address=STRANGER)
    later = dt.datetime.now(dt.timezone.utc) + signin_throttle.LOCKOUT + dt.timedelta(seconds=1)
    assert accounts.sign_in(demo_db, "sam.hr", PASSWORD, allow_demo=False, address=STRANGER,
                            now=later).agent


def test_one_address_trying_many_accounts_is_stopped(demo_db: Database, agent: str,
                                                     counted: list[str]) -> None:
    for index in range(signin_throttle.ADDRESS.attempts):
        with pytest.raises(SignInFailed):
            accounts.sign_in(demo_db, f"user{index}", "a guess", allow_demo=False,
                             address=STRANGER)
    hashed = len(counted)
    with pytest.raises(SignInFailed):
        accounts.sign_in(demo_db, "sam.hr", PASSWORD, allow_demo=False, address=STRANGER)
    assert len(counted) == hashed == signin_throttle.ADDRESS.attempts


def test_many_addresses_at_one_account_are_stopped_by_the_account_limit(
        demo_db: Database, agent: str, counted: list[str]) -> None:
    for index in range(signin_throttle.ACCOUNT.attempts):
        with pytest.raises(SignInFailed):
            accounts.sign_in(demo_db, "sam.hr", "a guess", allow_demo=False,
                             address=f"192.0.2.{index}")
    with pytest.raises(SignInFailed):
        accounts.sign_in(demo_db, "sam.hr", PASSWORD, allow_demo=False, address=AGENT_DESK)
    assert len(counted) == signin_throttle.ACCOUNT.attempts


def test_a_success_gives_its_slots_back(demo_db: Database, agent: str,
                                        counted: list[str]) -> None:
    for _ in range(4):
        with pytest.raises(SignInFailed):
            accounts.sign_in(demo_db, "sam.hr", "typo", allow_demo=False, address=AGENT_DESK)
    accounts.sign_in(demo_db, "sam.hr", PASSWORD, allow_demo=False, address=AGENT_DESK)
    with demo_db.unit_of_work() as session:
        assert session.get(SigninThrottle, ("pair", f"sam.hr|{AGENT_DESK}")) is None
        assert session.scalar(select(SigninThrottle.attempts).where(
            SigninThrottle.scope == "address")) == 4


def test_hashes_beyond_the_bound_wait_then_answer_busy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two hashes at once per process; a third waits, and past the wait answers busy (429)."""
    monkeypatch.setattr(accounts, "HASH_WAIT_SECONDS", 0.0)
    held = [accounts._hash_slots.acquire(), accounts._hash_slots.acquire()]
    try:
        with pytest.raises(SignInBusy):
            accounts._verify(accounts._DUMMY_HASH, "x")
    finally:
        for _ in held:
            accounts._hash_slots.release()
    assert accounts._verify(accounts._DUMMY_HASH, "x") is False
