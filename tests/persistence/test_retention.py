"""The retention schedule on a database with aged rows, on SQLite and PostgreSQL: each store
loses exactly the rows its period says, one day either side of every boundary, and nothing else.
Rasa's events table lives in the same test database (the job reaches it by its own URL)."""
from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, insert, select

from bot.handoff import accounts
from bot.handoff.feed import tracker_events
from bot.handoff.models import (
    AgentSession,
    EntryKind,
    Handoff,
    HandoffEntry,
    HandoffReason,
    HandoffStatus,
    WidgetOutboxMessage,
)
from bot.knowledge.models import KbAnswer
from bot.privacy import retention
from bot.privacy.models import RetentionRun
from bot.privacy.retention import RetentionSchedule
from bot.records.models import NoticeKind, NoticeState, RecordsNotice
from bot.storage import audit_chain
from bot.storage.database import Database
from bot.storage.models import AuditEvent, AuditOutcome, AuditPrune, Employee
from bot.tickets.models import (
    ActorKind,
    EventKind,
    NotificationState,
    Priority,
    ServiceLine,
    Ticket,
    TicketComment,
    TicketEvent,
    TicketNotification,
    TicketStatus,
    Visibility,
)

NOW = dt.datetime(2026, 11, 26, 12, 0, tzinfo=dt.timezone.utc)
SCHEDULE = RetentionSchedule.parse("audit=400")
PII = "my NI number is QQ 12 34 56 C and I live at LS1 4AP"


def ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


class Aged:
    """Builds rows of known ages; remembers which should survive."""

    def __init__(self, db: Database) -> None:
        self.db = db
        with db.unit_of_work() as session:
            self.alice = session.scalar(select(Employee.id)
                                        .where(Employee.employee_number == "E1001"))
        self.counter = 0

    def handoff(self, status: HandoffStatus, ended_days: float | None,
                entries: list[tuple[float, str]]) -> int:
        self.counter += 1
        with self.db.unit_of_work() as session:
            handoff = Handoff(
                conversation_id=f"conv-{self.counter}",
                open_conversation_id=None if ended_days is not None else f"conv-{self.counter}",
                channel="widget", tenant="helpdesk-intranet", subject="alice.hughes",
                employee_id=self.alice, department_code="DDS", skill=ServiceLine.HR,
                reason=HandoffReason.REQUESTED, status=status, summary="Asked for a person.",
                feed_since=0.0, requested_at=ago(500),
                ended_at=ago(ended_days) if ended_days is not None else None, version=1)
            session.add(handoff)
            session.flush()
            for days, body in entries:
                session.add(HandoffEntry(handoff_id=handoff.id, at=ago(days),
                                         kind=EntryKind.EMPLOYEE, body=body,
                                         shared_body=f"[redacted {days}]",
                                         delivery_failed=False))
            return handoff.id

    def ticket(self, status: TicketStatus, closed_days: float | None) -> int:
        self.counter += 1
        with self.db.unit_of_work() as session:
            ticket = Ticket(
                reference=f"HR-{900000 + self.counter}", prefix="HR", number=900000 + self.counter,
                requester_id=self.alice, category=ServiceLine.HR, subject="A question",
                description="A question about leave", priority=Priority.NORMAL, status=status,
                created_at=ago(1000), updated_at=ago(1000), response_due_at=ago(999),
                resolution_due_at=ago(990), response_breached=False, resolution_breached=False,
                reopen_count=0, closed_at=ago(closed_days) if closed_days is not None else None)
            session.add(ticket)
            session.flush()
            comment = TicketComment(ticket_id=ticket.id, author_kind=ActorKind.EMPLOYEE,
                                    author_employee_id=self.alice, visibility=Visibility.PUBLIC,
                                    body="thanks", created_at=ago(1000))
            session.add(comment)
            session.flush()
            event = TicketEvent(ticket_id=ticket.id, at=ago(1000), kind=EventKind.COMMENTED,
                                actor_kind=ActorKind.EMPLOYEE, actor="employee:1",
                                comment_id=comment.id)
            session.add(event)
            session.flush()
            session.add(TicketNotification(event_id=event.id, ticket_id=ticket.id,
                                           conversation_id=None, state=NotificationState.PENDING,
                                           attempts=0, created_at=ago(1)))
            return ticket.id

    def notification(self, state: NotificationState, days: float) -> int:
        ticket_id = self.ticket(TicketStatus.OPEN, None)
        with self.db.unit_of_work() as session:
            event = TicketEvent(ticket_id=ticket_id, at=ago(days), kind=EventKind.STATUS_CHANGED,
                                actor_kind=ActorKind.AGENT, actor="sam")
            session.add(event)
            session.flush()
            row = TicketNotification(event_id=event.id, ticket_id=ticket_id,
                                     conversation_id="c", state=state, attempts=1,
                                     created_at=ago(days))
            session.add(row)
            session.flush()
            return row.id

    def notice(self, state: NoticeState, days: float) -> int:
        with self.db.unit_of_work() as session:
            row = RecordsNotice(recipient_id=self.alice, kind=NoticeKind.LEAVE_DECIDED,
                                subject_employee_id=self.alice, record_reference=f"r{days}-{state.value}",
                                state=state, attempts=0, created_at=ago(days))
            session.add(row)
            session.flush()
            return row.id

    def outbox(self, days: float) -> int:
        self.counter += 1
        with self.db.unit_of_work() as session:
            row = WidgetOutboxMessage(push_id=f"p{self.counter}", conversation_id="c",
                                      created_at=ago(days), payload="{}")
            session.add(row)
            session.flush()
            return row.id

    def answer(self, days: float) -> int:
        with self.db.unit_of_work() as session:
            row = KbAnswer(at=ago(days), employee_id=self.alice, conversation_id="c",
                           channel="widget", answered=False)
            session.add(row)
            session.flush()
            return row.id

    def audit(self, days: float) -> None:
        with self.db.unit_of_work() as session:
            session.add(AuditEvent(at=ago(days), channel="widget", actor_principal="w:t:s",
                                   record_type="leave_balance", action="read",
                                   outcome=AuditOutcome.ALLOWED, subject_employee_id=self.alice))

    def console_session(self, expired_days: float) -> int:
        with self.db.unit_of_work() as session:
            agent = session.scalar(select(accounts.Agent).where(
                accounts.Agent.username == "sam.keeper"))
            if agent is None:
                agent = accounts.create_agent(session, "sam.keeper", "Sam", "long enough pass",
                                              "hr")
                session.flush()
            self.counter += 1
            row = AgentSession(token_hash=f"{self.counter:064d}", csrf_token="x",
                               agent_id=agent.id, created_at=ago(expired_days + 1),
                               expires_at=ago(expired_days), last_seen_at=ago(expired_days))
            session.add(row)
            session.flush()
            return row.id


def _events(db: Database, rows: list[tuple[str, str, str | None, float, dict]]) -> None:
    engine = create_engine(db.url)
    tracker_events.metadata.create_all(engine)
    with engine.begin() as connection:
        for sender, type_name, action, days, data in rows:
            connection.execute(insert(tracker_events).values(
                sender_id=sender, type_name=type_name, action_name=action,
                timestamp=ago(days).timestamp(), data=json.dumps(data)))
    engine.dispose()


def _tracker(db: Database) -> list[tuple[str, float, dict]]:
    with db.engine.connect() as connection:
        rows = connection.execute(select(tracker_events.c.sender_id, tracker_events.c.timestamp,
                                         tracker_events.c.data)
                                  .order_by(tracker_events.c.id)).all()
    return [(sender, round((NOW.timestamp() - stamp) / 86400), json.loads(data))
            for sender, stamp, data in rows]


@pytest.fixture
def aged(demo_db: Database) -> Iterator[Aged]:
    yield Aged(demo_db)


def _ids(db: Database, model, column="id") -> set[int]:  # noqa: ANN001
    with db.unit_of_work() as session:
        return set(session.scalars(select(getattr(model, column))))


def test_the_schedule_deletes_and_anonymises_exactly_what_is_due(aged: Aged) -> None:
    db = aged.db
    old_handoff = aged.handoff(HandoffStatus.RESUMED, 366, [(366, PII)])
    kept_handoff = aged.handoff(HandoffStatus.RESUMED, 364, [(364, "[redacted 364]")])
    open_handoff = aged.handoff(HandoffStatus.WAITING, None, [(400, PII)])
    text_handoff = aged.handoff(HandoffStatus.TICKETED, 29, [(31, PII), (29, PII)])
    old_ticket = aged.ticket(TicketStatus.CLOSED, 731)
    kept_ticket = aged.ticket(TicketStatus.CLOSED, 729)
    resolved_ticket = aged.ticket(TicketStatus.RESOLVED, None)
    gone_notification = aged.notification(NotificationState.DELIVERED, 31)
    pending_notification = aged.notification(NotificationState.PENDING, 100)
    young_notification = aged.notification(NotificationState.FAILED, 29)
    gone_notice, pending_notice = (aged.notice(NoticeState.DELIVERED, 31),
                                   aged.notice(NoticeState.PENDING, 31))
    young_notice = aged.notice(NoticeState.DELIVERED, 29)
    gone_outbox, young_outbox = aged.outbox(31), aged.outbox(29)
    gone_answer, young_answer = aged.answer(366), aged.answer(364)
    gone_session, young_session = aged.console_session(2), aged.console_session(0.5)
    for days in (402, 401, 399, 10):
        aged.audit(days)
    _events(db, [
        ("a", "action", "action_session_start", 400, {"event": "action"}),
        ("a", "user", None, 400, {"event": "user", "text": PII}),
        ("b", "action", "action_session_start", 40, {"event": "action"}),
        ("b", "user", None, 31, {"event": "user", "text": PII,
                                 "parse_data": {"text": PII, "entities": [
                                     {"entity": "postcode", "value": "LS1 4AP"}]},
                                 "metadata": {"principal": {"subject": "alice.hughes"}}}),
        ("b", "bot", None, 31, {"event": "bot", "text": "Your postcode is LS1 4AP."}),
        ("b", "slot", None, 31, {"event": "slot", "name": "ticket_description",
                                 "value": PII}),
        ("b", "user", None, 29, {"event": "user", "text": PII}),
        ("a", "action", "action_session_start", 10, {"event": "action"}),
        ("a", "user", None, 10, {"event": "user", "text": PII}),
    ])  # in time order, as Rasa writes them
    audit_before = _ids(db, AuditEvent, "seq")

    due = retention.run(db, SCHEDULE, db.url, started_by="test", now=NOW, dry_run=True)
    assert _ids(db, Handoff) >= {old_handoff, kept_handoff}  # a dry run changes nothing
    report = retention.run(db, SCHEDULE, db.url, started_by="test", now=NOW)

    assert _ids(db, Handoff) == {kept_handoff, open_handoff, text_handoff}
    with db.unit_of_work() as session:
        entries = {(e.handoff_id, round((NOW - audit_chain_utc(e.at)).days)): (e.body,
                                                                               e.shared_body)
                   for e in session.scalars(select(HandoffEntry))}
    assert entries[(text_handoff, 31)] == ("[redacted 31]", "[redacted 31]")
    assert entries[(text_handoff, 29)][0] == PII  # inside the period
    assert entries[(open_handoff, 400)][0] == PII  # an open handoff is not touched
    assert _ids(db, Ticket) >= {kept_ticket, resolved_ticket}
    assert old_ticket not in _ids(db, Ticket)
    with db.unit_of_work() as session:
        assert session.scalar(select(func.count()).select_from(TicketComment)
                              .where(TicketComment.ticket_id == old_ticket)) == 0
    notifications = _ids(db, TicketNotification)
    assert gone_notification not in notifications
    assert {pending_notification, young_notification} <= notifications
    assert _ids(db, RecordsNotice) >= {pending_notice, young_notice}
    assert gone_notice not in _ids(db, RecordsNotice)
    assert _ids(db, WidgetOutboxMessage) == {young_outbox}
    assert _ids(db, KbAnswer) == {young_answer}
    assert young_session in _ids(db, AgentSession) and gone_session not in _ids(db, AgentSession)

    # Audit: the two rows older than 400 days go; the chain still verifies from the prune.
    audit_after = _ids(db, AuditEvent, "seq")
    assert audit_before - audit_after == {min(audit_before), min(audit_before) + 1}
    with db.engine.connect() as connection:
        assert audit_chain.verify(connection).ok
        assert connection.scalar(select(AuditPrune.rows)) == 2

    tracker = _tracker(db)
    assert [(s, d) for s, d, _ in tracker] == [("b", 40), ("b", 31), ("b", 31), ("b", 31),
                                               ("b", 29), ("a", 10), ("a", 10)]
    _, _, user = tracker[1]
    assert "QQ 12 34 56 C" not in json.dumps(user) and "LS1 4AP" not in json.dumps(user)
    assert user["text"] == "my NI number is [NI number] and I live at [postcode]"
    assert user["parse_data"]["entities"][0] == {"entity": "postcode", "value": "[postcode]"}
    assert user["metadata"] == {"principal": {"subject": "alice.hughes"}}
    assert tracker[2][2]["text"] == "Your postcode is [postcode]."
    assert "QQ" not in tracker[3][2]["value"]
    assert tracker[4][2]["text"] == PII and tracker[6][2]["text"] == PII  # newer: kept

    assert report.counts["handoffs_deleted"] == due.counts["handoffs_deleted"] == 1
    assert report.counts["tickets_deleted"] == 1 and report.counts["audit_events_deleted"] == 2
    assert report.counts["tracker_events_deleted"] == 2
    assert report.counts["tracker_events_redacted"] == 3
    with db.unit_of_work() as session:
        runs = session.scalars(select(RetentionRun).order_by(RetentionRun.id)).all()
        assert [(r.dry_run, r.outcome) for r in runs] == [(True, "done"), (False, "done")]
        assert json.loads(runs[-1].report)["counts"] == report.counts
        recorded = session.scalars(select(AuditEvent).where(AuditEvent.record_type ==
                                                            "retention")).all()
        assert [e.action for e in recorded] == ["dry_run", "run"]

    again = retention.run(db, SCHEDULE, db.url, started_by="test", now=NOW)
    assert sum(again.counts.values()) == 0  # idempotent


def audit_chain_utc(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def test_the_schedule_is_configured_and_checked() -> None:
    default = RetentionSchedule.parse("")
    assert (default.conversation_text, default.conversations, default.tickets, default.audit,
            default.outboxes, default.knowledge_answers) == (30, 365, 730, 2190, 30, 365)
    assert RetentionSchedule.parse("tickets=100d, outboxes=7").tickets == 100
    for wrong in ("audit=30", "nonsense=3", "tickets=soon", "conversations=10", "outboxes=0"):
        with pytest.raises(retention.InvalidSchedule):
            RetentionSchedule.parse(wrong)


def test_one_worker_of_several_claims_each_days_run(demo_db: Database) -> None:
    day = dt.timedelta(hours=24)
    assert retention.claim_daily_run(demo_db, day, NOW)
    assert not retention.claim_daily_run(demo_db, day, NOW + dt.timedelta(hours=1))
    assert retention.claim_daily_run(demo_db, day, NOW + dt.timedelta(hours=24))
