"""Writes a chat turn makes to a system of record: once each, reconciled when in doubt.

Every write carries the turn's key as its client reference (`turn_key`, the pattern of
bot/tickets/requester.py). `write_once` keeps a ledger row per key (`backoffice_writes`):

1. A new key is recorded `pending`, then the adapter writes with that client reference.
2. The write's result and the caller's follow-up (notice, audit) commit with the ledger row
   marked `done`: a retry of the turn finds `done` and replays the record, writing nothing.
3. A write whose outcome is unknown (a timeout after the request went out) is marked
   `unknown` and `OutcomeUnknown` is raised: it is never guessed. The next attempt with that
   key (the retried turn, or `reconcile`) first asks the system of record whether a record
   with that client reference exists; only if it does not is the write sent again, and the
   adapters' writes are themselves idempotent on the reference.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.storage.database import Database
from bot.storage.times import utcnow

from .errors import OutcomeUnknown
from .models import BackOfficeWrite, WriteState

R = TypeVar("R")
F = TypeVar("F")


def one_off_key() -> str:
    """A client reference for a write that is not a chat turn's (an operator, a test)."""
    return uuid.uuid4().hex[:40]


def turn_key(kind: str, conversation_id: str, turn_id: str) -> str:
    """The client reference of one write of one conversation turn (40 hex characters)."""
    return hashlib.sha256(f"{kind}\n{conversation_id}\n{turn_id}".encode()).hexdigest()[:40]


def _claim(db: Database, key: str, employee_id: int, kind: str, system: str) -> WriteState | None:
    """Record the key as pending; the state it already had, if any."""
    try:
        with db.unit_of_work() as session:
            row = session.scalar(select(BackOfficeWrite).where(BackOfficeWrite.client_reference == key))
            if row is not None:
                if row.employee_id != employee_id or row.kind != kind:
                    raise ValueError("client reference reused for another write")
                return row.state
            moment = utcnow()
            session.add(BackOfficeWrite(client_reference=key, employee_id=employee_id, kind=kind,
                                        system=system, state=WriteState.PENDING,
                                        created_at=moment, updated_at=moment))
            return None
    except IntegrityError:  # a racing retry of the same turn recorded it first
        return WriteState.PENDING


def _mark(session: Session, key: str, state: WriteState, reference: str | None = None) -> None:
    row = session.scalar(select(BackOfficeWrite).where(BackOfficeWrite.client_reference == key))
    if row is not None:
        row.state = state
        row.record_reference = reference or row.record_reference
        row.updated_at = utcnow()


def _forget(db: Database, key: str) -> None:
    """The write definitely did not happen (refused, or never sent): the key may be used again."""
    with db.unit_of_work() as session:
        row = session.scalar(select(BackOfficeWrite).where(BackOfficeWrite.client_reference == key))
        if row is not None and row.state is not WriteState.DONE:
            session.delete(row)


def write_once(
    db: Database,
    *,
    key: str,
    employee_id: int,
    kind: str,
    system: str,
    find: Callable[[], R | None],
    write: Callable[[], R],
    reference_of: Callable[[R], str],
    follow_up: Callable[[Session, R, bool], F],
) -> tuple[R, F]:
    """Run `write` at most once per key; `follow_up(session, result, created)` commits with
    the ledger's `done` (its `created` is False when the write had landed before)."""
    earlier = _claim(db, key, employee_id, kind, system)
    result: R | None = None
    created = False
    if earlier is not None:
        result = find()  # reconcile: did an earlier attempt land?
    if result is None:
        try:
            result = write()
            created = earlier is None
        except OutcomeUnknown:
            with db.unit_of_work() as session:
                _mark(session, key, WriteState.UNKNOWN)
            raise
        except Exception:
            if earlier is None:
                _forget(db, key)
            raise
    with db.unit_of_work() as session:
        _mark(session, key, WriteState.DONE, reference_of(result))
        followed = follow_up(session, result, created)
    return result, followed


def unknown_writes(db: Database, employee_id: int, kind: str) -> list[str]:
    """Keys of this employee's writes whose outcome is still unknown (to reconcile)."""
    with db.unit_of_work() as session:
        return list(session.scalars(
            select(BackOfficeWrite.client_reference).where(
                BackOfficeWrite.employee_id == employee_id,
                BackOfficeWrite.kind == kind,
                BackOfficeWrite.state == WriteState.UNKNOWN,
            )
        ))


def settle(db: Database, key: str, reference: str | None,
           follow_up: Callable[[Session], None] | None = None) -> None:
    """Reconciliation found the record (`reference`) or proved it absent (None: forgotten)."""
    if reference is None:
        _forget(db, key)
        return
    with db.unit_of_work() as session:
        _mark(session, key, WriteState.DONE, reference)
        if follow_up is not None:
            follow_up(session)
