"""Subject access, on SQLite and PostgreSQL: the archive of a demo employee holds every item
planted for them in every store, and nothing of any other employee."""
from __future__ import annotations

import io
import json
import zipfile

from sqlalchemy import create_engine, insert, select

from bot.audit import record_access
from bot.backoffice.record_tables import LeaveBooking
from bot.backoffice.types import LeaveType
from bot.handoff.feed import tracker_events
from bot.handoff.models import EntryKind, Handoff, HandoffEntry, HandoffReason, HandoffStatus
from bot.identity import Principal
from bot.knowledge.models import KbAnswer
from bot.privacy import subject_access
from bot.privacy.models import DataSubjectRequest
from bot.records.models import NoticeKind, NoticeState, RecordsNotice
from bot.storage.database import Database
from bot.storage.models import AuditEvent, AuditOutcome, ChannelIdentity, Employee, utcnow
from bot.tickets.models import (
    ActorKind,
    Priority,
    ServiceLine,
    Ticket,
    TicketComment,
    TicketStatus,
    Visibility,
)

DPO = Principal("console", "helpdesk", "dev.okafor")


def _employee(session, number: str) -> Employee:  # noqa: ANN001
    return session.scalar(select(Employee).where(Employee.employee_number == number))


def _principal(session, employee: Employee) -> dict[str, str]:  # noqa: ANN001
    identity = session.scalar(select(ChannelIdentity)
                              .where(ChannelIdentity.employee_id == employee.id))
    return {"channel": identity.channel, "tenant": identity.tenant, "subject": identity.subject}


def _plant(db: Database, number: str, tag: str) -> list[str]:
    """One item per store for the employee; the canaries to find in their archive."""
    canaries = [f"{tag}-TICKET", f"{tag}-COMMENT", f"{tag}-TRANSCRIPT", f"{tag}-CHAT",
                f"{tag}-BOT", f"{tag}-NOTICE", f"{tag}-ACCESS", f"{tag}-CONV"]
    now = utcnow()
    with db.unit_of_work() as session:
        employee = _employee(session, number)
        principal = _principal(session, employee)
        ticket = Ticket(reference=f"HR-{abs(hash(tag)) % 900000 + 1:06d}", prefix="HR",
                        number=abs(hash(tag)) % 900000 + 1, requester_id=employee.id,
                        category=ServiceLine.HR, subject="Question",
                        description=f"About my leave {canaries[0]}", priority=Priority.NORMAL,
                        status=TicketStatus.NEW, conversation_id=canaries[7], channel="widget",
                        created_at=now, updated_at=now, response_due_at=now,
                        resolution_due_at=now, response_breached=False,
                        resolution_breached=False, reopen_count=0)
        session.add(ticket)
        session.flush()
        session.add(TicketComment(ticket_id=ticket.id, author_kind=ActorKind.EMPLOYEE,
                                  author_employee_id=employee.id, visibility=Visibility.PUBLIC,
                                  body=canaries[1], created_at=now))
        handoff = Handoff(conversation_id=canaries[7], channel="widget",
                          tenant=principal["tenant"], subject=principal["subject"],
                          employee_id=employee.id, department_code="DDS", skill=ServiceLine.HR,
                          reason=HandoffReason.REQUESTED, status=HandoffStatus.RESUMED,
                          summary="Asked for a person.", feed_since=0.0, requested_at=now,
                          ended_at=now, version=1)
        session.add(handoff)
        session.flush()
        session.add(HandoffEntry(handoff_id=handoff.id, at=now, kind=EntryKind.EMPLOYEE,
                                 body=canaries[2], shared_body=canaries[2],
                                 delivery_failed=False))
        session.add(RecordsNotice(recipient_id=employee.id, kind=NoticeKind.LEAVE_DECIDED,
                                  subject_employee_id=employee.id, record_reference=canaries[5],
                                  state=NoticeState.PENDING, attempts=0, created_at=now))
        session.add(KbAnswer(at=now, employee_id=employee.id, conversation_id=canaries[7],
                             channel="widget", answered=False, topic="annual_leave"))
        record_access(session, principal=Principal("console", "helpdesk", "sam.patel"),
                      actor=None, subject_employee_id=employee.id, record_type="ticket",
                      outcome=AuditOutcome.ALLOWED, reason=canaries[6])
    engine = create_engine(db.url)
    tracker_events.metadata.create_all(engine)
    with engine.begin() as connection:
        for kind, data in (
                ("user", {"event": "user", "text": f"hello {canaries[3]}",
                          "metadata": {"principal": principal},
                          "parse_data": {"intent": {"name": "greet"}}}),
                ("bot", {"event": "bot", "text": f"Hi {canaries[4]}"})):
            connection.execute(insert(tracker_events).values(
                sender_id=canaries[7], type_name=kind, timestamp=now.timestamp(),
                data=json.dumps(data)))
    engine.dispose()
    return canaries


def _everything_of_others(db: Database, number: str) -> list[str]:
    with db.unit_of_work() as session:
        return [value for e in session.scalars(select(Employee)
                                               .where(Employee.employee_number != number))
                for value in (f"{e.given_name} {e.family_name}", e.email, e.employee_number)]


def test_the_archive_holds_every_planted_item_and_nothing_of_anyone_else(demo_db: Database
                                                                         ) -> None:
    alice = _plant(demo_db, "E1001", "ALICE")
    ben = _plant(demo_db, "E1002", "BEN")
    with demo_db.unit_of_work() as session:
        alice_id = _employee(session, "E1001").id
        session.add(LeaveBooking(employee_id=alice_id, leave_type=LeaveType.ANNUAL,
                                 start_date=utcnow().date(), end_date=utcnow().date(), days=1,
                                 status="approved"))

    archive = subject_access.export(demo_db, demo_db.url, "e1001", DPO)

    with zipfile.ZipFile(io.BytesIO(archive.archive)) as bundle:
        names = sorted(bundle.namelist())
        assert names == ["subject-access-E1001.html", "subject-access-E1001.json"]
        text = {name: bundle.read(name).decode("utf-8") for name in names}
    data = json.loads(text["subject-access-E1001.json"])
    for canary in alice:
        assert canary in text["subject-access-E1001.json"], canary
        assert canary in text["subject-access-E1001.html"], canary
    for canary in ben:
        assert all(canary not in body for body in text.values()), canary
    for other in _everything_of_others(demo_db, "E1001"):
        assert all(other not in body for body in text.values()), other
    assert data["employee"]["employee_number"] == "E1001"
    assert data["employee"]["line_manager"] == "(another employee)"
    assert data["records"]["leave_bookings"] and data["records"]["tickets"]
    assert data["records"]["ticket_comments"][0]["body"] == "ALICE-COMMENT"
    assert list(data["conversations"]) == ["ALICE-CONV"]
    assert [e["type"] for e in data["conversations"]["ALICE-CONV"]] == ["user", "bot"]
    assert data["knowledge_answers_shown"][0]["topic"] == "annual_leave"
    assert any(a["reason"] == "ALICE-ACCESS" for a in data["who_accessed_their_records"])
    with demo_db.unit_of_work() as session:
        request = session.scalars(select(DataSubjectRequest)).one()
        assert request.archive_sha256 == archive.sha256 and request.kind.value == "access"
        export_event = session.scalars(select(AuditEvent).where(
            AuditEvent.record_type == "subject_access")).one()
        assert export_event.subject_employee_id == alice_id
        assert export_event.actor_principal == "console:helpdesk:dev.okafor"


def test_every_reference_to_an_employee_is_accounted_for() -> None:
    """A new table that refers to employees must say whether its rows go into a subject access
    export (SUBJECT_COLUMNS, CHILD_TABLES) or why not (NOT_ABOUT_THE_SUBJECT)."""
    assert subject_access.unclassified() == []


def test_an_unknown_employee_is_refused(demo_db: Database) -> None:
    import pytest

    with pytest.raises(subject_access.EmployeeNotFound):
        subject_access.export(demo_db, None, "E9999", DPO)


def test_erasure_removes_what_may_go_and_records_what_stays(demo_db: Database) -> None:
    from bot.privacy import erasure

    alice = _plant(demo_db, "E1001", "ALICE")
    ben = _plant(demo_db, "E1002", "BEN")
    preview = erasure.erase(demo_db, demo_db.url, "E1001", DPO, preview=True)
    assert preview.erased["conversations"] == 1 and preview.erased["handoffs"] == 1
    report = erasure.erase(demo_db, demo_db.url, "E1001", DPO)
    assert report.erased["tracker_events"] == 2
    assert "17(3)(b)" in report.kept["records"]
    after = subject_access.gather(demo_db, demo_db.url, "E1001").data
    assert after["conversations"] == {} and after["records"]["handoffs"] == []
    assert after["records"]["tickets"]  # open: kept until closed
    assert after["who_accessed_their_records"]  # the trail stays
    text = json.dumps(after)
    for gone in (alice[2], alice[3], alice[4]):
        assert gone not in text
    bens = json.dumps(subject_access.gather(demo_db, demo_db.url, "E1002").data)
    assert all(canary in bens for canary in ben)  # nobody else's data is touched
    assert erasure.rectify(demo_db, "E1001", "My surname is Hughes-Smith since May.", DPO) == 1
    with demo_db.unit_of_work() as session:
        kinds = [r.kind.value for r in session.scalars(select(DataSubjectRequest)
                                                       .order_by(DataSubjectRequest.id))]
    assert kinds == ["erasure", "rectification"]
