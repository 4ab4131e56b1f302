"""Telling people, in their own channel: a line manager about a new leave request or sickness
report, an employee about the decision on their leave.

An outbox, like the tickets' one (bot/tickets/notifications.py), with the same delivery path:
1. The write's ledger entry (bot/backoffice/writes.py) and a `records_notices` row commit
   together (`enqueue_*`, once per kind, record and recipient). The row holds the absence
   system's record reference, never words.
2. `push` asks Rasa's relay channel to run `action_records_notify` in the recipient's most
   recent verified conversation (bot/relay.py, caller "records": the action server's own key
   RELAY_RECORDS_KEY, good for that and nothing else).
3. The action calls `claim`, which delivers only to the verified caller of that conversation,
   renders the words from the records through the back-office port (whichever system holds
   them) and marks each row delivered with a conditional UPDATE (a repeated push says nothing
   twice). A manager who never pushed-to (no conversation yet, Rasa
   unreachable) hears the same notices the next time they ask for their approvals.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.audit import record_access
from bot.backoffice.ports import BackOffice
from bot.backoffice.registry import backoffice
from bot.backoffice.types import BookingStatus
from bot.identity import EmployeeRef, Principal, find_employee
from bot.storage.concurrency import begin_write_transaction
from bot.storage.database import Database
from bot.storage.models import AuditOutcome, Employee
from bot.storage.times import utcnow

from .access import caller_for
from .models import EmployeeConversation, NoticeKind, NoticeState, RecordsNotice

log = logging.getLogger(__name__)

NOTIFY_ACTION = "action_records_notify"
LEAVE_NAMES = {"annual": "annual leave", "flexi": "flexi leave", "privilege": "privilege leave"}


def remember_conversation(
    db: Database, principal: Principal, conversation_id: str, now: dt.datetime | None = None
) -> None:
    """Note that the caller was verified in this conversation (where to tell them things)."""
    if not conversation_id:
        return
    with db.unit_of_work() as session:
        me = find_employee(session, principal)
        if me is None:
            return  # an unknown principal is refused (and audited) by the service it asked
        row = session.scalars(
            select(EmployeeConversation).where(
                EmployeeConversation.employee_id == me.id,
                EmployeeConversation.conversation_id == conversation_id[:200],
            )
        ).first()
        if row is None:
            row = EmployeeConversation(
                employee_id=me.id, channel=principal.channel, conversation_id=conversation_id[:200]
            )
            session.add(row)
        row.last_seen_at = now or utcnow()


def latest_conversation(session: Session, employee_id: int) -> str | None:
    return session.scalars(
        select(EmployeeConversation.conversation_id)
        .where(EmployeeConversation.employee_id == employee_id)
        .order_by(EmployeeConversation.last_seen_at.desc(), EmployeeConversation.id.desc())
        .limit(1)
    ).first()


def _enqueue(
    session: Session,
    recipient_id: int | None,
    kind: NoticeKind,
    subject_employee_id: int,
    record_reference: str,
) -> str | None:
    """Add a notice in the caller's transaction (once per kind, record and recipient); the
    recipient's conversation, if any."""
    if recipient_id is None:
        return None
    exists = session.scalar(
        select(RecordsNotice.id).where(
            RecordsNotice.kind == kind,
            RecordsNotice.record_reference == record_reference,
            RecordsNotice.recipient_id == recipient_id,
        )
    )
    if exists is None:
        session.add(
            RecordsNotice(
                recipient_id=recipient_id,
                kind=kind,
                subject_employee_id=subject_employee_id,
                record_reference=record_reference,
                state=NoticeState.PENDING,
                attempts=0,
            )
        )
    return latest_conversation(session, recipient_id)


def _manager_of(session: Session, employee_id: int) -> int | None:
    return session.scalar(select(Employee.line_manager_id).where(Employee.id == employee_id))


def enqueue_leave_request(session: Session, employee_id: int, reference: str) -> str | None:
    return _enqueue(session, _manager_of(session, employee_id), NoticeKind.LEAVE_REQUESTED,
                    employee_id, reference)


def enqueue_leave_decision(session: Session, employee_id: int, reference: str) -> str | None:
    return _enqueue(session, employee_id, NoticeKind.LEAVE_DECIDED, employee_id, reference)


def enqueue_sickness(session: Session, employee_id: int, reference: str) -> str | None:
    return _enqueue(session, _manager_of(session, employee_id), NoticeKind.SICKNESS_REPORTED,
                    employee_id, reference)


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    text: str
    decision_reference: str | None = None  # a leave request the recipient may decide on


def _day(value: dt.date) -> str:
    return f"{value:%A} {value.day} {value:%B %Y}"


@dataclass(frozen=True)
class _Pending:
    id: int
    kind: NoticeKind
    subject_employee_id: int
    record_reference: str
    subject_name: str


def _render(office: BackOffice, notice: _Pending) -> Notice | None:
    """The words of a notice, from the absence system of record (None: nothing to say now)."""
    if notice.kind is NoticeKind.SICKNESS_REPORTED:
        absence = office.absence.sickness(notice.subject_employee_id, notice.record_reference)
        if absence is None:
            return None
        return Notice(
            notice.kind,
            f"{notice.subject_name} has reported sickness absence from {_day(absence.start_date)}.",
        )
    booking = office.absence.booking(notice.subject_employee_id, notice.record_reference)
    if booking is None:
        return None
    kind = LEAVE_NAMES.get(booking.leave_type.value, booking.leave_type.value)
    span = f"{_day(booking.start_date)} to {_day(booking.end_date)}"
    if notice.kind is NoticeKind.LEAVE_REQUESTED:
        if booking.status is not BookingStatus.PENDING:
            return None  # decided or cancelled meanwhile: nothing to ask any more
        return Notice(
            notice.kind,
            f"New leave request from {notice.subject_name}: "
            f"{kind}, {span} ({booking.days.normalize():f} days).",
            f"{notice.subject_employee_id}-{booking.reference}",
        )
    if booking.status not in (BookingStatus.APPROVED, BookingStatus.REJECTED):
        return None
    outcome = "approved" if booking.status is BookingStatus.APPROVED else "rejected"
    return Notice(notice.kind, f"Your {kind} from {span} has been {outcome} by your line manager.")


def claim(db: Database, principal: Principal, now: dt.datetime | None = None) -> list[Notice]:
    """The caller's undelivered notices, each marked delivered exactly once (audited).

    The words are rendered from the system of record before a notice is marked delivered
    (outside any write transaction): if it cannot answer, the notice stays pending."""
    me: EmployeeRef = caller_for(db, principal, "notification")
    moment = now or utcnow()
    with db.unit_of_work() as session:
        pending = [
            _Pending(row.id, row.kind, row.subject_employee_id, row.record_reference,
                     f"{given} {family}")
            for row, given, family in session.execute(
                select(RecordsNotice, Employee.given_name, Employee.family_name)
                .join(Employee, Employee.id == RecordsNotice.subject_employee_id)
                .where(RecordsNotice.recipient_id == me.id,
                       RecordsNotice.state == NoticeState.PENDING)
                .order_by(RecordsNotice.id)
            ).all()
        ]
    if not pending:
        return []
    office = backoffice(db)
    rendered = [(row, _render(office, row)) for row in pending]
    notices: list[Notice] = []
    with db.unit_of_work() as session:
        begin_write_transaction(session)  # SQLite: no read-then-upgrade deadlock between pushes
        for row, notice in rendered:
            won = session.execute(
                update(RecordsNotice)
                .where(RecordsNotice.id == row.id, RecordsNotice.state == NoticeState.PENDING)
                .values(state=NoticeState.DELIVERED, delivered_at=moment)
                .execution_options(synchronize_session=False)
            ).rowcount
            if won != 1 or notice is None:
                continue
            record_access(
                session,
                principal=principal,
                actor=me,
                subject_employee_id=row.subject_employee_id,
                record_type="notification",
                action="notify",
                outcome=AuditOutcome.ALLOWED,
                reason=None if row.subject_employee_id == me.id else "line manager of the subject",
            )
            notices.append(notice)
    return notices


async def push(
    rasa_url: str, relay_key: str, conversation_id: str | None, timeout_seconds: float = 10.0
) -> bool:
    """Ask Rasa to run the notify action in a conversation; False (logged by kind) on failure.

    The notice stays pending either way until the recipient's verified conversation claims it.
    """
    from bot.relay import Relay, relay_session

    if not conversation_id or len(relay_key) < 32:
        return False
    async with relay_session() as session:
        relay = Relay(rasa_url, "records", relay_key, session, timeout_seconds=timeout_seconds)
        return await relay.notify(conversation_id)
