"""What the console's ticket page needs from the service: text search, pages, priority changes,
comment limits, and history that says which comments were internal. SQLite and PostgreSQL.
"""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import AuditEvent
from bot.tickets.agent import (
    MAX_COMMENT,
    AgentRef,
    TicketFilter,
    add_comment,
    assign,
    change_status,
    get_ticket,
    list_tickets,
    set_priority,
    ticket_page,
)
from bot.tickets.errors import InvalidTicket
from bot.tickets.models import (
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
MONDAY_9 = dt.datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # GMT: UK time is UTC in November


def raise_for(db: Database, description: str, category: ServiceLine = ServiceLine.HR,
              priority: Priority = Priority.NORMAL, at: dt.datetime | None = None,
              subject: str = "alice.hughes") -> str:
    principal = Principal("widget", DEMO_WIDGET_ISSUER, subject)
    new = NewTicket(category, description, priority, conversation_id="conv-1")
    return raise_ticket(db, principal, new, POLICY, now=at).summary.reference


def refs(db: Database, where: TicketFilter) -> list[str]:
    return [t.reference for t in list_tickets(db, AGENT, where)]


def test_text_search_finds_references_in_any_form_and_subject_fragments(
        demo_db: Database) -> None:
    flexi = raise_for(demo_db, "My Flexi balance is wrong after leave in October.")
    other = raise_for(demo_db, "Overtime missing from 100% of my payslips_for_march.",
                      ServiceLine.PAYROLL)
    number = int(flexi.split("-")[1])
    assert refs(demo_db, TicketFilter(text="flexi")) == [flexi]  # any case
    assert refs(demo_db, TicketFilter(text=f"hr {number}")) == [flexi]  # "hr 1" → HR-000001
    assert refs(demo_db, TicketFilter(text=flexi.lower())) == [flexi]
    assert refs(demo_db, TicketFilter(text="PAY-")) == [other]  # part of a reference
    # LIKE wildcards are matched literally, not as wildcards
    assert refs(demo_db, TicketFilter(text="100%")) == [other]
    assert refs(demo_db, TicketFilter(text="s_f")) == [other]
    assert refs(demo_db, TicketFilter(text="%")) == [other]
    assert refs(demo_db, TicketFilter(text="nothing like this")) == []


def test_a_page_says_whether_more_follow_and_who_holds_tickets(demo_db: Database) -> None:
    made = [raise_for(demo_db, f"Query number {i} about my contract hours.") for i in range(5)]
    assign(demo_db, AGENT, made[0], "pat.pay")
    assign(demo_db, AGENT, made[1], "sam.agent")
    first = ticket_page(demo_db, AGENT, TicketFilter(), limit=3)
    rest = ticket_page(demo_db, AGENT, TicketFilter(), limit=3, offset=3)
    assert (len(first.tickets), first.has_more) == (3, True)
    assert (len(rest.tickets), rest.has_more) == (2, False)
    assert {t.reference for t in first.tickets + rest.tickets} == set(made)
    assert first.assignees == ("pat.pay", "sam.agent")
    with demo_db.unit_of_work() as session:
        audited = session.scalars(select(AuditEvent.record_type).where(
            AuditEvent.actor_principal == "console:helpdesk:sam.agent")).all()
    assert audited.count("ticket_list") == 2


def test_priority_moves_the_due_times_by_the_difference_in_targets(demo_db: Database) -> None:
    reference = raise_for(demo_db, "My contract hours are wrong on the system.", at=MONDAY_9)
    before = get_ticket(demo_db, AGENT, reference).summary
    assert before.response_due_at == MONDAY_9.replace(hour=17)  # normal: 8 h
    assert before.resolution_due_at == dt.datetime(2026, 11, 27, 17, tzinfo=UTC)  # 40 h
    after = set_priority(demo_db, AGENT, reference, Priority.URGENT, POLICY,
                         now=MONDAY_9 + dt.timedelta(minutes=30))
    assert after.priority is Priority.URGENT
    assert after.response_due_at == MONDAY_9.replace(hour=10)  # urgent: 1 h
    assert after.resolution_due_at == MONDAY_9.replace(hour=17)  # urgent: 8 h
    assert not after.breached
    detail = get_ticket(demo_db, AGENT, reference)
    assert [(c.visibility, c.body) for c in detail.comments] == [
        (Visibility.INTERNAL, "Priority changed from Normal to Urgent.")]
    assert detail.history[-1].kind == "commented"
    assert detail.history[-1].visibility is Visibility.INTERNAL
    with demo_db.unit_of_work() as session:  # internal: the employee is not told
        assert session.scalars(select(TicketNotification)).all() == []


def test_priority_keeps_the_time_spent_waiting_for_the_employee(demo_db: Database) -> None:
    reference = raise_for(demo_db, "My contract hours are wrong on the system.", at=MONDAY_9)
    change_status(demo_db, AGENT, reference, TicketStatus.AWAITING_CUSTOMER, POLICY,
                  now=MONDAY_9.replace(hour=11))
    resumed = change_status(demo_db, AGENT, reference, TicketStatus.OPEN, POLICY,
                            now=MONDAY_9.replace(hour=11) + dt.timedelta(days=1))
    # 8 working hours waited: Friday 17:00 becomes the next Monday 17:00
    assert resumed.resolution_due_at == dt.datetime(2026, 11, 30, 17, tzinfo=UTC)
    urgent = set_priority(demo_db, AGENT, reference, Priority.URGENT, POLICY,
                          now=dt.datetime(2026, 11, 24, 12, tzinfo=UTC))
    # urgent's 8 h plus the 8 h waited, from Monday 09:00: Tuesday 17:00
    assert urgent.resolution_due_at == dt.datetime(2026, 11, 24, 17, tzinfo=UTC)
    assert urgent.response_due_at == resumed.response_due_at  # already responded: kept
    assert not urgent.breached


def test_a_priority_that_puts_a_due_time_in_the_past_flags_the_breach(
        demo_db: Database) -> None:
    reference = raise_for(demo_db, "I cannot see my contract on the portal.",
                          priority=Priority.LOW, at=MONDAY_9)
    urgent = set_priority(demo_db, AGENT, reference, Priority.URGENT, POLICY,
                          now=MONDAY_9.replace(hour=11))
    assert (urgent.response_breached, urgent.resolution_breached) == (True, False)
    # and lowering it again does not undo a breach that happened
    low = set_priority(demo_db, AGENT, reference, Priority.LOW, POLICY,
                       now=MONDAY_9.replace(hour=11, minute=5))
    assert low.response_breached and low.response_due_at == dt.datetime(2026, 11, 24, 17,
                                                                         tzinfo=UTC)


def test_same_priority_changes_nothing_and_finished_tickets_keep_theirs(
        demo_db: Database) -> None:
    reference = raise_for(demo_db, "My contract hours are wrong on the system.")
    set_priority(demo_db, AGENT, reference, Priority.NORMAL, POLICY)
    assert get_ticket(demo_db, AGENT, reference).comments == ()
    change_status(demo_db, AGENT, reference, TicketStatus.RESOLVED, POLICY)
    with pytest.raises(InvalidTicket):
        set_priority(demo_db, AGENT, reference, Priority.URGENT, POLICY)
    assert get_ticket(demo_db, AGENT, reference).summary.priority is Priority.NORMAL


def test_comments_are_limited_in_length(demo_db: Database) -> None:
    reference = raise_for(demo_db, "My contract hours are wrong on the system.")
    add_comment(demo_db, AGENT, reference, "x" * MAX_COMMENT, Visibility.PUBLIC, POLICY)
    with pytest.raises(InvalidTicket):
        add_comment(demo_db, AGENT, reference, "x" * (MAX_COMMENT + 1), Visibility.PUBLIC,
                    POLICY)
    assert len(get_ticket(demo_db, AGENT, reference).comments) == 1


def test_history_says_which_comments_were_public(demo_db: Database) -> None:
    reference = raise_for(demo_db, "My contract hours are wrong on the system.")
    add_comment(demo_db, AGENT, reference, "We are on it", Visibility.PUBLIC, POLICY)
    add_comment(demo_db, AGENT, reference, "Check the HR file", Visibility.INTERNAL, POLICY)
    history = get_ticket(demo_db, AGENT, reference).history
    assert [(h.kind, h.actor_kind.value if h.actor_kind else None, h.visibility)
            for h in history] == [("created", "employee", None),
                                  ("commented", "agent", Visibility.PUBLIC),
                                  ("commented", "agent", Visibility.INTERNAL)]
