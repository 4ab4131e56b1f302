"""Erasure and rectification requests, where the law allows, with the exceptions recorded.

Erasure (UK GDPR article 17) removes what the helpdesk itself holds about an employee and does
not need: their conversations (Rasa's tracker events of every conversation carrying only their
principals, handoffs and transcripts), closed tickets (with comments, history, notifications),
delivered notices, the record of knowledge answers shown, the conversation pointers. What is
kept, and why (`EXCEPTIONS`), is written into the request's record:

- open tickets: the employee's own request is still being handled (until closed; then the
  retention schedule removes it);
- the records of the systems of record (payslips, tax codes, salary, pension, sickness, leave,
  expenses): legal obligations (HMRC: PAYE records for 3 years after the tax year, 6 for
  expenses and benefits; statutory sick pay; the Working Time Regulations) and the contract of
  employment: article 17(3)(b);
- the audit trail: evidence of who accessed the records, kept for security and to defend legal
  claims: article 17(3)(b) and (e);
- the directory entry and channel identities: needed while the person is employed;
- data subject requests: the evidence of how each request was answered.

Rectification (article 16) of what the systems of record hold is made there (the helpdesk reads
them); what the helpdesk holds itself is free text, which is completed with a supplementary
statement (an internal note on each of the employee's open tickets) rather than rewritten, and
the request is recorded either way.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field

from sqlalchemy import delete, select

from bot.audit import record_access
from bot.handoff.models import Handoff, HandoffEntry
from bot.identity import Principal
from bot.knowledge.models import KbAnswer
from bot.records.models import EmployeeConversation, NoticeState, RecordsNotice
from bot.storage.database import Database
from bot.storage.models import AuditOutcome, utcnow
from bot.tickets.models import (
    ActorKind,
    Ticket,
    TicketComment,
    TicketEvent,
    TicketNotification,
    TicketStatus,
    Visibility,
)

from . import subject_access
from .models import DataSubjectRequest, RequestKind
from .tracker_text import tracker_engine

EXCEPTIONS = {
    "open_tickets": "still being handled for the employee; removed by the retention schedule "
                    "after closure",
    "records": "legal obligations (HMRC PAYE and benefits records, statutory sick pay, working "
               "time) and the contract of employment: UK GDPR article 17(3)(b); held in the "
               "systems of record",
    "audit_trail": "security and the defence of legal claims: article 17(3)(b) and (e)",
    "directory": "needed while the person is employed",
    "data_subject_requests": "evidence of how each request was answered",
}


@dataclass
class ErasureReport:
    employee_number: str
    erased: dict[str, int] = field(default_factory=dict)
    kept: dict[str, str] = field(default_factory=lambda: dict(EXCEPTIONS))


def _tracker_conversations(tracker_url: str | None, archive: subject_access.SubjectAccessArchive
                           ) -> int:
    senders = [s for s in archive.data["conversations"] if not s.startswith("(")]
    if not tracker_url or not senders:
        return 0
    from bot.handoff.feed import tracker_events as events

    engine = tracker_engine(tracker_url)
    try:
        with engine.begin() as connection:
            return connection.execute(delete(events).where(events.c.sender_id.in_(senders))
                                      ).rowcount or 0
    finally:
        engine.dispose()


def erase(db: Database, tracker_url: str | None, employee_number: str, handled_by: Principal,
          preview: bool = False) -> ErasureReport:
    """Erase what may be erased (or, `preview`, count it); record the request and audit it."""
    archive = subject_access.gather(db, tracker_url, employee_number)
    records = archive.data["records"]
    report = ErasureReport(archive.employee_number)
    closed = [t["id"] for t in records.get("tickets", []) if t["status"] == TicketStatus.CLOSED]
    handoffs = [h["id"] for h in records.get("handoffs", [])]
    report.erased = {
        "conversations": len([s for s in archive.data["conversations"] if not s.startswith("(")]),
        "handoffs": len(handoffs),
        "closed_tickets": len(closed),
        "delivered_notices": len([n for n in records.get("records_notices", [])
                                  if n["state"] == NoticeState.DELIVERED]),
        "knowledge_answers": len(records.get("kb_answers", [])),
        "conversation_pointers": len(records.get("employee_conversations", [])),
    }
    if preview:
        return report
    report.erased["tracker_events"] = _tracker_conversations(tracker_url, archive)
    with db.unit_of_work() as session:
        employee = subject_access.find_employee(session, archive.employee_number)
        session.execute(delete(HandoffEntry).where(HandoffEntry.handoff_id.in_(handoffs)))
        session.execute(delete(Handoff).where(Handoff.id.in_(handoffs)))
        session.execute(delete(TicketNotification).where(TicketNotification.ticket_id.in_(closed)))
        session.execute(delete(TicketEvent).where(TicketEvent.ticket_id.in_(closed)))
        session.execute(delete(TicketComment).where(TicketComment.ticket_id.in_(closed)))
        session.execute(delete(Ticket).where(Ticket.id.in_(closed)))
        session.execute(delete(RecordsNotice).where(
            RecordsNotice.subject_employee_id == employee.id,
            RecordsNotice.state == NoticeState.DELIVERED))
        session.execute(delete(KbAnswer).where(KbAnswer.employee_id == employee.id))
        session.execute(delete(EmployeeConversation)
                        .where(EmployeeConversation.employee_id == employee.id))
        now = utcnow()
        session.add(DataSubjectRequest(
            employee_id=employee.id, kind=RequestKind.ERASURE, handled_by=str(handled_by)[:64],
            received_at=now, completed_at=now,
            detail=json.dumps({"erased": report.erased, "kept": report.kept})))
        record_access(session, principal=handled_by, actor=None, subject_employee_id=employee.id,
                      record_type=subject_access.RECORD_TYPE, action="erase",
                      outcome=AuditOutcome.ALLOWED,
                      reason=", ".join(f"{k}={v}" for k, v in report.erased.items())[:200])
    return report


def rectify(db: Database, employee_number: str, statement: str, handled_by: Principal) -> int:
    """Record a rectification request; add its supplementary statement to the employee's open
    tickets (how many)."""
    statement = " ".join(statement.split())[:2000]
    if len(statement) < 10:
        raise ValueError("describe the correction in at least 10 characters")
    with db.unit_of_work() as session:
        employee = subject_access.find_employee(session, employee_number)
        tickets = session.scalars(select(Ticket).where(
            Ticket.requester_id == employee.id, Ticket.status != TicketStatus.CLOSED)).all()
        now = utcnow()
        for ticket in tickets:
            session.add(TicketComment(
                ticket_id=ticket.id, author_kind=ActorKind.SYSTEM,
                author_agent=str(handled_by)[:100], visibility=Visibility.INTERNAL,
                body=f"Rectification (supplementary statement): {statement}", created_at=now))
        session.add(DataSubjectRequest(
            employee_id=employee.id, kind=RequestKind.RECTIFICATION,
            handled_by=str(handled_by)[:64], received_at=now, completed_at=now,
            detail=json.dumps({"statement": statement, "open_tickets_noted": len(tickets),
                               "systems_of_record": "corrected at source by HR or payroll"})))
        record_access(session, principal=handled_by, actor=None, subject_employee_id=employee.id,
                      record_type=subject_access.RECORD_TYPE, action="rectify",
                      outcome=AuditOutcome.ALLOWED, reason=f"{len(tickets)} open tickets noted")
        return len(tickets)
