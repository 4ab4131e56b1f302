"""SLA targets, due times per priority, the paused clock and breach flags."""
from __future__ import annotations

import datetime as dt

import pytest
import time_machine

from bot.business_calendar import BusinessCalendar
from bot.config import Settings
from bot.storage.times import utcnow
from bot.tickets.lifecycle import move
from bot.tickets.models import ActorKind, Priority, Ticket, TicketStatus
from bot.tickets.sla import SlaConfigurationError, SlaPolicy, parse_targets, policy_from_settings

UTC = dt.timezone.utc
H = dt.timedelta(hours=1)
POLICY = policy_from_settings(Settings())


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=UTC)


class FakeSession:
    """Collects what `move` adds; the lifecycle needs nothing else from a session here."""

    def __init__(self) -> None:
        self.added: list[object] = []

    def add(self, thing: object) -> None:
        self.added.append(thing)

    def flush(self) -> None:
        pass


def new_ticket(priority: Priority, raised: dt.datetime) -> Ticket:
    due = POLICY.due_times(priority, raised)
    return Ticket(id=1, priority=priority, status=TicketStatus.NEW, created_at=raised,
                  updated_at=raised, response_due_at=due.response,
                  resolution_due_at=due.resolution, response_breached=False,
                  resolution_breached=False, reopen_count=0)


def test_default_targets() -> None:
    targets = parse_targets(Settings().sla_targets)
    assert {p: (t.response / H, t.resolution / H) for p, t in targets.items()} == {
        Priority.URGENT: (1, 8), Priority.HIGH: (4, 16), Priority.NORMAL: (8, 40),
        Priority.LOW: (16, 80)}


@pytest.mark.parametrize("value", [
    "urgent=1/8,high=4/16,normal=8/40",  # low missing
    "urgent=1/8,urgent=1/8,high=4/16,normal=8/40,low=16/80",
    "urgent=8/1,high=4/16,normal=8/40,low=16/80",  # response after resolution
    "urgent=1,high=4/16,normal=8/40,low=16/80",
    "critical=1/8,high=4/16,normal=8/40,low=16/80",
])
def test_malformed_targets_are_refused(value: str) -> None:
    with pytest.raises(SlaConfigurationError):
        parse_targets(value)


@time_machine.travel(dt.datetime(2026, 12, 24, 16, 0, tzinfo=UTC), tick=False)
@pytest.mark.parametrize(("priority", "response", "resolution"), [
    (Priority.URGENT, utc(2026, 12, 24, 17, 0), utc(2026, 12, 29, 16, 0)),
    (Priority.HIGH, utc(2026, 12, 29, 12, 0), utc(2026, 12, 30, 16, 0)),
    (Priority.NORMAL, utc(2026, 12, 29, 16, 0), utc(2027, 1, 5, 16, 0)),
    (Priority.LOW, utc(2026, 12, 30, 16, 0), utc(2027, 1, 12, 16, 0)),
])
def test_due_times_of_a_ticket_raised_on_christmas_eve(
    priority: Priority, response: dt.datetime, resolution: dt.datetime
) -> None:
    due = POLICY.due_times(priority, utcnow())
    assert (due.response, due.resolution) == (response, resolution)


def test_time_waiting_for_the_employee_does_not_count() -> None:
    # Normal ticket raised Mon 23 Nov 09:00: resolution due Fri 27 Nov 17:00 (40 h).
    ticket = new_ticket(Priority.NORMAL, utc(2026, 11, 23, 9, 0))
    assert ticket.resolution_due_at == utc(2026, 11, 27, 17, 0)
    session = FakeSession()
    move(session, ticket, TicketStatus.AWAITING_CUSTOMER, actor_kind=ActorKind.AGENT,
         actor="sam", policy=POLICY, now=utc(2026, 11, 23, 15, 0))
    assert ticket.first_responded_at == utc(2026, 11, 23, 15, 0)
    # The employee answers Thu 26 Nov 11:00: 2 h Mon + 8 h Tue + 8 h Wed + 2 h Thu = 20 h
    move(session, ticket, TicketStatus.OPEN, actor_kind=ActorKind.EMPLOYEE,
         actor="employee:1", policy=POLICY, now=utc(2026, 11, 26, 11, 0))
    # Fri 27 Nov 17:00 + 20 h → Mon 30 (8 h), Tue 1 Dec (8 h), Wed 2 Dec 13:00
    assert ticket.resolution_due_at == utc(2026, 12, 2, 13, 0)
    assert ticket.sla_paused_at is None and not ticket.breached


def test_a_late_first_response_is_flagged_and_stays_flagged() -> None:
    ticket = new_ticket(Priority.URGENT, utc(2026, 11, 23, 9, 0))  # response due 10:00
    assert POLICY.evaluate(ticket, utc(2026, 11, 23, 9, 59)) is False
    assert POLICY.evaluate(ticket, utc(2026, 11, 23, 10, 1)) is True
    assert ticket.response_breached and not ticket.resolution_breached
    move(FakeSession(), ticket, TicketStatus.OPEN, actor_kind=ActorKind.AGENT, actor="sam",
         policy=POLICY, now=utc(2026, 11, 23, 10, 5))
    assert ticket.response_breached  # answering late does not unflag it


def test_a_ticket_answered_in_time_is_not_flagged_later() -> None:
    ticket = new_ticket(Priority.URGENT, utc(2026, 11, 23, 9, 0))
    move(FakeSession(), ticket, TicketStatus.OPEN, actor_kind=ActorKind.AGENT, actor="sam",
         policy=POLICY, now=utc(2026, 11, 23, 9, 30))
    assert POLICY.evaluate(ticket, utc(2026, 11, 23, 12, 0)) is False
    assert POLICY.evaluate(ticket, utc(2026, 11, 23, 17, 1)) is True  # resolution due 17:00
    assert ticket.resolution_breached and not ticket.response_breached


def test_a_paused_ticket_does_not_breach_resolution_while_waiting() -> None:
    ticket = new_ticket(Priority.URGENT, utc(2026, 11, 23, 9, 0))
    move(FakeSession(), ticket, TicketStatus.AWAITING_CUSTOMER, actor_kind=ActorKind.AGENT,
         actor="sam", policy=POLICY, now=utc(2026, 11, 23, 9, 30))
    assert POLICY.evaluate(ticket, utc(2026, 11, 30, 12, 0)) is False


def test_reopen_restarts_the_resolution_clock() -> None:
    ticket = new_ticket(Priority.HIGH, utc(2026, 11, 23, 9, 0))
    session = FakeSession()
    for status, at in ((TicketStatus.OPEN, utc(2026, 11, 23, 10, 0)),
                       (TicketStatus.RESOLVED, utc(2026, 11, 24, 10, 0))):
        move(session, ticket, status, actor_kind=ActorKind.AGENT, actor="sam", policy=POLICY,
             now=at)
    move(session, ticket, TicketStatus.OPEN, actor_kind=ActorKind.EMPLOYEE, actor="employee:1",
         policy=POLICY, now=utc(2026, 11, 26, 16, 0))
    assert ticket.reopen_count == 1 and ticket.resolved_at is None
    # Thu 16:00 + 16 h: 1 h Thu, 8 h Fri, 7 h Mon → Mon 30 Nov 16:00
    assert ticket.resolution_due_at == utc(2026, 11, 30, 16, 0)
    assert [e.to_status for e in session.added] == [
        TicketStatus.OPEN, TicketStatus.RESOLVED, TicketStatus.OPEN]


def test_reopen_deadline_is_ten_working_days() -> None:
    assert POLICY.reopen_deadline(utc(2026, 12, 24, 12, 0)) == utc(2027, 1, 12, 17, 0)


def test_a_calendar_in_another_zone_shifts_due_times() -> None:
    policy = SlaPolicy(BusinessCalendar(timezone="Europe/Dublin", region="northern-ireland"),
                       parse_targets(Settings().sla_targets))
    # 17 Mar is St Patrick's Day in Northern Ireland: Mon 16 Mar 16:00 + 4 h → Wed 12:00
    due = policy.due_times(Priority.HIGH, utc(2026, 3, 16, 16, 0))
    assert due.response == utc(2026, 3, 18, 12, 0)
