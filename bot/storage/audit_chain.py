"""The audit trail's hash chain: every `audit_events` row names the hash of the one before.

Appending. Code adds `AuditEvent` objects to its unit of work as before (`bot.audit`); a session
hook holds them back from the ordinary flush and appends them at commit, after everything else
the unit of work wrote: it bumps the one-row `audit_chain_head` (an UPDATE, which locks the row
until the commit, so concurrent writers take turns in any number of processes, on PostgreSQL
and on SQLite, whose write lock serialises them anyway), gives each event the next `seq`, the
previous row's hash as `prev_hash` and its own `row_hash`, inserts them, and records the new
head. The head is taken last so that a transaction holding it waits for nothing else: no
deadlock with the row locks the unit of work took before (audit rows carry no foreign keys).
An event and the change it records commit together or not at all.

Hashing. `row_hash` = SHA-256 over a canonical JSON array of the row's values (seq, time as UTC
ISO-8601 with microseconds, channel, actor, employee ids, record type, action, outcome, reason,
target) and `prev_hash`. The first row's `prev_hash` is 64 zeros; after the retention schedule
prunes old rows (`audit_prunes`) the first remaining row names the last pruned row's hash.

Verifying (`verify`, `python -m bot.cli verify-audit`): every row's hash is recomputed, every
link and `seq` checked, and the head compared with the last row, so a changed row (its hash no
longer matches), a deleted row (a gap, a broken link) and an inserted row (a broken link, or a
row past the head) are each found. What a chain kept in the same database cannot show is a
rewrite of the whole tail by someone who can also write the head; exporting the trail to a
SIEM (rows carry their hashes) and `verify-audit --expect SEQ:HASH` against an exported row
close that gap.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, insert, select, update
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from .models import AuditChainHead, AuditEvent, AuditPrune, utcnow

GENESIS = "0" * 64
HEAD_ID = 1
HASHED_COLUMNS = ("seq", "at", "channel", "actor_principal", "actor_employee_id",
                  "subject_employee_id", "record_type", "action", "outcome", "reason", "target")
_PENDING = "audit_events_pending"


def canonical_time(moment: dt.datetime) -> str:
    """UTC, microseconds, no zone suffix: the same text whichever database returned it."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


def row_hash(values: dict[str, Any], prev_hash: str) -> str:
    """The hash of one row's values, chained to `prev_hash`."""
    items: list[Any] = []
    for name in HASHED_COLUMNS:
        value = values.get(name)
        if name == "at":
            value = canonical_time(value)
        elif hasattr(value, "value"):  # an enum
            value = value.value
        items.append(value)
    items.append(prev_hash)
    text = json.dumps(items, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- appending --------------------------------------------------------------------------------

def _event_values(audit: AuditEvent) -> dict[str, Any]:
    return {
        "at": audit.at or utcnow(), "channel": audit.channel,
        "actor_principal": audit.actor_principal, "actor_employee_id": audit.actor_employee_id,
        "subject_employee_id": audit.subject_employee_id, "record_type": audit.record_type,
        "action": audit.action, "outcome": audit.outcome, "reason": audit.reason,
        "target": audit.target,
    }


def append(connection: Connection | Session, events: Sequence[dict[str, Any]]) -> int:
    """Append `events` (column values, without seq and hashes) to the chain; the last seq.

    Must run inside the caller's transaction, as its last statements.
    """
    end_seq, previous = connection.execute(
        update(AuditChainHead).where(AuditChainHead.id == HEAD_ID)
        .values(seq=AuditChainHead.seq + len(events))
        .returning(AuditChainHead.seq, AuditChainHead.last_hash)).one()
    rows = []
    for offset, values in enumerate(events):
        row = dict(values, seq=end_seq - len(events) + offset + 1)
        row["prev_hash"] = previous
        row["row_hash"] = previous = row_hash(row, previous)
        rows.append(row)
    connection.execute(insert(AuditEvent), rows)
    connection.execute(update(AuditChainHead).where(AuditChainHead.id == HEAD_ID)
                       .values(last_hash=previous))
    return end_seq


def _hold_back(session: Session, _context: Any, _instances: Any) -> None:
    """Before a flush: keep new audit events out of it, for the append at commit."""
    held = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if held:
        pending = session.info.setdefault(_PENDING, [])
        for audit in held:
            pending.append(_event_values(audit))
            session.expunge(audit)


def _append_at_commit(session: Session) -> None:
    _hold_back(session, None, None)
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    session.flush()  # everything else the unit of work wrote goes first
    append(session, pending)


def _forget(session: Session, *_args: Any) -> None:
    session.info.pop(_PENDING, None)


def install() -> None:
    """Route every session's audit events through the chain (once per process)."""
    if not event.contains(Session, "before_commit", _append_at_commit):
        event.listen(Session, "before_flush", _hold_back)
        event.listen(Session, "before_commit", _append_at_commit)
        event.listen(Session, "after_rollback", _forget)


# --- verifying --------------------------------------------------------------------------------

@dataclass
class Verification:
    rows: int = 0
    first_seq: int | None = None
    last_seq: int | None = None
    last_hash: str | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


BATCH = 2000


def _rows(connection: Connection) -> Iterator[Any]:
    after = -1
    table = AuditEvent.__table__
    while True:
        batch = connection.execute(select(table).where(table.c.seq > after)
                                   .order_by(table.c.seq).limit(BATCH)).mappings().all()
        if not batch:
            return
        yield from batch
        after = batch[-1]["seq"]


def verify(connection: Connection, expect: tuple[int, str] | None = None,
           max_problems: int = 100) -> Verification:
    """Check the whole chain; `expect` is a (seq, row_hash) recorded outside the database."""
    result = Verification()
    prune = connection.execute(select(AuditPrune.through_seq, AuditPrune.through_hash)
                               .order_by(AuditPrune.through_seq.desc()).limit(1)).first()
    expected_seq = (prune.through_seq if prune else 0) + 1
    expected_prev = prune.through_hash if prune else GENESIS

    def problem(text: str) -> None:
        if len(result.problems) < max_problems:
            result.problems.append(text)

    for row in _rows(connection):
        seq = row["seq"]
        result.rows += 1
        result.first_seq = seq if result.first_seq is None else result.first_seq
        if seq != expected_seq:
            if seq > expected_seq:
                missing = f"{expected_seq}" if seq == expected_seq + 1 else \
                    f"{expected_seq}-{seq - 1}"
                problem(f"rows {missing} are missing (deleted) before row {seq}")
        if row["prev_hash"] != expected_prev:
            problem(f"row {seq} does not follow the row before it (inserted, or the row "
                    f"before it was changed or deleted)")
        if row_hash(dict(row), row["prev_hash"]) != row["row_hash"]:
            problem(f"row {seq} was changed after it was written (its hash does not match)")
        if expect is not None and seq == expect[0] and row["row_hash"] != expect[1]:
            problem(f"row {seq} is not the row exported earlier (hash {expect[1][:12]}...)")
        expected_seq, expected_prev = seq + 1, row["row_hash"]
        result.last_seq, result.last_hash = seq, row["row_hash"]
    head = connection.execute(select(AuditChainHead.seq, AuditChainHead.last_hash)
                              .where(AuditChainHead.id == HEAD_ID)).first()
    if head is None:
        problem("the chain's head row is missing")
    else:
        if result.last_seq is not None and result.last_seq > head.seq:
            problem(f"rows after {head.seq} were inserted behind the chain's back")
        elif (result.last_seq or (prune.through_seq if prune else 0)) < head.seq:
            problem(f"rows up to {head.seq} were written but the last row is "
                    f"{result.last_seq}: the newest rows were deleted")
        elif result.last_hash is not None and head.last_hash != result.last_hash:
            problem("the last row differs from the one the chain's head recorded")
    if expect is not None and (result.first_seq is None or not
                               result.first_seq <= expect[0] <= (result.last_seq or 0)):
        if not (prune and expect[0] <= prune.through_seq):
            problem(f"row {expect[0]}, exported earlier, is not in the trail")
    return result
