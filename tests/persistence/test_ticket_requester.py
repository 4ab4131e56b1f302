"""An employee's own tickets: raise, read, list, comment, close, reopen; others' refused."""
from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
import time_machine
from sqlalchemy import select

from bot.config import Settings
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.errors import UnknownPrincipal
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import AuditEvent, AuditOutcome, Employee
from bot.tickets.agent import AgentRef, add_comment, change_status
from bot.tickets.errors import (
    InvalidTicket,
    InvalidTransition,
    NotYourTicket,
    ReopenWindowPassed,
    TicketNotFound,
)
from bot.tickets.models import Priority, ServiceLine, Ticket, TicketStatus, Visibility
from bot.tickets.requester import (
    NewTicket,
    add_my_comment,
    close_my_ticket,
    my_latest_ticket,
    my_reopenable_tickets,
    my_ticket,
    my_tickets,
    raise_ticket,
    reopen_my_ticket,
)
from bot.tickets.sla import policy_from_settings

POLICY = policy_from_settings(Settings())
UTC = dt.timezone.utc
ALICE = Principal("widget", DEMO_WIDGET_ISSUER, "alice.hughes")
BEN = Principal("widget", DEMO_WIDGET_ISSUER, "ben.okafor")
AGENT = AgentRef("sam.agent")


def raise_one(db: Database, who: Principal = ALICE, text: str = "My October overtime is missing",
              category: ServiceLine = ServiceLine.PAYROLL, priority: Priority | None = None,
              key: str | None = None) -> str:
    new = NewTicket(category, text, priority, conversation_id="conv-1", channel="widget",
                    idempotency_key=key)
    return raise_ticket(db, who, new, POLICY).summary.reference


def audit_rows(db: Database) -> list[AuditEvent]:
    with db.unit_of_work() as session:
        return list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def employee_id(db: Database, number: str) -> int:
    with db.unit_of_work() as session:
        return session.scalar(select(Employee.id).where(Employee.employee_number == number))


@time_machine.travel(dt.datetime(2026, 12, 24, 16, 0, tzinfo=UTC), tick=False)
def test_a_ticket_raised_on_christmas_eve_stores_exact_due_times(demo_db: Database) -> None:
    reference = raise_one(demo_db)  # payroll: suggested priority high (4 h / 16 h)
    with demo_db.unit_of_work() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.reference == reference))
        stored = (ticket.priority, ticket.status, ticket.conversation_id, ticket.channel,
                  ticket.response_due_at.replace(tzinfo=UTC),
                  ticket.resolution_due_at.replace(tzinfo=UTC))
    assert stored == (Priority.HIGH, TicketStatus.NEW, "conv-1", "widget",
                      dt.datetime(2026, 12, 29, 12, 0, tzinfo=UTC),
                      dt.datetime(2026, 12, 30, 16, 0, tzinfo=UTC))


@time_machine.travel(dt.datetime(2026, 11, 27, 16, 30, tzinfo=UTC), tick=False)
def test_the_employee_may_choose_another_priority(demo_db: Database) -> None:
    reference = raise_one(demo_db, priority=Priority.LOW)
    detail = my_ticket(demo_db, ALICE, reference)
    # Fri 16:30 + 16 h: 0.5 h Fri, 8 h Mon 30 Nov, 7.5 h Tue 1 Dec → 16:30
    assert detail.summary.priority is Priority.LOW
    assert detail.summary.response_due_at == dt.datetime(2026, 12, 1, 16, 30, tzinfo=UTC)


def test_the_requester_reads_their_ticket_and_the_read_is_audited(demo_db: Database) -> None:
    reference = raise_one(demo_db)
    detail = my_ticket(demo_db, ALICE, reference.lower())  # references are case-insensitive
    assert detail.summary.reference == reference
    assert detail.description == "My October overtime is missing"
    alice = employee_id(demo_db, "E1001")
    create, read = audit_rows(demo_db)
    assert (create.action, create.outcome) == ("create", AuditOutcome.ALLOWED)
    assert (read.record_type, read.action, read.outcome) == ("ticket", "read", AuditOutcome.ALLOWED)
    assert (read.actor_employee_id, read.subject_employee_id) == (alice, alice)


def test_asking_for_someone_elses_ticket_is_refused_and_audited(demo_db: Database) -> None:
    reference = raise_one(demo_db, who=BEN)
    with pytest.raises(NotYourTicket):
        my_ticket(demo_db, ALICE, reference)
    refusal = audit_rows(demo_db)[-1]
    assert refusal.outcome is AuditOutcome.REFUSED and refusal.reason == "not the requester"
    assert refusal.actor_employee_id == employee_id(demo_db, "E1001")
    assert refusal.subject_employee_id == employee_id(demo_db, "E1002")


def test_an_unknown_reference_is_refused_and_audited(demo_db: Database) -> None:
    with pytest.raises(TicketNotFound):
        my_ticket(demo_db, ALICE, "HR-999999")
    refusal = audit_rows(demo_db)[-1]
    assert (refusal.outcome, refusal.reason, refusal.subject_employee_id) == (
        AuditOutcome.REFUSED, "not found", None)


@pytest.mark.parametrize("change", [
    lambda db, ref: close_my_ticket(db, ALICE, ref, POLICY),
    lambda db, ref: add_my_comment(db, ALICE, ref, "I've sent the form", POLICY),
    lambda db, ref: reopen_my_ticket(db, ALICE, ref, POLICY),
])
def test_nobody_changes_someone_elses_ticket(demo_db: Database,
                                             change: Callable[[Database, str], object]) -> None:
    reference = raise_one(demo_db, who=BEN)
    with pytest.raises(NotYourTicket):
        change(demo_db, reference)
    assert my_ticket(demo_db, BEN, reference).summary.status is TicketStatus.NEW
    assert my_ticket(demo_db, BEN, reference).comments == ()
    assert audit_rows(demo_db)[-3].outcome is AuditOutcome.REFUSED


def test_an_unknown_principal_gets_nothing(demo_db: Database) -> None:
    with pytest.raises(UnknownPrincipal):
        raise_one(demo_db, who=Principal("widget", DEMO_WIDGET_ISSUER, "mallory"))
    with pytest.raises(UnknownPrincipal):
        my_tickets(demo_db, Principal("slack", "T1", "alice.hughes"))


def test_the_list_holds_only_my_open_tickets_newest_first(demo_db: Database) -> None:
    first = raise_one(demo_db, text="First query about my flexi", category=ServiceLine.HR)
    second = raise_one(demo_db, text="Second query about my pension", category=ServiceLine.PENSIONS)
    closed = raise_one(demo_db, text="Third query, soon closed")
    raise_one(demo_db, who=BEN, text="Ben's own query about pay")
    close_my_ticket(demo_db, ALICE, closed, POLICY)
    assert [t.reference for t in my_tickets(demo_db, ALICE)] == [second, first]
    assert audit_rows(demo_db)[-1].record_type == "ticket_list"


def test_latest_ticket_is_the_most_recently_updated(demo_db: Database) -> None:
    assert my_latest_ticket(demo_db, ALICE) is None
    first = raise_one(demo_db, text="First query about my flexi")
    raise_one(demo_db, text="Second query about my pay")
    add_my_comment(demo_db, ALICE, first, "More detail on the first one", POLICY)
    assert my_latest_ticket(demo_db, ALICE).summary.reference == first


def test_internal_notes_never_reach_the_employee(demo_db: Database) -> None:
    reference = raise_one(demo_db)
    add_comment(demo_db, AGENT, reference, "Payroll run was late for DDS", Visibility.INTERNAL,
                POLICY)
    add_comment(demo_db, AGENT, reference, "We're looking into it", Visibility.PUBLIC, POLICY)
    add_my_comment(demo_db, ALICE, reference, "Thanks, I've attached my timesheet", POLICY)
    comments = my_ticket(demo_db, ALICE, reference).comments
    assert [(c.author, c.body) for c in comments] == [
        ("the helpdesk", "We're looking into it"), ("you", "Thanks, I've attached my timesheet")]


def test_a_comment_on_a_ticket_waiting_for_me_hands_it_back(demo_db: Database) -> None:
    reference = raise_one(demo_db)
    change_status(demo_db, AGENT, reference, TicketStatus.AWAITING_CUSTOMER, POLICY)
    assert add_my_comment(demo_db, ALICE, reference, "Here is the receipt", POLICY).status \
        is TicketStatus.OPEN


def test_close_then_reopen_within_the_window(demo_db: Database) -> None:
    reference = raise_one(demo_db)
    assert close_my_ticket(demo_db, ALICE, reference, POLICY).status is TicketStatus.CLOSED
    with pytest.raises(InvalidTransition):
        close_my_ticket(demo_db, ALICE, reference, POLICY)
    with pytest.raises(InvalidTransition):
        add_my_comment(demo_db, ALICE, reference, "Another note", POLICY)
    assert [t.reference for t in my_reopenable_tickets(demo_db, ALICE, POLICY)] == [reference]
    reopened = reopen_my_ticket(demo_db, ALICE, reference, POLICY)
    assert reopened.status is TicketStatus.OPEN and reopened.closed_at is None
    with pytest.raises(InvalidTransition):
        reopen_my_ticket(demo_db, ALICE, reference, POLICY)


def test_reopening_after_the_window_is_refused(demo_db: Database) -> None:
    with time_machine.travel(dt.datetime(2026, 12, 24, 12, 0, tzinfo=UTC), tick=False):
        reference = raise_one(demo_db)
        close_my_ticket(demo_db, ALICE, reference, POLICY)
    # ten working days after Thu 24 Dec: Tue 12 Jan 2027 17:00
    with time_machine.travel(dt.datetime(2027, 1, 12, 16, 59, tzinfo=UTC), tick=False):
        assert [t.reference for t in my_reopenable_tickets(demo_db, ALICE, POLICY)] == [reference]
    with time_machine.travel(dt.datetime(2027, 1, 12, 17, 1, tzinfo=UTC), tick=False):
        assert my_reopenable_tickets(demo_db, ALICE, POLICY) == []
        with pytest.raises(ReopenWindowPassed):
            reopen_my_ticket(demo_db, ALICE, reference, POLICY)
        assert my_ticket(demo_db, ALICE, reference).summary.status is TicketStatus.CLOSED
    assert audit_rows(demo_db)[-2].reason == "ReopenWindowPassed"


@pytest.mark.parametrize("text", ["", "   ", "too short", "x" * 2001])
def test_descriptions_must_say_something_sensible(demo_db: Database, text: str) -> None:
    with pytest.raises(InvalidTicket):
        raise_one(demo_db, text=text)
    assert my_tickets(demo_db, ALICE) == []


def test_descriptions_and_comments_from_chat_are_kept_redacted(demo_db: Database) -> None:
    reference = raise_one(demo_db, text="Please update my sort code to 20-45-77, account "
                                        "41234567, my manager Tom Evans agreed")
    with demo_db.unit_of_work() as session:
        ticket = session.scalars(select(Ticket).where(Ticket.reference == reference)).one()
        assert ticket.description == ("Please update my sort code to [sort code], account "
                                      "[account number], my manager [name] agreed")
    add_my_comment(demo_db, ALICE, reference, "my mobile is 07700 900123", POLICY)
    detail = my_ticket(demo_db, ALICE, reference)
    assert "07700 900123" not in str(detail) and "[phone]" in str(detail)
