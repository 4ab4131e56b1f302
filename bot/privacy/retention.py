"""The retention schedule: personal data kept no longer than it is needed.

Configured by `HELPDESK_RETENTION` ("conversation_text=30,tickets=730,...", days; any key left
out keeps its default) and enforced by `run`, which the ticket worker calls once a day and
`python -m bot.cli retention --run` calls on demand (`--dry-run` counts without changing).
Each store is handled in its own short units of work, so a run can stop anywhere and the next
one carries on; each run is recorded (`retention_runs`: counts per store, never data) and
audited.

| key | default | what happens after it |
| --- | --- | --- |
| conversation_text | 30 | the text of conversations (Rasa's tracker events, handoff transcripts) is replaced by its redacted form |
| conversations | 365 | Rasa's tracker events of sessions that have ended, and handoffs that ended, with their transcripts, are deleted |
| tickets | 730 | closed tickets (counted from closure) are deleted with their comments, history and notifications |
| audit | 2190 | audit events are deleted (never less than 365: the database refuses) |
| outboxes | 30 | notifications delivered, failed or skipped (tickets, records, widget) are deleted |
| knowledge_answers | 365 | the record of which article answered whom is deleted |
| console_sessions | 1 | console sign-in sessions are deleted this long after they expired |
| insight | 365 | service insight's per-conversation state (it names the sender), its redacted unanswered questions and the ratings with their redacted comments are deleted; the facts and daily measures (no person, no text) stay |

What is never deleted by the schedule: the records themselves (payslips, leave, claims: the
systems of record keep them under their own schedules, e.g. six years for HMRC), data subject
requests (kept as the evidence of how each was answered), retention runs.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import asdict, dataclass, field, fields, replace
from functools import lru_cache
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, text, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

from bot.audit import record_access
from bot.handoff.accounts import forget_expired_sessions
from bot.handoff.feed import tracker_events
from bot.handoff.models import OPEN_STATUSES, Handoff, HandoffEntry, WidgetOutboxMessage
from bot.identity import Principal
from bot.insight.models import InsightConversation, SatisfactionRequest, UnansweredQuestion
from bot.knowledge.models import KbAnswer
from bot.records.models import NoticeState, RecordsNotice
from bot.storage import audit_chain
from bot.storage.database import Database
from bot.storage.models import AuditEvent, AuditOutcome, AuditPrune, utcnow
from bot.tickets.models import (
    NotificationState,
    Ticket,
    TicketComment,
    TicketEvent,
    TicketNotification,
    TicketStatus,
)

from .models import RetentionMark, RetentionRun
from bot.redaction import redact
from .tracker_text import redact_data, tracker_engine

log = logging.getLogger(__name__)

MIN_AUDIT_DAYS = 365
BATCH = 500
TRACKER_MARK = "tracker_text_redacted_through_event_id"
SCHEDULE_MARK = "retention_schedule_last_run_epoch"
RECORD_TYPE = "retention"


class InvalidSchedule(ValueError):
    pass


@dataclass(frozen=True)
class RetentionSchedule:
    conversation_text: int = 30
    conversations: int = 365
    tickets: int = 730
    audit: int = 2190
    outboxes: int = 30
    knowledge_answers: int = 365
    console_sessions: int = 1
    insight: int = 365

    @classmethod
    def parse(cls, value: str | None) -> "RetentionSchedule":
        """'conversation_text=14, tickets=365' over the defaults; `InvalidSchedule` if wrong."""
        schedule = cls()
        known = {f.name for f in fields(cls)}
        for part in filter(None, (p.strip() for p in (value or "").split(","))):
            key, _, days = part.partition("=")
            key = key.strip().lower()
            if key not in known:
                raise InvalidSchedule(f"unknown retention key {key!r} (known: "
                                      f"{', '.join(sorted(known))})")
            try:
                number = int(days.strip().removesuffix("d"))
            except ValueError:
                raise InvalidSchedule(f"{key} needs a whole number of days") from None
            if number < 1:
                raise InvalidSchedule(f"{key} must be at least 1 day")
            schedule = replace(schedule, **{key: number})
        if schedule.audit < MIN_AUDIT_DAYS:
            raise InvalidSchedule(f"audit events are kept at least {MIN_AUDIT_DAYS} days")
        if schedule.conversations < schedule.conversation_text:
            raise InvalidSchedule("conversations cannot be kept for less time than their text")
        return schedule

    def describe(self) -> str:
        return ",".join(f"{k}={v}" for k, v in asdict(self).items())


@dataclass
class RetentionReport:
    """What a run did (or, dry, would do): store -> count."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, store: str, count: int) -> None:
        self.counts[store] = self.counts.get(store, 0) + count

    def summary(self) -> str:
        return ", ".join(f"{k}={v}" for k, v in self.counts.items()) or "nothing due"


def _cutoff(now: dt.datetime, days: int) -> dt.datetime:
    return now - dt.timedelta(days=days)


# --- the helpdesk database -----------------------------------------------------------------------

def _redact_transcripts(db: Database, cutoff: dt.datetime, dry_run: bool,
                        clean: Any) -> int:
    """Transcript entries older than `cutoff`, of handoffs no longer open, whose text is not yet
    the redacted text: `body` := `shared_body` (the redacted form)."""
    due = and_(HandoffEntry.at < cutoff, Handoff.status.not_in(OPEN_STATUSES),
               or_(HandoffEntry.shared_body.is_(None),
                   HandoffEntry.body != HandoffEntry.shared_body))
    changed, after = 0, 0
    while True:
        with db.unit_of_work() as session:
            query = select(HandoffEntry).join(Handoff, Handoff.id == HandoffEntry.handoff_id)
            if dry_run:
                return session.scalar(select(func.count()).select_from(
                    query.where(due).subquery())) or 0
            entries = session.scalars(query.where(due, HandoffEntry.id > after)
                                      .order_by(HandoffEntry.id).limit(BATCH)).all()
            for entry in entries:
                shared = entry.shared_body if entry.shared_body is not None else clean(entry.body)
                entry.body = entry.shared_body = shared
            if entries:
                session.execute(update(Handoff)
                                .where(Handoff.id.in_({e.handoff_id for e in entries}))
                                .values(text_redacted_at=utcnow()))
                after = entries[-1].id
            changed += len(entries)
        if len(entries) < BATCH:
            return changed


def _delete_handoffs(db: Database, cutoff: dt.datetime, dry_run: bool) -> int:
    with db.unit_of_work() as session:
        ended = select(Handoff.id).where(Handoff.status.not_in(OPEN_STATUSES),
                                         Handoff.ended_at < cutoff)
        if dry_run:
            return session.scalar(select(func.count()).select_from(ended.subquery())) or 0
        ids = list(session.scalars(ended))
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            session.execute(delete(HandoffEntry).where(HandoffEntry.handoff_id.in_(chunk)))
            session.execute(delete(Handoff).where(Handoff.id.in_(chunk)))
        return len(ids)


def _delete_tickets(db: Database, cutoff: dt.datetime, dry_run: bool) -> int:
    with db.unit_of_work() as session:
        closed = select(Ticket.id).where(Ticket.status == TicketStatus.CLOSED,
                                         Ticket.closed_at < cutoff)
        if dry_run:
            return session.scalar(select(func.count()).select_from(closed.subquery())) or 0
        ids = list(session.scalars(closed))
        for start in range(0, len(ids), BATCH):
            chunk = ids[start:start + BATCH]
            session.execute(delete(TicketNotification)
                            .where(TicketNotification.ticket_id.in_(chunk)))
            session.execute(delete(TicketEvent).where(TicketEvent.ticket_id.in_(chunk)))
            session.execute(delete(TicketComment).where(TicketComment.ticket_id.in_(chunk)))
            session.execute(delete(Ticket).where(Ticket.id.in_(chunk)))
        return len(ids)


def _delete_where(db: Database, model: Any, condition: Any, dry_run: bool) -> int:
    with db.unit_of_work() as session:
        if dry_run:
            return session.scalar(select(func.count()).select_from(model).where(condition)) or 0
        return session.execute(delete(model).where(condition)).rowcount or 0


def _outboxes(db: Database, cutoff: dt.datetime, dry_run: bool, report: RetentionReport) -> None:
    done = (NotificationState.DELIVERED, NotificationState.FAILED, NotificationState.SKIPPED)
    report.add("ticket_notifications", _delete_where(
        db, TicketNotification,
        and_(TicketNotification.state.in_(done), TicketNotification.created_at < cutoff),
        dry_run))
    report.add("records_notices", _delete_where(
        db, RecordsNotice,
        and_(RecordsNotice.state == NoticeState.DELIVERED, RecordsNotice.created_at < cutoff),
        dry_run))
    report.add("widget_outbox", _delete_where(
        db, WidgetOutboxMessage, WidgetOutboxMessage.created_at < cutoff, dry_run))


def _insight(db: Database, cutoff: dt.datetime, dry_run: bool, report: RetentionReport) -> None:
    report.add("insight_conversations_deleted", _delete_where(
        db, InsightConversation, and_(InsightConversation.last_event_at < cutoff,
                                      InsightConversation.current.is_(False)), dry_run))
    report.add("insight_unanswered_deleted", _delete_where(
        db, UnansweredQuestion, UnansweredQuestion.at < cutoff, dry_run))
    report.add("satisfaction_requests_deleted", _delete_where(
        db, SatisfactionRequest, SatisfactionRequest.asked_at < cutoff, dry_run))


def prune_audit(db: Database, cutoff: dt.datetime, dry_run: bool) -> int:
    """Audit events before `cutoff` (a prefix of the chain), its restart recorded."""
    with db.unit_of_work() as session:
        if dry_run:
            return session.scalar(select(func.count()).select_from(AuditEvent)
                                  .where(AuditEvent.at < cutoff)) or 0
        if session.get_bind().dialect.name == "postgresql":
            # The application's role may not delete audit rows; this function (the owner's)
            # may, and only rows older than 365 days.
            return session.scalar(text("SELECT helpdesk_prune_audit(:cutoff)"),
                                  {"cutoff": cutoff}) or 0
        session.execute(update(audit_chain.AuditChainHead)
                        .where(audit_chain.AuditChainHead.id == audit_chain.HEAD_ID)
                        .values(seq=audit_chain.AuditChainHead.seq))  # take the append lock
        last = session.execute(select(AuditEvent.seq, AuditEvent.row_hash)
                               .where(AuditEvent.at < cutoff)
                               .order_by(AuditEvent.seq.desc()).limit(1)).first()
        if last is None:
            return 0
        pruned = session.execute(delete(AuditEvent).where(AuditEvent.seq <= last.seq)).rowcount
        session.execute(insert(AuditPrune).values(at=utcnow(), cutoff=cutoff,
                                                  through_seq=last.seq,
                                                  through_hash=last.row_hash, rows=pruned))
        return pruned or 0


# --- Rasa's tracker store ----------------------------------------------------------------------

def _mark(db: Database, name: str) -> int:
    with db.unit_of_work() as session:
        mark = session.get(RetentionMark, name)
        return mark.value if mark else 0


def _set_mark(db: Database, name: str, value: int) -> None:
    with db.unit_of_work() as session:
        mark = session.get(RetentionMark, name)
        if mark is None:
            session.add(RetentionMark(name=name, value=value, updated_at=utcnow()))
        else:
            mark.value, mark.updated_at = value, utcnow()


def _redact_tracker_text(db: Database, engine: Engine, cutoff: dt.datetime, dry_run: bool,
                         clean: Any) -> int:
    """Events older than `cutoff`, in id order from where the last run stopped."""
    events = tracker_events
    through = _mark(db, TRACKER_MARK)
    changed = 0
    stamp = cutoff.timestamp()
    if dry_run:
        with engine.connect() as connection:
            return connection.scalar(select(func.count()).select_from(events).where(
                events.c.id > through, events.c.timestamp < stamp)) or 0
    while True:
        with engine.begin() as connection:
            rows = connection.execute(
                select(events.c.id, events.c.timestamp, events.c.data)
                .where(events.c.id > through).order_by(events.c.id).limit(BATCH)).all()
            due = []
            for row in rows:
                if row.timestamp is None or row.timestamp >= stamp:
                    break  # ids follow time: what comes after is newer
                due.append(row)
            for row in due:
                cleaned = redact_data(row.data, clean)
                if cleaned != row.data:
                    connection.execute(update(events).where(events.c.id == row.id)
                                       .values(data=cleaned))
                    changed += 1
        if due:
            through = due[-1].id
            _set_mark(db, TRACKER_MARK, through)
        if len(due) < BATCH or len(due) < len(rows):
            return changed


def _delete_old_sessions(engine: Engine, cutoff: dt.datetime, dry_run: bool) -> int:
    """Events older than `cutoff` of sessions that have ended: for each conversation, those
    before its latest session start (the session Rasa loads is never touched)."""
    events = tracker_events
    stamp = cutoff.timestamp()
    latest_start = (select(events.c.sender_id, func.max(events.c.id).label("start_id"))
                    .where(events.c.action_name == "action_session_start")
                    .group_by(events.c.sender_id).subquery())
    condition = and_(events.c.timestamp < stamp,
                     events.c.sender_id == latest_start.c.sender_id,
                     events.c.id < latest_start.c.start_id)
    with engine.begin() as connection:
        ids = select(events.c.id).join(latest_start,
                                       events.c.sender_id == latest_start.c.sender_id) \
            .where(condition)
        if dry_run:
            return connection.scalar(select(func.count()).select_from(ids.subquery())) or 0
        return connection.execute(delete(events).where(events.c.id.in_(ids))).rowcount or 0


# --- a run ---------------------------------------------------------------------------------------

def run(db: Database, schedule: RetentionSchedule, tracker_store_url: str | None, *,
        started_by: str, now: dt.datetime | None = None, dry_run: bool = False,
        actor: Principal | None = None) -> RetentionReport:
    """Apply the schedule once; record and audit the run. Raises what a store raised, after
    recording the run as failed."""
    moment = now or utcnow()
    report = RetentionReport()
    with db.unit_of_work() as session:
        record = RetentionRun(started_at=moment, started_by=started_by[:64], dry_run=dry_run,
                              outcome="running", report="{}")
        session.add(record)
        session.flush()
        run_id = record.id
    clean = lru_cache(maxsize=4096)(redact)  # bot utterances repeat: redact each text once
    outcome = "failed"
    try:
        text_cutoff = _cutoff(moment, schedule.conversation_text)
        conversations_cutoff = _cutoff(moment, schedule.conversations)
        # What is deleted first is not redacted for nothing.
        report.add("handoffs_deleted", _delete_handoffs(db, conversations_cutoff, dry_run))
        report.add("handoff_entries_redacted",
                   _redact_transcripts(db, text_cutoff, dry_run, clean))
        if tracker_store_url:
            engine = tracker_engine(tracker_store_url)
            try:
                report.add("tracker_events_deleted",
                           _delete_old_sessions(engine, conversations_cutoff, dry_run))
                report.add("tracker_events_redacted",
                           _redact_tracker_text(db, engine, text_cutoff, dry_run, clean))
            except SQLAlchemyError as error:  # e.g. Rasa has not created its tables yet
                if "events" not in str(error):
                    raise
                log.warning("retention.tracker_store.unavailable error=%s",
                            type(error).__name__)
            finally:
                engine.dispose()
        report.add("tickets_deleted",
                   _delete_tickets(db, _cutoff(moment, schedule.tickets), dry_run))
        _outboxes(db, _cutoff(moment, schedule.outboxes), dry_run, report)
        report.add("knowledge_answers_deleted", _delete_where(
            db, KbAnswer, KbAnswer.at < _cutoff(moment, schedule.knowledge_answers), dry_run))
        report.add("console_sessions_deleted", 0 if dry_run else forget_expired_sessions(
            db, _cutoff(moment, schedule.console_sessions)))
        _insight(db, _cutoff(moment, schedule.insight), dry_run, report)
        report.add("audit_events_deleted",
                   prune_audit(db, _cutoff(moment, schedule.audit), dry_run))
        outcome = "done"
    finally:
        with db.unit_of_work() as session:
            session.execute(update(RetentionRun).where(RetentionRun.id == run_id).values(
                finished_at=utcnow(), outcome=outcome,
                report=json.dumps({"schedule": schedule.describe(), "counts": report.counts})))
            record_access(session, principal=actor or Principal("system", "helpdesk",
                                                                  started_by[:64]),
                          actor=None, subject_employee_id=None, record_type=RECORD_TYPE,
                          action="dry_run" if dry_run else "run", outcome=AuditOutcome.ALLOWED,
                          reason=(report.summary() if outcome == "done"
                                  else f"failed after {report.summary()}")[:200],
                          target=f"run {run_id}")
    log.info("retention.%s %s", "dry_run" if dry_run else "run", report.summary())
    return report


def claim_daily_run(db: Database, interval: dt.timedelta, now: dt.datetime | None = None) -> bool:
    """True for exactly one of several workers once per `interval` (a conditional UPDATE)."""
    moment = int((now or utcnow()).timestamp())
    with db.unit_of_work() as session:
        if session.get(RetentionMark, SCHEDULE_MARK) is None:
            session.add(RetentionMark(name=SCHEDULE_MARK, value=0, updated_at=utcnow()))
    with db.unit_of_work() as session:
        claimed = session.execute(
            update(RetentionMark)
            .where(RetentionMark.name == SCHEDULE_MARK,
                   or_(RetentionMark.value <= moment - int(interval.total_seconds()),
                       RetentionMark.value > moment))
            .values(value=moment, updated_at=utcnow())).rowcount
    return claimed == 1
