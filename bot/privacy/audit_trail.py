"""Reading the audit trail: search, export for a SIEM (CSV, JSON Lines), verification.

Reading the trail is itself audited: every search and every export is recorded, under the
auditor's principal, before its rows are returned. Rows are returned as they are stored
(identifiers, no personal data beyond them), with the employee numbers of the actor and the
subject resolved from the directory, and with their chain hashes, so that a SIEM holding an
export can later prove the database's trail unchanged (`verify-audit --expect SEQ:HASH`).
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, fields

from sqlalchemy import Select, select
from sqlalchemy.orm import aliased

from bot.audit import record_access
from bot.identity import Principal
from bot.storage import audit_chain
from bot.storage.database import Database
from bot.storage.models import AuditEvent, AuditOutcome, Employee

RECORD_TYPE = "audit_trail"
PAGE_SIZE = 50
EXPORT_BATCH = 1000


class InvalidAuditQuery(ValueError):
    """A search term that cannot be used (bad date, unknown outcome)."""


@dataclass(frozen=True)
class AuditQuery:
    since: dt.date | None = None  # inclusive, UTC day
    until: dt.date | None = None  # inclusive, UTC day
    actor: str = ""  # part of the actor's principal (e.g. a console username)
    subject: str = ""  # an employee number
    record_type: str = ""
    action: str = ""
    outcome: str = ""  # allowed | refused
    target: str = ""  # e.g. a ticket reference

    @classmethod
    def from_params(cls, params: dict[str, str]) -> "AuditQuery":
        def day(name: str) -> dt.date | None:
            value = (params.get(name) or "").strip()
            if not value:
                return None
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                raise InvalidAuditQuery(f"{name} must be a date such as 2026-01-31") from None

        outcome = (params.get("outcome") or "").strip().lower()
        if outcome and outcome not in {o.value for o in AuditOutcome}:
            raise InvalidAuditQuery("outcome must be allowed or refused")
        return cls(since=day("since"), until=day("until"),
                   **{name: (params.get(name) or "").strip()[:100]
                      for name in ("actor", "subject", "record_type", "action", "target")},
                   outcome=outcome)

    def describe(self) -> str:
        """The query as the audit event's reason (no values beyond the auditor's own terms)."""
        parts = [f"{f.name}={getattr(self, f.name)}" for f in fields(self)
                 if getattr(self, f.name)]
        return ", ".join(parts) or "everything"


@dataclass(frozen=True)
class AuditRow:
    seq: int
    at: dt.datetime
    channel: str
    actor_principal: str
    actor_employee_number: str | None
    subject_employee_number: str | None
    record_type: str
    action: str
    outcome: str
    reason: str | None
    target: str | None
    prev_hash: str
    row_hash: str

    def as_dict(self) -> dict[str, object]:
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        values["at"] = audit_chain.canonical_time(self.at) + "Z"
        return values


COLUMNS = [f.name for f in fields(AuditRow)]
_actor = aliased(Employee)
_subject = aliased(Employee)


def _statement(query: AuditQuery) -> Select:
    statement = (select(AuditEvent, _actor.employee_number, _subject.employee_number)
                 .outerjoin(_actor, _actor.id == AuditEvent.actor_employee_id)
                 .outerjoin(_subject, _subject.id == AuditEvent.subject_employee_id))
    if query.since:
        statement = statement.where(AuditEvent.at >= dt.datetime.combine(
            query.since, dt.time(), dt.timezone.utc))
    if query.until:
        statement = statement.where(AuditEvent.at < dt.datetime.combine(
            query.until + dt.timedelta(days=1), dt.time(), dt.timezone.utc))
    if query.actor:
        statement = statement.where(AuditEvent.actor_principal.contains(query.actor,
                                                                         autoescape=True))
    if query.subject:
        statement = statement.where(_subject.employee_number == query.subject.upper())
    for name in ("record_type", "action", "target"):
        if getattr(query, name):
            statement = statement.where(getattr(AuditEvent, name) == getattr(query, name))
    if query.outcome:
        statement = statement.where(AuditEvent.outcome == AuditOutcome(query.outcome))
    return statement


def _row(event: AuditEvent, actor_number: str | None, subject_number: str | None) -> AuditRow:
    return AuditRow(event.seq, event.at, event.channel, event.actor_principal, actor_number,
                    subject_number, event.record_type, event.action, event.outcome.value,
                    event.reason, event.target, event.prev_hash, event.row_hash)


def _audit_reading(db: Database, auditor: Principal, action: str, reason: str,
                   target: str | None = None) -> None:
    with db.unit_of_work() as session:
        record_access(session, principal=auditor, actor=None, subject_employee_id=None,
                      record_type=RECORD_TYPE, action=action, outcome=AuditOutcome.ALLOWED,
                      reason=reason, target=target)


@dataclass(frozen=True)
class AuditPage:
    rows: list[AuditRow]
    page: int
    more: bool


def search(db: Database, auditor: Principal, query: AuditQuery, page: int = 1,
           page_size: int = PAGE_SIZE) -> AuditPage:
    """Newest first, one page; the search itself is recorded first."""
    page = max(1, page)
    _audit_reading(db, auditor, "search", query.describe())
    with db.unit_of_work() as session:
        found = session.execute(_statement(query).order_by(AuditEvent.seq.desc())
                                .offset((page - 1) * page_size).limit(page_size + 1)).all()
    rows = [_row(*item) for item in found]
    return AuditPage(rows[:page_size], page, len(rows) > page_size)


def export_rows(db: Database, auditor: Principal, query: AuditQuery,
                fmt: str) -> Iterator[list[AuditRow]]:
    """The matching rows, oldest first, in batches; the export is recorded before the first."""
    _audit_reading(db, auditor, "export", query.describe(), target=fmt)
    after = 0
    while True:
        with db.unit_of_work() as session:
            found = session.execute(_statement(query).where(AuditEvent.seq > after)
                                    .order_by(AuditEvent.seq).limit(EXPORT_BATCH)).all()
        if not found:
            return
        batch = [_row(*item) for item in found]
        after = batch[-1].seq
        yield batch


def csv_header() -> str:
    out = io.StringIO()
    csv.writer(out).writerow(COLUMNS)
    return out.getvalue()


def as_csv(rows: list[AuditRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS)
    for row in rows:
        # A cell a spreadsheet would run as a formula is quoted with a leading apostrophe.
        writer.writerow({k: ("'" + v if isinstance(v, str) and v[:1] in "=+-@\t\r" else v)
                         for k, v in row.as_dict().items()})
    return out.getvalue()


def as_json_lines(rows: list[AuditRow]) -> str:
    return "".join(json.dumps(row.as_dict(), ensure_ascii=False) + "\n" for row in rows)


FORMATS = {"csv": (as_csv, "text/csv"), "jsonl": (as_json_lines, "application/x-ndjson")}


def verify(db: Database, expect: tuple[int, str] | None = None) -> audit_chain.Verification:
    with db.engine.connect() as connection:
        return audit_chain.verify(connection, expect)
