"""Telling people, in their own channel: a line manager about a new leave request or sickness
report, an employee about the decision on their leave.

An outbox, like the tickets' one (bot/tickets/notifications.py), with the same delivery path:
1. The change and a `records_notices` row commit together (`enqueue_*`, inside the service's
   unit of work). The row holds references, never words.
2. `push` asks Rasa to run `action_records_notify` in the recipient's most recent verified
   conversation (`POST /conversations/{id}/execute?output_channel=latest`, an admin JWT signed
   with RASA_JWT_SECRET, as the tickets do).
3. The action calls `claim`, which delivers only to the verified caller of that conversation,
   marks each row delivered with a conditional UPDATE (a repeated push says nothing twice) and
   renders the words from the records. A manager who never pushed-to (no conversation yet, Rasa
   unreachable) hears the same notices the next time they ask for their approvals.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from urllib.parse import quote

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.audit import record_access
from bot.identity import EmployeeRef, Principal, find_employee
from bot.storage.database import Database
from bot.storage.models import AuditOutcome, Employee, LeaveBooking, utcnow
from bot.tickets.references import begin_write_transaction

from .access import caller_for
from .models import (
    EmployeeConversation,
    LeaveDecision,
    NoticeKind,
    NoticeState,
    RecordsNotice,
    SicknessAbsence,
)

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
    *,
    booking_id: int | None = None,
    absence_id: int | None = None,
) -> str | None:
    """Add a notice in the caller's transaction; the recipient's conversation, if any."""
    if recipient_id is None:
        return None
    session.add(
        RecordsNotice(
            recipient_id=recipient_id,
            kind=kind,
            booking_id=booking_id,
            absence_id=absence_id,
            state=NoticeState.PENDING,
            attempts=0,
        )
    )
    return latest_conversation(session, recipient_id)


def enqueue_leave_request(session: Session, employee_id: int, booking_id: int) -> str | None:
    manager = session.scalar(select(Employee.line_manager_id).where(Employee.id == employee_id))
    return _enqueue(session, manager, NoticeKind.LEAVE_REQUESTED, booking_id=booking_id)


def enqueue_leave_decision(session: Session, employee_id: int, booking_id: int) -> str | None:
    return _enqueue(session, employee_id, NoticeKind.LEAVE_DECIDED, booking_id=booking_id)


def enqueue_sickness(session: Session, employee_id: int, absence_id: int) -> str | None:
    manager = session.scalar(select(Employee.line_manager_id).where(Employee.id == employee_id))
    return _enqueue(session, manager, NoticeKind.SICKNESS_REPORTED, absence_id=absence_id)


@dataclass(frozen=True)
class Notice:
    kind: NoticeKind
    text: str
    booking_id: int | None = None  # a leave request the recipient may approve or reject


def _day(value: dt.date) -> str:
    return f"{value:%A} {value.day} {value:%B %Y}"


def _render(session: Session, notice: RecordsNotice) -> Notice | None:
    if notice.booking_id is not None:
        booking = session.get(LeaveBooking, notice.booking_id)
        if booking is None:
            return None
        person = session.get(Employee, booking.employee_id)
        kind = LEAVE_NAMES.get(booking.leave_type.value, booking.leave_type.value)
        span = f"{_day(booking.start_date)} to {_day(booking.end_date)}"
        if notice.kind is NoticeKind.LEAVE_REQUESTED:
            if booking.status.value != "pending":
                return None  # decided or cancelled meanwhile: nothing to ask any more
            return Notice(
                notice.kind,
                f"New leave request from {person.given_name} {person.family_name}: "  # type: ignore[union-attr]
                f"{kind}, {span} ({booking.days.normalize():f} days).",
                booking.id,
            )
        decision = session.scalar(
            select(LeaveDecision).where(LeaveDecision.booking_id == booking.id)
        )
        if decision is None:
            return None
        outcome = "approved" if decision.approved else "rejected"
        return Notice(
            notice.kind, f"Your {kind} from {span} has been {outcome} by your line manager."
        )
    absence = session.get(SicknessAbsence, notice.absence_id)
    if absence is None:
        return None
    person = session.get(Employee, absence.employee_id)
    return Notice(
        notice.kind,
        f"{person.given_name} {person.family_name} has reported sickness absence "  # type: ignore[union-attr]
        f"from {_day(absence.start_date)}.",
    )


def claim(db: Database, principal: Principal, now: dt.datetime | None = None) -> list[Notice]:
    """The caller's undelivered notices, each marked delivered exactly once (audited)."""
    me: EmployeeRef = caller_for(db, principal, "notification")
    moment = now or utcnow()
    notices: list[Notice] = []
    with db.unit_of_work() as session:
        begin_write_transaction(session)  # SQLite: no read-then-upgrade deadlock between pushes
        rows = session.scalars(
            select(RecordsNotice)
            .where(RecordsNotice.recipient_id == me.id, RecordsNotice.state == NoticeState.PENDING)
            .order_by(RecordsNotice.id)
        ).all()
        for row in rows:
            won = session.execute(
                update(RecordsNotice)
                .where(RecordsNotice.id == row.id, RecordsNotice.state == NoticeState.PENDING)
                .values(state=NoticeState.DELIVERED, delivered_at=moment)
                .execution_options(synchronize_session=False)
            ).rowcount
            if won != 1:
                continue
            notice = _render(session, row)
            if notice is None:
                continue
            subject = None
            if row.booking_id is not None:
                subject = session.scalar(
                    select(LeaveBooking.employee_id).where(LeaveBooking.id == row.booking_id)
                )
            elif row.absence_id is not None:
                subject = session.scalar(
                    select(SicknessAbsence.employee_id).where(SicknessAbsence.id == row.absence_id)
                )
            record_access(
                session,
                principal=principal,
                actor=me,
                subject_employee_id=subject,
                record_type="notification",
                action="notify",
                outcome=AuditOutcome.ALLOWED,
                reason=None if subject == me.id else "line manager of the subject",
            )
            notices.append(notice)
    return notices


def execute_url(rasa_url: str, conversation_id: str) -> str:
    return (
        f"{rasa_url.rstrip('/')}/conversations/{quote(conversation_id, safe='')}"
        f"/execute?output_channel=latest"
    )


async def push(
    rasa_url: str, jwt_secret: str, conversation_id: str | None, timeout_seconds: float = 10.0
) -> bool:
    """Ask Rasa to run the notify action in a conversation; False (logged by kind) on failure.

    The notice stays pending either way until the recipient's verified conversation claims it.
    """
    import aiohttp

    from bot.tickets.notifications import rasa_token

    if not conversation_id or len(jwt_secret) < 32:
        return False
    headers = {
        "Authorization": f"Bearer {rasa_token(jwt_secret)}",
        "Content-Type": "application/json",
    }
    try:
        async with aiohttp.ClientSession() as client:
            async with client.post(
                execute_url(rasa_url, conversation_id),
                json={"name": NOTIFY_ACTION},
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=timeout_seconds),
            ) as response:
                await response.read()
                if response.status != 200:
                    log.warning("records.notify.rejected status=%s", response.status)
                    return False
                return True
    except (aiohttp.ClientError, TimeoutError) as error:
        log.warning("records.notify.unreachable error=%s", type(error).__name__)
        return False
