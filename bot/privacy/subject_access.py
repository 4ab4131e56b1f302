"""Subject access: one archive of everything the helpdesk holds about one employee.

`export` gathers, for the employee: their directory entry and channel identities; every row of
every helpdesk table that is about them (`SUBJECT_COLUMNS`, with the rows that hang off those:
`CHILD_TABLES`); their conversations from Rasa's tracker store (every conversation whose messages
carry one of their verified principals); the knowledge-base answers they were shown
(`bot.knowledge.answer_log.answers_for_employee`); and who accessed their records (the audit
trail's events with them as subject). It returns a zip holding the JSON and a readable HTML
summary, and records the request (`data_subject_requests`, with the archive's SHA-256) and the
export (audit trail) in one unit of work.

Other people's data is withheld (UK GDPR article 15(4); DPA 2018 schedule 2 paragraph 16): a
reference to another employee (a line manager, an approver, the author of a comment) appears
as "(another employee)", and rows that are about someone else (a notice to the employee about
a report's leave, a line manager's decisions on others' leave, the trail's events about others)
are not included. `tests/privacy` checks that every table referring to an employee is either
exported by one of its columns or listed in `NOT_ABOUT_THE_SUBJECT` with the reason.
"""
from __future__ import annotations

import datetime as dt
import decimal
import enum
import hashlib
import html
import io
import json
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

import bot.backoffice.models  # noqa: F401 - every table must be known to the metadata
import bot.backoffice.record_tables  # noqa: F401
import bot.email_notices.models  # noqa: F401
import bot.handoff.models  # noqa: F401
import bot.records.models  # noqa: F401
import bot.tickets.models  # noqa: F401
from bot.audit import record_access
from bot.identity import Principal
from bot.knowledge.answer_log import answers_for_employee
from bot.storage.database import Database
from bot.storage.models import AuditEvent, AuditOutcome, Base, ChannelIdentity, Employee, utcnow

from .models import DataSubjectRequest, RequestKind
from .tracker_text import tracker_engine

RECORD_TYPE = "subject_access"
OTHER = "(another employee)"

# table -> the column that makes a row about the employee
SUBJECT_COLUMNS: dict[str, str] = {
    "backoffice_identities": "employee_id", "backoffice_writes": "employee_id",
    "channel_identities": "employee_id", "chat_views": "employee_id",
    "data_subject_requests": "employee_id", "email_notices": "employee_id",
    "email_preferences": "employee_id",
    "employee_conversations": "employee_id", "employment_records": "employee_id",
    "expense_claims": "employee_id", "handoffs": "employee_id", "kb_answers": "employee_id",
    "leave_bookings": "employee_id", "leave_entitlements": "employee_id",
    "payslips": "employee_id", "pension_memberships": "employee_id",
    "personal_details": "employee_id", "personal_details_changes": "employee_id",
    "records_notices": "subject_employee_id", "salary_records": "employee_id",
    "sickness_absences": "employee_id", "tax_codes": "employee_id",
    "tickets": "requester_id", "working_patterns": "employee_id",
}
# child table -> (its column naming the parent row, the parent table)
CHILD_TABLES: dict[str, tuple[str, str]] = {
    "expense_lines": ("claim_id", "expense_claims"),
    "handoff_entries": ("handoff_id", "handoffs"),
    "leave_decisions": ("booking_id", "leave_bookings"),
    "ticket_comments": ("ticket_id", "tickets"),
    "ticket_events": ("ticket_id", "tickets"),
    "ticket_notifications": ("ticket_id", "tickets"),
}
# (table, column referring to an employee) that does not make the row about that employee
NOT_ABOUT_THE_SUBJECT: dict[tuple[str, str], str] = {
    ("employees", "line_manager_id"): "the employee's reports: their data, not the subject's",
    ("records_notices", "recipient_id"): "notices to the employee about others (a report)",
    ("leave_decisions", "decided_by_id"): "decisions the employee made on others' leave",
    ("ticket_comments", "author_employee_id"): "exported with the subject's tickets",
}
# Columns never exported (secrets, or internal plumbing of no meaning to anyone).
WITHHELD_COLUMNS = frozenset({"idempotency_key", "client_reference", "open_conversation_id"})


class EmployeeNotFound(LookupError):
    pass


def _plain(value: Any) -> Any:
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes):
        return None
    return value


def _employee_columns(table: Table) -> set[str]:
    return {fk.parent.name for fk in table.foreign_keys if fk.column.table.name == "employees"}


def _row(table: Table, row: Any, employee_id: int) -> dict[str, Any]:
    refers = _employee_columns(table)
    values = {}
    for column in table.columns:
        if column.name in WITHHELD_COLUMNS:
            continue
        value = row[column.name]
        if column.name in refers and value is not None and value != employee_id:
            value = OTHER
        values[column.name] = _plain(value)
    return values


def _tables() -> dict[str, Table]:
    return dict(Base.metadata.tables)


def _records(session: Session, employee_id: int) -> dict[str, list[dict[str, Any]]]:
    tables = _tables()
    found: dict[str, list[dict[str, Any]]] = {}
    ids: dict[str, list[int]] = {}
    for name, column in SUBJECT_COLUMNS.items():
        if name not in tables:
            continue
        table = tables[name]
        rows = session.execute(select(table).where(table.c[column] == employee_id)
                               .order_by(*table.primary_key.columns)).mappings().all()
        found[name] = [_row(table, row, employee_id) for row in rows]
        if "id" in table.c:
            ids[name] = [row["id"] for row in rows]
    for name, (column, parent) in CHILD_TABLES.items():
        if name not in tables or not ids.get(parent):
            continue
        table = tables[name]
        rows = session.execute(select(table).where(table.c[column].in_(ids[parent]))
                               .order_by(*table.primary_key.columns)).mappings().all()
        found[name] = [_row(table, row, employee_id) for row in rows]
    return found


def _principals(session: Session, employee_id: int) -> list[dict[str, str]]:
    return [{"channel": c.channel, "tenant": c.tenant, "subject": c.subject}
            for c in session.scalars(select(ChannelIdentity)
                                     .where(ChannelIdentity.employee_id == employee_id))]


def _conversation_ids(records: dict[str, list[dict[str, Any]]]) -> set[str]:
    ids = set()
    for table in ("handoffs", "tickets", "kb_answers", "employee_conversations"):
        ids.update(r["conversation_id"] for r in records.get(table, [])
                   if r.get("conversation_id"))
    return ids


def _principal_of(data: dict[str, Any]) -> tuple[str, str, str] | None:
    raw = (data.get("metadata") or {}).get("principal") if isinstance(data, dict) else None
    if not isinstance(raw, dict):
        return None
    return (raw.get("channel"), raw.get("tenant"), raw.get("subject"))


def _conversations(tracker_url: str | None, principals: list[dict[str, str]],
                   candidates: set[str]) -> dict[str, list[dict[str, Any]]]:
    """The employee's conversations: those whose user messages carry only their principals."""
    if not tracker_url or not principals:
        return {}
    from bot.handoff.feed import tracker_events as events

    mine = {(p["channel"], p["tenant"], p["subject"]) for p in principals}
    engine = tracker_engine(tracker_url)
    try:
        with engine.connect() as connection:
            # Conversations the helpdesk knows of, and any whose messages name the subject.
            found = set(candidates)
            for _, _, subject in mine:
                found.update(connection.scalars(
                    select(events.c.sender_id).distinct()
                    .where(events.c.type_name == "user",
                           events.c.data.contains(json.dumps(subject), autoescape=True))))
            result = {}
            for sender in sorted(found):
                rows = connection.execute(select(events.c.type_name, events.c.timestamp,
                                                 events.c.data)
                                          .where(events.c.sender_id == sender)
                                          .order_by(events.c.id)).all()
                parsed = [(kind, stamp, _json(data)) for kind, stamp, data in rows]
                owners = {_principal_of(data) for kind, _, data in parsed if kind == "user"}
                owners.discard(None)
                if not owners or not owners <= mine:
                    continue  # someone else's conversation, or nobody's
                result[sender] = [_event(kind, stamp, data) for kind, stamp, data in parsed
                                  if kind in {"user", "bot", "slot"}]
            return result
    except Exception as error:  # noqa: BLE001 - no tracker store yet: say so in the archive
        return {"(tracker store unavailable)": [{"error": type(error).__name__}]}
    finally:
        engine.dispose()


def _json(data: str | None) -> dict[str, Any]:
    try:
        value = json.loads(data or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _event(kind: str, stamp: float | None, data: dict[str, Any]) -> dict[str, Any]:
    at = dt.datetime.fromtimestamp(stamp, dt.timezone.utc).isoformat() if stamp else None
    event: dict[str, Any] = {"at": at, "type": kind}
    if kind in {"user", "bot"}:
        event["text"] = data.get("text")
    if kind == "user":
        event["intent"] = ((data.get("parse_data") or {}).get("intent") or {}).get("name")
    if kind == "slot":
        event["slot"], event["value"] = data.get("name"), data.get("value")
    return event


def _accesses(session: Session, employee_id: int) -> list[dict[str, Any]]:
    return [{"at": _plain(e.at), "who": e.actor_principal, "channel": e.channel,
             "record_type": e.record_type, "action": e.action, "outcome": e.outcome.value,
             "reason": e.reason, "target": e.target}
            for e in session.scalars(select(AuditEvent)
                                     .where(AuditEvent.subject_employee_id == employee_id)
                                     .order_by(AuditEvent.seq))]


@dataclass
class SubjectAccessArchive:
    employee_number: str
    data: dict[str, Any]
    archive: bytes = b""
    sha256: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def filename(self) -> str:
        return f"subject-access-{self.employee_number}-{self.data['generated_at'][:10]}.zip"


def find_employee(session: Session, employee_number: str) -> Employee:
    employee = session.scalar(select(Employee).where(
        Employee.employee_number == employee_number.strip().upper()))
    if employee is None:
        raise EmployeeNotFound("There is no employee with that number.")
    return employee


def gather(db: Database, tracker_url: str | None, employee_number: str) -> SubjectAccessArchive:
    """Everything held about the employee (nothing recorded yet)."""
    with db.unit_of_work() as session:
        employee = find_employee(session, employee_number)
        directory = {"employee_number": employee.employee_number,
                     "given_name": employee.given_name, "family_name": employee.family_name,
                     "email": employee.email, "grade": employee.grade,
                     "department": employee.department.name,
                     "line_manager": OTHER if employee.line_manager_id else None}
        records = _records(session, employee.id)
        principals = _principals(session, employee.id)
        answers = [{k: _plain(v) for k, v in vars(a).items()}
                   for a in answers_for_employee(session, employee.id)]
        accesses = _accesses(session, employee.id)
    conversations = _conversations(tracker_url, principals, _conversation_ids(records))
    data = {
        "generated_at": utcnow().isoformat(),
        "employee": directory,
        "channel_identities": principals,
        "records": records,
        "conversations": conversations,
        "knowledge_answers_shown": answers,
        "who_accessed_their_records": accesses,
        "withheld": ("Other people's data is withheld (UK GDPR article 15(4)); a reference to "
                     "another employee reads '(another employee)'."),
    }
    counts = {f"records.{k}": len(v) for k, v in records.items() if v}
    counts.update(conversations=len(conversations),
                  conversation_events=sum(len(v) for v in conversations.values()),
                  knowledge_answers_shown=len(answers), accesses=len(accesses))
    return SubjectAccessArchive(employee.employee_number, data, counts=counts)


def _html(archive: SubjectAccessArchive) -> str:
    data = archive.data
    e = data["employee"]
    esc = html.escape

    def table(rows: list[dict[str, Any]]) -> str:
        if not rows:
            return "<p>None.</p>"
        columns = list(rows[0])
        head = "".join(f"<th>{esc(c)}</th>" for c in columns)
        body = "".join("<tr>" + "".join(f"<td>{esc(str(r.get(c, '')))}</td>" for c in columns)
                       + "</tr>" for r in rows)
        return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"

    parts = [f"<h1>What the helpdesk holds about {esc(e['given_name'])} "
             f"{esc(e['family_name'])} ({esc(e['employee_number'])})</h1>",
             f"<p>Generated {esc(data['generated_at'])}. The complete data is in the JSON file "
             f"beside this one. {esc(data['withheld'])}</p>",
             "<h2>Directory entry</h2>", table([e]),
             "<h2>How you reach the helpdesk</h2>", table(data["channel_identities"])]
    for name, rows in data["records"].items():
        parts += [f"<h2>{esc(name.replace('_', ' ').capitalize())} ({len(rows)})</h2>",
                  table(rows)]
    parts.append(f"<h2>Conversations ({len(data['conversations'])})</h2>")
    for sender, events in data["conversations"].items():
        parts += [f"<h3>Conversation {esc(sender)}</h3>", table(events)]
    parts += [f"<h2>Knowledge-base answers shown ({len(data['knowledge_answers_shown'])})</h2>",
              table(data["knowledge_answers_shown"]),
              f"<h2>Who accessed your records ({len(data['who_accessed_their_records'])})</h2>",
              table(data["who_accessed_their_records"])]
    style = ("body{font-family:sans-serif;margin:2rem}table{border-collapse:collapse;"
             "margin-bottom:1rem}td,th{border:1px solid #999;padding:.2rem .4rem;"
             "font-size:.85rem;text-align:left;vertical-align:top}")
    return (f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Subject access "
            f"{esc(archive.employee_number)}</title><style>{style}</style></head><body>"
            + "".join(parts) + "</body></html>")


def _zip(archive: SubjectAccessArchive) -> bytes:
    buffer = io.BytesIO()
    stem = f"subject-access-{archive.employee_number}"
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(f"{stem}.json", json.dumps(archive.data, indent=2, ensure_ascii=False))
        bundle.writestr(f"{stem}.html", _html(archive))
    return buffer.getvalue()


def export(db: Database, tracker_url: str | None, employee_number: str, handled_by: Principal
           ) -> SubjectAccessArchive:
    """The archive; the request and the export recorded (and audited) together."""
    archive = gather(db, tracker_url, employee_number)
    archive.archive = _zip(archive)
    archive.sha256 = hashlib.sha256(archive.archive).hexdigest()
    with db.unit_of_work() as session:
        employee = find_employee(session, archive.employee_number)
        now = utcnow()
        session.add(DataSubjectRequest(employee_id=employee.id, kind=RequestKind.ACCESS,
                                       handled_by=str(handled_by)[:64], received_at=now,
                                       completed_at=now, detail=json.dumps(archive.counts),
                                       archive_sha256=archive.sha256))
        record_access(session, principal=handled_by, actor=None, subject_employee_id=employee.id,
                      record_type=RECORD_TYPE, action="export", outcome=AuditOutcome.ALLOWED,
                      target=archive.sha256[:16])
    return archive


def referring_columns() -> Iterable[tuple[str, str]]:
    """Every (table, column) of the schema that refers to an employee."""
    for table in Base.metadata.sorted_tables:
        for column in sorted(_employee_columns(table)):
            yield table.name, column


def unclassified() -> list[tuple[str, str]]:
    """References to employees that neither export nor `NOT_ABOUT_THE_SUBJECT` accounts for."""
    known = {(t, c) for t, c in SUBJECT_COLUMNS.items()} | set(NOT_ABOUT_THE_SUBJECT)
    return [pair for pair in referring_columns() if pair not in known]

