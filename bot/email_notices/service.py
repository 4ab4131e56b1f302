"""Collect, mark seen, and send: the e-mail notices' whole life (see the package docstring)."""
from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session

from bot.handoff.enums import EntryKind
from bot.handoff.models import Handoff, HandoffEntry
from bot.records.enums import NoticeKind
from bot.records.models import RecordsNotice
from bot.storage.concurrency import insert_ignoring_duplicates
from bot.storage.database import Database
from bot.storage.models import Employee
from bot.storage.times import as_utc, utcnow
from bot.tickets.enums import EventKind
from bot.tickets.models import Ticket, TicketEvent, TicketNotification

from .models import ChatView, EmailNotice, EmailPreference

log = logging.getLogger(__name__)

LOOK_BACK = dt.timedelta(days=2)  # how far back `collect` looks for new sources
RECONCILE_AFTER = dt.timedelta(minutes=2)  # a send still unconfirmed after this is looked up
MAX_ATTEMPTS = 5
BATCH = 50
WHAT = {
    "ticket_status": "There is an update on your query",
    "agent_reply": "The helpdesk replied about your query",
    "leave_decision": "Your line manager decided on your leave request",
}


class SendRefused(Exception):
    """Notify refused the e-mail for good (a 4xx other than 429): not retried."""


class SendUnknown(Exception):
    """Notify may or may not have taken the e-mail (a timeout, a 5xx, a 429)."""


class Mailer(Protocol):
    def send(self, address: str, template_id: str, personalisation: dict[str, str],
             reference: str) -> str: ...

    def sent_with_reference(self, reference: str) -> str | None: ...


@dataclass(frozen=True)
class EmailSettings:
    delay: dt.timedelta
    templates: dict[str, str]  # kind -> Notify template id
    base_url: str  # where employees reach the web app (links in e-mails)


def _rows(session: Session, values: list[dict[str, Any]]) -> int:
    if not values:
        return 0
    table = EmailNotice.__table__
    statement = insert_ignoring_duplicates(session, table, [table.c.key]).values(values)
    return len(session.execute(statement.returning(table.c.id)).all())


def collect(db: Database, delay: dt.timedelta, now: dt.datetime | None = None) -> int:
    """Copy new e-mailable events into `email_notices` (each source row once)."""
    moment = now or utcnow()
    since = moment - LOOK_BACK
    values: list[dict[str, Any]] = []
    with db.unit_of_work() as session:
        known = select(EmailNotice.key)
        for notification, event, ticket in session.execute(
                select(TicketNotification, TicketEvent, Ticket)
                .join(TicketEvent, TicketNotification.event_id == TicketEvent.id)
                .join(Ticket, TicketNotification.ticket_id == Ticket.id)
                .where(TicketNotification.created_at >= since)).all():
            created = as_utc(notification.created_at)
            values.append({"key": f"ticket:{notification.id}",
                           "kind": "agent_reply" if event.kind is EventKind.COMMENTED
                           else "ticket_status",
                           "employee_id": ticket.requester_id,
                           "conversation_id": notification.conversation_id,
                           "reference": ticket.reference, "created_at": created})
        for entry, handoff in session.execute(
                select(HandoffEntry, Handoff).join(Handoff, HandoffEntry.handoff_id == Handoff.id)
                .where(HandoffEntry.kind == EntryKind.AGENT, HandoffEntry.at >= since)).all():
            values.append({"key": f"handoff:{entry.id}", "kind": "agent_reply",
                           "employee_id": handoff.employee_id,
                           "conversation_id": handoff.conversation_id,
                           "reference": handoff.ticket_reference or "",
                           "created_at": as_utc(entry.at)})
        for notice in session.scalars(select(RecordsNotice).where(
                RecordsNotice.kind == NoticeKind.LEAVE_DECIDED,
                RecordsNotice.created_at >= since)).all():
            values.append({"key": f"leave:{notice.id}", "kind": "leave_decision",
                           "employee_id": notice.recipient_id, "conversation_id": None,
                           "reference": "", "created_at": as_utc(notice.created_at)})
        existing = set(session.scalars(known.where(
            EmailNotice.key.in_([v["key"] for v in values]))).all()) if values else set()
        fresh = [dict(v, due_at=v["created_at"] + delay, state="pending", attempts=0)
                 for v in values if v["key"] not in existing]
        added = _rows(session, fresh)
    if added:
        log.info("email.collected count=%d", added)
    return added


def mark_viewed(db: Database, conversation_id: str, employee_id: int,
                now: dt.datetime | None = None) -> None:
    """The employee's web chat showed this conversation just now."""
    moment = now or utcnow()
    with db.unit_of_work() as session:
        view = session.get(ChatView, conversation_id[:200])
        if view is None:
            session.add(ChatView(conversation_id=conversation_id[:200], employee_id=employee_id,
                                 seen_at=moment))
        elif as_utc(view.seen_at) < moment:
            view.seen_at = moment


def set_opted_out(db: Database, employee_id: int, opted_out: bool) -> None:
    with db.unit_of_work() as session:
        current = session.get(EmailPreference, employee_id)
        if opted_out and current is None:
            session.add(EmailPreference(employee_id=employee_id))
        elif not opted_out and current is not None:
            session.delete(current)


def is_opted_out(db: Database, employee_id: int) -> bool:
    with db.unit_of_work() as session:
        return session.get(EmailPreference, employee_id) is not None


def _seen_clause():  # noqa: ANN202
    """A notice is seen when the web chat showed its conversation (or, for a notice said in
    whichever conversation was the employee's latest, any of theirs) after it was made."""
    same_conversation = exists().where(ChatView.conversation_id == EmailNotice.conversation_id,
                                       ChatView.seen_at >= EmailNotice.created_at)
    any_of_theirs = exists().where(ChatView.employee_id == EmailNotice.employee_id,
                                   ChatView.seen_at >= EmailNotice.created_at)
    return or_(and_(EmailNotice.conversation_id.is_not(None), same_conversation),
               and_(EmailNotice.conversation_id.is_(None), any_of_theirs))


@dataclass
class SendReport:
    sent: int = 0
    seen: int = 0
    skipped: int = 0
    failed: int = 0
    unknown: int = 0


def send_due(db: Database, mailer: Mailer, settings: EmailSettings,
             now: dt.datetime | None = None) -> SendReport:
    """Settle unconfirmed sends, then e-mail each due, unseen notice once."""
    moment = now or utcnow()
    report = SendReport()
    _reconcile(db, mailer, moment, report)
    with db.unit_of_work() as session:
        seen = session.execute(update(EmailNotice).where(
            EmailNotice.state == "pending", _seen_clause()).values(state="seen")
            .execution_options(synchronize_session=False)).rowcount
        report.seen += seen or 0
        due = session.scalars(select(EmailNotice.id).where(
            EmailNotice.state == "pending", EmailNotice.due_at <= moment)
            .order_by(EmailNotice.due_at).limit(BATCH)).all()
    for notice_id in due:
        _send_one(db, mailer, settings, notice_id, moment, report)
    if report.sent or report.failed or report.unknown:
        log.info("email.pass sent=%d seen=%d skipped=%d failed=%d unknown=%d", report.sent,
                 report.seen, report.skipped, report.failed, report.unknown)
    return report


def _finish(db: Database, notice_id: int, **values: Any) -> None:
    with db.unit_of_work() as session:
        session.execute(update(EmailNotice).where(EmailNotice.id == notice_id,
                                                  EmailNotice.state == "sending")
                        .values(**values).execution_options(synchronize_session=False))


def _send_one(db: Database, mailer: Mailer, settings: EmailSettings, notice_id: int,
              moment: dt.datetime, report: SendReport) -> None:
    with db.unit_of_work() as session:
        claimed = session.execute(update(EmailNotice).where(
            EmailNotice.id == notice_id, EmailNotice.state == "pending")
            .values(state="sending", claimed_at=moment, attempts=EmailNotice.attempts + 1)
            .execution_options(synchronize_session=False)).rowcount
        if claimed != 1:
            return  # another worker has it
        notice = session.get(EmailNotice, notice_id)
        employee = session.get(Employee, notice.employee_id)
        opted_out = session.get(EmailPreference, notice.employee_id) is not None
        address = (employee.email or "").strip() if employee is not None else ""
        key, kind, reference = notice.key, notice.kind, notice.reference
        first_name = employee.given_name if employee is not None else ""
        if opted_out or "@" not in address:
            notice.state, notice.outcome = "skipped", "opted out" if opted_out else "no address"
            report.skipped += 1
            return
    link = f"{settings.base_url}/queries/{reference}" if reference else f"{settings.base_url}/chat"
    personalisation = {"first_name": first_name, "what": WHAT[kind], "reference": reference,
                       "link": link, "opt_out_link": f"{settings.base_url}/queries#email"}
    try:
        notify_id = mailer.send(address, settings.templates[kind], personalisation, key)
    except SendRefused as refused:
        _finish(db, notice_id, state="failed", outcome=str(refused)[:64])
        log.warning("email.refused notice_id=%d kind=%s", notice_id, kind)
        report.failed += 1
        return
    except SendUnknown:
        log.warning("email.unknown notice_id=%d kind=%s", notice_id, kind)
        report.unknown += 1
        return  # stays "sending": looked up by its reference before anything else
    _finish(db, notice_id, state="sent", sent_at=moment, notify_id=notify_id[:64])
    log.info("email.sent notice_id=%d kind=%s", notice_id, kind)
    report.sent += 1


def _reconcile(db: Database, mailer: Mailer, moment: dt.datetime, report: SendReport) -> None:
    """A claimed notice without a confirmation: Notify is asked whether it has the reference;
    only if not is it tried again (at most MAX_ATTEMPTS times in all)."""
    with db.unit_of_work() as session:
        stale = session.execute(select(EmailNotice.id, EmailNotice.key, EmailNotice.attempts)
                                .where(EmailNotice.state == "sending",
                                       EmailNotice.claimed_at <= moment - RECONCILE_AFTER)
                                .limit(BATCH)).all()
    for notice_id, key, attempts in stale:
        try:
            found = mailer.sent_with_reference(key)
        except (SendUnknown, SendRefused):
            continue  # ask again next pass
        if found:
            _finish(db, notice_id, state="sent", sent_at=moment, notify_id=found[:64])
            report.sent += 1
        elif attempts >= MAX_ATTEMPTS:
            _finish(db, notice_id, state="failed", outcome="gave up")
            report.failed += 1
        else:
            _finish(db, notice_id, state="pending")

