"""The console's ticket services: list, filter, read, change status, comment, assign, SLA flags."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.demo.description import DEMO_TICKETS, DEMO_WIDGET_ISSUER
from bot.demo.tickets import seed_tickets
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import AuditEvent
from bot.tickets.agent import (
    AgentRef,
    TicketFilter,
    add_comment,
    assign,
    change_status,
    flag_breaches,
    get_ticket,
    list_tickets,
)
from bot.tickets.errors import InvalidTransition, TicketNotFound
from bot.tickets.models import (
    NotificationState,
    Priority,
    ServiceLine,
    TicketNotification,
    TicketStatus,
    Visibility,
)
from bot.tickets.requester import NewTicket, raise_ticket
from bot.tickets.sla import policy_from_settings

POLICY = policy_from_settings(Settings())
UTC = dt.timezone.utc
AGENT = AgentRef("sam.agent")
TODAY = dt.date(2026, 11, 26)


def raise_for(db: Database, subject: str, category: ServiceLine, priority: Priority,
              conversation: str | None = "conv-1", at: dt.datetime | None = None) -> str:
    new = NewTicket(category, f"A query from {subject} about {category.value}", priority,
                    conversation_id=conversation)
    principal = Principal("widget", DEMO_WIDGET_ISSUER, subject)
    return raise_ticket(db, principal, new, POLICY, now=at).summary.reference


def outbox(db: Database) -> list[tuple[str | None, NotificationState]]:
    with db.unit_of_work() as session:
        return [(n.conversation_id, n.state) for n in
                session.scalars(select(TicketNotification).order_by(TicketNotification.id))]


def test_filters(demo_db: Database) -> None:
    hr = raise_for(demo_db, "alice.hughes", ServiceLine.HR, Priority.NORMAL)
    pay = raise_for(demo_db, "ben.okafor", ServiceLine.PAYROLL, Priority.URGENT)
    fin = raise_for(demo_db, "alice.hughes", ServiceLine.FINANCE, Priority.LOW)
    change_status(demo_db, AGENT, fin, TicketStatus.RESOLVED, POLICY)
    assign(demo_db, AGENT, hr, "sam.agent")

    def refs(where: TicketFilter) -> list[str]:
        return [t.reference for t in list_tickets(demo_db, AGENT, where)]

    assert refs(TicketFilter()) == [pay, hr, fin]  # most urgent resolution target first
    assert refs(TicketFilter(statuses=frozenset({TicketStatus.NEW}))) == [pay, hr]
    assert refs(TicketFilter(categories=frozenset({ServiceLine.HR}))) == [hr]
    assert refs(TicketFilter(priorities=frozenset({Priority.URGENT}))) == [pay]
    assert refs(TicketFilter(assignee="sam.agent")) == [hr]
    assert refs(TicketFilter(assignee="")) == [pay, fin]
    assert refs(TicketFilter(requester_number="E1002")) == [pay]
    assert refs(TicketFilter(reference=hr.lower())) == [hr]
    assert refs(TicketFilter(breached=True)) == []


def test_an_agent_sees_everything_and_the_read_is_audited(demo_db: Database) -> None:
    reference = raise_for(demo_db, "alice.hughes", ServiceLine.HR, Priority.NORMAL)
    add_comment(demo_db, AGENT, reference, "Internal: check the timesheets", Visibility.INTERNAL,
                POLICY)
    change_status(demo_db, AGENT, reference, TicketStatus.OPEN, POLICY)
    detail = get_ticket(demo_db, AGENT, reference)
    assert [c.body for c in detail.comments] == ["Internal: check the timesheets"]
    assert [(h.kind, h.to_status) for h in detail.history] == [
        ("created", TicketStatus.NEW), ("commented", None), ("status_changed", TicketStatus.OPEN)]
    assert detail.conversation_id == "conv-1"
    with demo_db.unit_of_work() as session:
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (last.channel, last.actor_principal, last.action) == (
            "console", "console:helpdesk:sam.agent", "read")
    with pytest.raises(TicketNotFound):
        get_ticket(demo_db, AGENT, "HR-999999")


def test_status_changes_and_public_comments_queue_one_notification_each(demo_db: Database) -> None:
    reference = raise_for(demo_db, "alice.hughes", ServiceLine.HR, Priority.NORMAL)
    change_status(demo_db, AGENT, reference, TicketStatus.OPEN, POLICY)
    add_comment(demo_db, AGENT, reference, "We've asked your manager", Visibility.PUBLIC, POLICY)
    add_comment(demo_db, AGENT, reference, "Manager is on leave", Visibility.INTERNAL, POLICY)
    assign(demo_db, AGENT, reference, "sam.agent")
    assert outbox(demo_db) == [("conv-1", NotificationState.PENDING)] * 2


def test_a_refused_move_changes_nothing_and_queues_nothing(demo_db: Database) -> None:
    reference = raise_for(demo_db, "alice.hughes", ServiceLine.HR, Priority.NORMAL)
    change_status(demo_db, AGENT, reference, TicketStatus.CLOSED, POLICY)
    with pytest.raises(InvalidTransition):
        change_status(demo_db, AGENT, reference, TicketStatus.RESOLVED, POLICY)
    assert len(outbox(demo_db)) == 1
    assert get_ticket(demo_db, AGENT, reference).summary.status is TicketStatus.CLOSED


def test_a_ticket_without_a_conversation_is_recorded_as_skipped(demo_db: Database) -> None:
    reference = raise_for(demo_db, "alice.hughes", ServiceLine.HR, Priority.NORMAL,
                          conversation=None)
    change_status(demo_db, AGENT, reference, TicketStatus.OPEN, POLICY)
    assert outbox(demo_db) == [(None, NotificationState.SKIPPED)]


def test_first_response_and_breach_flags(demo_db: Database) -> None:
    monday_9 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
    late = raise_for(demo_db, "alice.hughes", ServiceLine.PAYROLL, Priority.URGENT, at=monday_9)
    answered = raise_for(demo_db, "ben.okafor", ServiceLine.PAYROLL, Priority.URGENT, at=monday_9)
    add_comment(demo_db, AGENT, answered, "On it", Visibility.PUBLIC, POLICY,
                now=monday_9 + dt.timedelta(minutes=30))
    assert flag_breaches(demo_db, POLICY, now=monday_9 + dt.timedelta(minutes=59)) == 0
    assert flag_breaches(demo_db, POLICY, now=monday_9 + dt.timedelta(hours=1, minutes=1)) == 1
    flagged = {t.reference: (t.response_breached, t.resolution_breached)
               for t in list_tickets(demo_db, AGENT, TicketFilter(breached=True))}
    assert flagged == {late: (True, False)}
    # 17:01: both urgent tickets are past their 8-hour resolution target
    assert flag_breaches(demo_db, POLICY, now=monday_9 + dt.timedelta(hours=8, minutes=1)) == 2
    assert flag_breaches(demo_db, POLICY, now=monday_9 + dt.timedelta(hours=9)) == 0


def test_demo_tickets_load_once_with_counter_numbers(demo_db: Database) -> None:
    assert seed_tickets(demo_db, POLICY, TODAY) is True
    assert seed_tickets(demo_db, POLICY, TODAY) is False
    tickets = list_tickets(demo_db, AGENT)
    assert sorted(t.reference for t in tickets) == [
        "ACC-000001", "FIN-000001", "HR-000001", "PAY-000001", "PAY-000002"]
    assert len(tickets) == len(DEMO_TICKETS)
    statuses = {t.reference: t.status for t in tickets}
    assert statuses["FIN-000001"] is TicketStatus.AWAITING_CUSTOMER
    assert statuses["ACC-000001"] is TicketStatus.CLOSED
    # the next real ticket continues the demo's numbering
    assert raise_for(demo_db, "ben.okafor", ServiceLine.PAYROLL, Priority.HIGH) == "PAY-000003"
