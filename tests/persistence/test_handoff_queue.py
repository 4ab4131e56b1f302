"""The handoff queue on SQLite and PostgreSQL: idempotent requests, one claim winner, the
transcript, transfer, hand-back and ticket conversion, audit rows."""
from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.errors import UnknownPrincipal
from bot.handoff import accounts, announcements, places, requester, transcript
from bot.handoff import agent as handoffs
from bot.handoff.conversion import convert_to_ticket, ticket_instead_of_handoff
from bot.handoff.errors import AlreadyClaimed, HandoffClosed, NotAssignee, NotEligible
from bot.handoff.models import EntryKind, Handoff, HandoffEntry, HandoffReason, HandoffStatus
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import AuditEvent, AuditOutcome
from bot.tickets.models import ServiceLine, Ticket
from bot.tickets.sla import policy_from_settings

ALICE = Principal("widget", DEMO_WIDGET_ISSUER, "alice.hughes")
BEN = Principal("widget", DEMO_WIDGET_ISSUER, "ben.okafor")
PASSWORD = "correct horse battery staple"
POLICY = policy_from_settings(Settings())


def new(conversation: str = "widget-alice", skill: ServiceLine = ServiceLine.HR,
        since: float = 1000.0) -> requester.NewHandoff:
    return requester.NewHandoff(conversation, skill, HandoffReason.REQUESTED,
                            "Asked for a person (HR).\nLast messages:\n- leave question", since)


def make_agent(db: Database, username: str, skills: str = "hr",
               departments: str = "") -> accounts.ConsoleAgent:
    with db.unit_of_work() as session:
        accounts.create_agent(session, username, username.title(), PASSWORD, skills,
                              departments)
    return accounts.sign_in(db, username, PASSWORD, allow_demo=False).agent


def count(db: Database, model, *where) -> int:  # noqa: ANN001
    with db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(model).where(*where))


def test_one_hundred_concurrent_requests_make_one_queue_entry(demo_db: Database) -> None:
    barrier = threading.Barrier(100)

    def request(_: int) -> places.QueuePlace:
        barrier.wait(timeout=30)  # all threads start together
        return requester.request_handoff(demo_db, ALICE, new())

    with ThreadPoolExecutor(max_workers=100) as pool:
        places = list(pool.map(request, range(100)))
    assert count(demo_db, Handoff) == 1
    assert len({p.handoff_id for p in places}) == 1
    assert sum(p.created for p in places) == 1
    assert {p.position for p in places} == {1}


def test_twenty_concurrent_claims_have_exactly_one_winner(demo_db: Database) -> None:
    # Claims need no account row: the console hands the service its signed-in agent.
    agents = [accounts.ConsoleAgent(i, f"agent{i:02d}", f"Agent {i}",
                                    frozenset({ServiceLine.HR}), frozenset())
              for i in range(20)]
    place = requester.request_handoff(demo_db, ALICE, new())
    barrier = threading.Barrier(20)

    def claim(agent: accounts.ConsoleAgent) -> str | None:
        barrier.wait(timeout=30)
        try:
            handoffs.claim(demo_db, agent, place.handoff_id)
            return agent.username
        except AlreadyClaimed:
            return None

    with ThreadPoolExecutor(max_workers=20) as pool:
        winners = [w for w in pool.map(claim, agents) if w is not None]
    assert len(winners) == 1
    with demo_db.unit_of_work() as session:
        handoff = session.get_one(Handoff, place.handoff_id)
        assert (handoff.status, handoff.assignee) == (HandoffStatus.ASSIGNED, winners[0])
        joined = session.scalars(select(HandoffEntry).where(
            HandoffEntry.kind == EntryKind.SYSTEM, HandoffEntry.body.like("%joined%"))).all()
    assert len(joined) == 1


def test_positions_follow_request_order_within_a_skill(demo_db: Database) -> None:
    make_agent(demo_db, "sam.hr")
    start = dt.datetime.now(dt.timezone.utc)  # the agent's presence is real time
    first = requester.request_handoff(demo_db, ALICE, new("c-alice"), now=start)
    second = requester.request_handoff(demo_db, BEN, new("c-ben"),
                                   now=start + dt.timedelta(seconds=1))
    payroll = requester.request_handoff(demo_db, BEN, new("c-ben-2", ServiceLine.PAYROLL),
                                    now=start + dt.timedelta(seconds=2))
    assert (first.position, second.position, payroll.position) == (1, 2, 1)
    assert first.wait_minutes is not None and second.wait_minutes > first.wait_minutes
    assert payroll.wait_minutes is None  # nobody online works payroll


def test_an_unknown_principal_cannot_queue(demo_db: Database) -> None:
    with pytest.raises(UnknownPrincipal):
        requester.request_handoff(demo_db, Principal("widget", DEMO_WIDGET_ISSUER, "nobody"), new())
    assert count(demo_db, Handoff) == 0


def test_the_whole_life_of_a_handoff(demo_db: Database) -> None:
    sam = make_agent(demo_db, "sam.hr")
    other = make_agent(demo_db, "olly.hr")
    payroll = make_agent(demo_db, "pat.pay", "payroll")
    place = requester.request_handoff(demo_db, ALICE, new(since=1000.0))

    # Only agents of the skill see it; the transcript copy takes later user messages only.
    assert [i.id for i in handoffs.list_queue(demo_db, sam)] == [place.handoff_id]
    assert handoffs.list_queue(demo_db, payroll) == []
    targets = transcript.feed_targets(demo_db)
    messages = [transcript.FeedMessage("widget-alice", 7, 999.0, "before the request"),
                transcript.FeedMessage("widget-alice", 8, 1001.0, "my pay was short"),
                transcript.FeedMessage("someone-else", 9, 1002.0, "not mine")]
    assert transcript.record_employee_messages(demo_db, targets, messages) == 1
    assert transcript.record_employee_messages(demo_db, targets, messages) == 0  # idempotent

    with pytest.raises(NotEligible):
        handoffs.claim(demo_db, payroll, place.handoff_id)
    handoffs.claim(demo_db, sam, place.handoff_id)
    with pytest.raises(NotAssignee):
        handoffs.add_reply(demo_db, other, place.handoff_id, "hello", "k1")
    reply = handoffs.add_reply(demo_db, sam, place.handoff_id, "Hello Alice, I can help.", "k1")
    again = handoffs.add_reply(demo_db, sam, place.handoff_id, "Hello Alice, I can help.", "k1")
    assert reply.created and not again.created and again.entry_id == reply.entry_id
    handoffs.add_note(demo_db, other, place.handoff_id, "Known payroll issue this month")

    view = handoffs.get_handoff(demo_db, sam, place.handoff_id)
    kinds = [e.kind for e in view.entries]
    assert kinds == [EntryKind.SYSTEM, EntryKind.EMPLOYEE, EntryKind.SYSTEM, EntryKind.AGENT,
                     EntryKind.NOTE]
    assert view.employee.name == "Alice Hughes" and view.employee.employee_number == "E1001"
    assert "Known payroll issue" not in transcript.ticket_description(view)
    assert "my pay was short" in transcript.ticket_description(view)
    # What people write is shown to agents redacted, notes and replies as well as the employee's
    handoffs.add_note(demo_db, other, place.handoff_id, "She gave NI QQ 55 66 77 C, ring 07700 900461")
    noted = handoffs.get_handoff(demo_db, sam, place.handoff_id).entries[-1]
    assert noted.kind is EntryKind.NOTE and "QQ 55 66 77 C" not in noted.body
    assert "[NI number]" in noted.body and "07700 900461" not in noted.body
    with demo_db.unit_of_work() as session:
        stored = session.scalars(select(HandoffEntry).where(
            HandoffEntry.handoff_id == place.handoff_id)).all()
    assert all(e.shared_body is not None for e in stored)  # written with each row

    moved = handoffs.transfer(demo_db, sam, place.handoff_id, ServiceLine.PAYROLL)
    assert moved.place.position == 1 and moved.place.status is HandoffStatus.WAITING
    assert handoffs.list_queue(demo_db, sam) == []
    handoffs.claim(demo_db, payroll, place.handoff_id)
    ended = handoffs.end_handoff(demo_db, payroll, place.handoff_id, HandoffStatus.RESUMED)
    assert ended.conversation_id == "widget-alice"
    with pytest.raises(HandoffClosed):
        handoffs.add_reply(demo_db, payroll, place.handoff_id, "too late", "k2")

    # The conversation can be queued again once the first handoff ended.
    again_place = requester.request_handoff(demo_db, ALICE, new())
    assert again_place.created and again_place.handoff_id != place.handoff_id

    with demo_db.unit_of_work() as session:
        audited = session.execute(select(AuditEvent.actor_principal, AuditEvent.action,
                                         AuditEvent.outcome)
                                  .where(AuditEvent.record_type == "handoff")).all()
    assert ("console:helpdesk:sam.hr", "read", AuditOutcome.ALLOWED) in audited
    assert ("console:helpdesk:pat.pay", "claim", AuditOutcome.REFUSED) in audited
    assert ("console:helpdesk:olly.hr", "reply", AuditOutcome.REFUSED) in audited
    assert (str(ALICE), "create", AuditOutcome.ALLOWED) in audited


def test_conversion_raises_the_employees_ticket_once(demo_db: Database) -> None:
    sam = make_agent(demo_db, "sam.hr")
    place = requester.request_handoff(demo_db, ALICE, new())
    handoffs.claim(demo_db, sam, place.handoff_id)
    converted = convert_to_ticket(demo_db, sam, place.handoff_id, ServiceLine.HR, POLICY)
    assert converted.reference.startswith("HR-")
    with demo_db.unit_of_work() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.reference == converted.reference))
        assert ticket.conversation_id == "widget-alice" and ticket.channel == "widget"
        assert "Asked for a person" in ticket.description
        handoff = session.get_one(Handoff, place.handoff_id)
        assert handoff.status is HandoffStatus.TICKETED
        assert handoff.ticket_reference == converted.reference
    with pytest.raises(HandoffClosed):
        convert_to_ticket(demo_db, sam, place.handoff_id, ServiceLine.HR, POLICY)
    assert count(demo_db, Ticket, Ticket.idempotency_key.is_not(None)) == 1


def test_ticket_instead_of_handoff_is_idempotent_per_turn(demo_db: Database) -> None:
    first = ticket_instead_of_handoff(demo_db, ALICE, "widget-alice", "widget", "turn-1",
                                      ServiceLine.PAYROLL, "Asked for a person (payroll).",
                                      POLICY)
    again = ticket_instead_of_handoff(demo_db, ALICE, "widget-alice", "widget", "turn-1",
                                      ServiceLine.PAYROLL, "Asked for a person (payroll).",
                                      POLICY)
    assert first == again and first.startswith("PAY-")


def test_position_announcements_are_made_once(demo_db: Database) -> None:
    sam = make_agent(demo_db, "sam.hr")
    start = dt.datetime.now(dt.timezone.utc)
    places = [requester.request_handoff(demo_db, p, new(f"c-{i}"),
                                    now=start + dt.timedelta(seconds=i))
              for i, p in enumerate((ALICE, BEN, ALICE, BEN, ALICE))]
    assert announcements.announcements_due(demo_db) == []  # everyone was told at request time
    handoffs.claim(demo_db, sam, places[0].handoff_id)
    due = announcements.announcements_due(demo_db)
    # Moving up into the last three is news; number 4 moving to 3 too, 5 → 4 is not.
    assert [(a.conversation_id, a.position) for a in due] == [("c-1", 1), ("c-2", 2),
                                                              ("c-3", 3)]
    assert announcements.announcements_due(demo_db) == []


def test_sessions_presence_and_sign_in_refusals(demo_db: Database) -> None:
    make_agent(demo_db, "sam.hr")
    with pytest.raises(Exception) as refused:
        accounts.sign_in(demo_db, "sam.hr", "wrong password!!", allow_demo=False)
    assert type(refused.value).__name__ == "SignInFailed"
    signed = accounts.sign_in(demo_db, "sam.hr", PASSWORD, allow_demo=False)
    active = accounts.session_for(demo_db, signed.token)
    assert active is not None and active.agent.username == "sam.hr"
    assert accounts.session_for(demo_db, signed.token + "x") is None
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
    always = Settings(handoff_hours="always")
    now = dt.datetime.now(dt.timezone.utc)
    assert requester.availability(demo_db, ALICE, ServiceLine.HR, always, now).agents_online == 1
    gone = requester.availability(demo_db, ALICE, ServiceLine.HR, always, later)
    assert gone.agents_online == 0 and not gone.someone_can_come
    accounts.sign_out(demo_db, signed.token)
    assert accounts.session_for(demo_db, signed.token) is None
    with demo_db.unit_of_work() as session:
        accounts.create_agent(session, "demo.agent", "Demo", PASSWORD, "hr", demo=True)
    with pytest.raises(Exception):
        accounts.sign_in(demo_db, "demo.agent", PASSWORD, allow_demo=False)
    assert accounts.sign_in(demo_db, "demo.agent", PASSWORD, allow_demo=True).agent


def test_five_failures_from_one_address_lock_that_address_out(demo_db: Database) -> None:
    make_agent(demo_db, "sam.hr")
    for _ in range(5):
        with pytest.raises(Exception):
            accounts.sign_in(demo_db, "sam.hr", "not the password", allow_demo=False)
    with pytest.raises(Exception):  # even the right password, while locked
        accounts.sign_in(demo_db, "sam.hr", PASSWORD, allow_demo=False)
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=16)
    assert accounts.sign_in(demo_db, "sam.hr", PASSWORD, allow_demo=False, now=later).agent


def test_department_routing(demo_db: Database) -> None:
    mpw_only = make_agent(demo_db, "mo.mpw", "hr", "MPW")
    place = requester.request_handoff(demo_db, ALICE, new())  # Alice works in DDS
    assert handoffs.list_queue(demo_db, mpw_only) == []
    with pytest.raises(NotEligible):
        handoffs.claim(demo_db, mpw_only, place.handoff_id)
    assert dataclasses.replace(mpw_only, departments=frozenset()).works(ServiceLine.HR, "DDS")
