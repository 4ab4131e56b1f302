"""Ticket actions against real rasa-sdk Trackers and a migrated demo database.

Identity is the connector-written principal only; a reference names a ticket, and someone
else's ticket is refused (and audited) in the same words as one that does not exist.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions import tickets as ticket_actions
from actions.tickets import (
    ActionTicketAddComment,
    ActionTicketCancel,
    ActionTicketClose,
    ActionTicketCreate,
    ActionTicketList,
    ActionTicketNotify,
    ActionTicketReopen,
    ActionTicketStatus,
    ValidateTicketCommentForm,
    ValidateTicketForm,
)
from bot.config import Settings
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import AuditEvent, AuditOutcome
from bot.tickets.agent import AgentRef, add_comment, change_status
from bot.tickets.categories import PRIORITY_TITLES, SERVICE_LINES
from bot.tickets.models import Priority, ServiceLine, Ticket, TicketStatus, Visibility
from bot.tickets.requester import NewTicket, close_my_ticket, raise_ticket
from bot.tickets.sla import policy_from_settings

from .conftest import make_tracker, texts, widget_metadata

ROOT = Path(__file__).resolve().parents[2]
POLICY = policy_from_settings(Settings())
ALICE = widget_metadata("alice.hughes")
BEN = widget_metadata("ben.okafor")
FORM = {"ticket_category": "payroll", "ticket_description": "My October overtime is missing",
        "ticket_priority": "high", "ticket_confirmed": True}


@pytest.fixture(autouse=True)
def pinned_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ticket_actions, "sla_policy", lambda: POLICY)


def tracker(text: str = "yes", intent: str = "affirm", metadata: dict | None = None,
            slots: dict | None = None, entities: list | None = None,
            sender_id: str = "widget-alice", message_id: str | None = "m-1") -> Any:
    t = make_tracker(text=text, intent=intent, metadata=ALICE if metadata is None else metadata,
                     slots=slots, entities=entities, sender_id=sender_id)
    if message_id:
        t.latest_message["message_id"] = message_id
    return t


async def run(action: Any, t: Any) -> tuple[list[str], list[dict], list[dict]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    return texts(dispatcher), events, dispatcher.messages


def raise_for(db: Database, subject: str, text: str = "A question about my contract hours",
              category: ServiceLine = ServiceLine.HR) -> str:
    principal = Principal("widget", DEMO_WIDGET_ISSUER, subject)
    new = NewTicket(category, text, conversation_id=f"widget-{subject}")
    return raise_ticket(db, principal, new, POLICY).summary.reference


def ticket_count(db: Database) -> int:
    with db.unit_of_work() as session:
        return session.scalar(select(func.count()).select_from(Ticket))


def last_audit(db: Database) -> AuditEvent:
    with db.unit_of_work() as session:
        return session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()


# ---------------------------------------------------------------- raising


async def test_a_confirmed_form_raises_the_ticket_and_gives_the_reference(
    demo_db: Database,
) -> None:
    [answer], events, _ = await run(ActionTicketCreate(), tracker(slots=FORM))
    assert answer.startswith("Done. Your query is logged as PAY-000001. We aim to reply by ")
    assert {e["name"]: e["value"] for e in events} == {**{s: None for s in FORM},
                                                        "ticket_raised": "PAY-000001"}
    with demo_db.unit_of_work() as session:
        ticket = session.scalar(select(Ticket))
        assert (ticket.conversation_id, ticket.channel, ticket.description) == (
            "widget-alice", "widget", "My October overtime is missing")


async def test_a_retried_turn_returns_the_same_ticket(demo_db: Database) -> None:
    first, _, _ = await run(ActionTicketCreate(), tracker(slots=FORM))
    again, _, _ = await run(ActionTicketCreate(), tracker(slots=FORM))
    assert first == again and ticket_count(demo_db) == 1
    other_turn, _, _ = await run(ActionTicketCreate(), tracker(slots=FORM, message_id="m-2"))
    assert "PAY-000002" in other_turn[0] and ticket_count(demo_db) == 2


async def test_without_a_message_id_the_turn_is_the_user_event_timestamp(demo_db: Database) -> None:
    t = tracker(slots=FORM, message_id=None)
    t.events[0]["timestamp"] = 1795680000.5
    await run(ActionTicketCreate(), t)
    await run(ActionTicketCreate(), t)
    assert ticket_count(demo_db) == 1


async def test_a_declined_form_raises_nothing(demo_db: Database) -> None:
    declined = {**FORM, "ticket_confirmed": False}
    answers, events, _ = await run(ActionTicketCreate(), tracker(intent="deny", slots=declined))
    assert answers == ["utter_ticket_not_raised"] and ticket_count(demo_db) == 0
    assert all(e["value"] is None for e in events)


@pytest.mark.parametrize("metadata", [{}, widget_metadata("mallory")])
async def test_no_ticket_without_a_known_verified_caller(demo_db: Database, metadata: dict) -> None:
    answers, _, _ = await run(ActionTicketCreate(), tracker(slots=FORM, metadata=metadata))
    assert answers == ["utter_not_recognised"] and ticket_count(demo_db) == 0


async def test_cancel_clears_every_ticket_slot(demo_db: Database) -> None:
    answers, events, _ = await run(ActionTicketCancel(), tracker(slots=FORM))
    assert answers == ["utter_ticket_cancelled"]
    assert {e["name"] for e in events} >= set(FORM) | {"ticket_reference", "ticket_comment"}


# ---------------------------------------------------------------- the form's questions


def validate(method: str, value: Any, slots: dict | None = None) -> tuple[dict, list[str]]:
    dispatcher = CollectingDispatcher()
    result = getattr(ValidateTicketForm(), method)(value, dispatcher, tracker(slots=slots), {})
    return result, texts(dispatcher)


@pytest.mark.parametrize(("value", "expected"), [
    ("Payroll", "payroll"), ("it's about my pension", "pensions"), ("System access", "access"),
    ("no idea", None)])
def test_category_answers(value: str, expected: str | None) -> None:
    result, said = validate("validate_ticket_category", value)
    assert result == {"ticket_category": expected}
    assert said == ([] if expected else ["utter_ticket_category_unclear"])


@pytest.mark.parametrize(("value", "category", "expected"), [
    ("suggested", "payroll", "high"), ("suggested", "hr", "normal"),
    ("Low", "payroll", "low"), ("make it urgent", "hr", "urgent"), ("purple", "hr", None)])
def test_priority_answers(value: str, category: str, expected: str | None) -> None:
    result, _ = validate("validate_ticket_priority", value, {"ticket_category": category})
    assert result == {"ticket_priority": expected}


def test_a_description_needs_a_sentence() -> None:
    assert validate("validate_ticket_description", "pay")[0] == {"ticket_description": None}
    assert validate("validate_ticket_description", " My pay was short in October ")[0] == {
        "ticket_description": "My pay was short in October"}


async def test_the_opening_message_can_name_the_team() -> None:
    form = ValidateTicketForm()
    opening = tracker(text="I need to raise a query about my pension", intent="ticket_create",
                      slots={"requested_slot": None})
    assert await form.extract_ticket_category(CollectingDispatcher(), opening, {}) == {
        "ticket_category": "pensions"}
    vague = tracker(text="raise a ticket", intent="ticket_create", slots={"requested_slot": None})
    assert await form.extract_ticket_category(CollectingDispatcher(), vague, {}) == {}


def priority_question(category: str | None) -> dict:
    """The variation of utter_ask_ticket_priority the form shows for a team (None: no team)."""
    domain = yaml.safe_load((ROOT / "domain" / "tickets.yml").read_text())
    for variation in domain["responses"]["utter_ask_ticket_priority"]:
        conditions = variation.get("condition") or []
        if [(c["type"], c["name"], c["value"]) for c in conditions] == (
                [("slot", "ticket_category", category)] if category else []):
            return variation
    raise AssertionError(f"no priority question for {category}")


@pytest.mark.parametrize("category", [*ServiceLine, None])
def test_the_priority_question_suggests_the_team_s_usual_priority(
        category: ServiceLine | None) -> None:
    suggested = SERVICE_LINES[category].suggested_priority if category else Priority.NORMAL
    question = priority_question(category.value if category else None)
    word = PRIORITY_TITLES[suggested].lower()
    assert question["text"].startswith(f"I'd suggest {word} priority")
    assert question["text"].endswith("Is that right, or would you like another priority?")
    assert question["buttons"][0] == {"title": f"Yes, {word}", "payload": "/affirm"}
    others = [PRIORITY_TITLES[p] for p in (Priority.URGENT, Priority.HIGH, Priority.NORMAL,
                                           Priority.LOW) if p is not suggested]
    assert question["buttons"][1:] == [{"title": t, "payload": t} for t in others]


def test_the_suggestion_says_why() -> None:
    assert priority_question("access")["text"] == (
        "I'd suggest high priority because being locked out stops you working. "
        "Is that right, or would you like another priority?")


@pytest.mark.parametrize("answer", ["suggested", "High"])
def test_the_query_is_read_back_once_the_priority_is_known(answer: str) -> None:
    result, said = validate("validate_ticket_priority", answer, FORM)
    assert result == {"ticket_priority": "high"}
    assert said == ["I'll raise a high priority query with Payroll:\n"
                    "\"My October overtime is missing\""]


def test_the_read_back_quotes_any_text_as_typed() -> None:
    awkward = {**FORM, "ticket_description": "Error 0[x] {ticket_priority} on my {{payslip}}"}
    _, said = validate("validate_ticket_priority", "urgent", awkward)
    assert said == ["I'll raise an urgent priority query with Payroll:\n"
                    "\"Error 0[x] {ticket_priority} on my {{payslip}}\""]


def test_an_unclear_priority_is_asked_again_without_a_read_back() -> None:
    result, said = validate("validate_ticket_priority", "purple", FORM)
    assert result == {"ticket_priority": None} and said == ["utter_ticket_priority_unclear"]


# ---------------------------------------------------------------- status and list


async def test_status_of_my_named_ticket(demo_db: Database) -> None:
    reference = raise_for(demo_db, "alice.hughes")
    entity = [{"entity": "ticket_reference", "value": reference.lower()}]
    [answer], _, _ = await run(ActionTicketStatus(),
                               tracker(text=f"any news on {reference}", intent="ticket_status",
                                       entities=entity))
    assert answer.startswith(f"{reference} (HR, normal priority), raised ")
    assert "Status: received and waiting to be picked up. We aim to reply by " in answer


async def test_status_finds_a_reference_typed_without_an_entity(demo_db: Database) -> None:
    raise_for(demo_db, "alice.hughes")
    [answer], _, _ = await run(ActionTicketStatus(),
                               tracker(text="what's happening with hr 1", intent="ticket_status"))
    assert answer.startswith("HR-000001 (HR, normal priority)")


async def test_asking_for_another_persons_ticket_is_refused_and_audited(demo_db: Database) -> None:
    bens = raise_for(demo_db, "ben.okafor", "Ben's private question about his tax code",
                     ServiceLine.PAYROLL)
    answers, _, _ = await run(ActionTicketStatus(),
                              tracker(text=f"status of {bens}", intent="ticket_status",
                                      entities=[{"entity": "ticket_reference", "value": bens}]))
    assert answers == ["utter_ticket_not_found"]
    refusal = last_audit(demo_db)
    assert (refusal.outcome, refusal.reason) == (AuditOutcome.REFUSED, "not the requester")
    # the same words as a reference that does not exist: nothing to probe
    nothing, _, _ = await run(ActionTicketStatus(),
                              tracker(text="status of PAY-999999", intent="ticket_status"))
    assert nothing == answers


async def test_slots_and_sender_ids_do_not_change_whose_tickets(demo_db: Database) -> None:
    raise_for(demo_db, "ben.okafor")
    answers, _, _ = await run(ActionTicketList(), tracker(
        text="show my cases", intent="ticket_list", sender_id="widget-ben.okafor",
        slots={"ticket_reference": "HR-000001", "employee": "E1002"}))
    assert answers == ["utter_no_open_tickets"]  # Alice has none; Ben's stays Ben's


async def test_status_without_a_reference_is_my_latest(demo_db: Database) -> None:
    any_news = tracker(text="any news", intent="ticket_status")
    answers, _, _ = await run(ActionTicketStatus(), any_news)
    assert answers == ["utter_no_tickets"]
    raise_for(demo_db, "alice.hughes")
    later = raise_for(demo_db, "alice.hughes", "My expenses for Bristol were rejected",
                      ServiceLine.FINANCE)
    change_status(demo_db, AgentRef("sam"), later, TicketStatus.AWAITING_CUSTOMER, POLICY)
    sam = AgentRef("sam")
    add_comment(demo_db, sam, later, "Please send the receipt", Visibility.PUBLIC, POLICY)
    add_comment(demo_db, sam, later, "Internal: looks fine", Visibility.INTERNAL, POLICY)
    [answer], _, _ = await run(ActionTicketStatus(), any_news)
    assert answer.startswith(f"{later} (Finance, normal priority)")
    assert "Status: waiting for a reply from you." in answer
    assert "Latest from the helpdesk" in answer and "Please send the receipt" in answer
    assert "Internal" not in answer
    assert f"To reply, say \"add a note to {later}\"." in answer


async def test_the_list_of_my_open_queries(demo_db: Database) -> None:
    first = raise_for(demo_db, "alice.hughes")
    second = raise_for(demo_db, "alice.hughes", "Overtime missing from my payslip",
                       ServiceLine.PAYROLL)
    raise_for(demo_db, "ben.okafor")
    [answer], _, _ = await run(ActionTicketList(), tracker(text="my cases", intent="ticket_list"))
    lines = answer.split("\n")
    assert lines[0] == "You have 2 open queries:"
    assert lines[1].startswith(f"- {second} (Payroll): Overtime missing from my payslip - received")
    assert lines[2].startswith(f"- {first} (HR): ")


# ---------------------------------------------------------------- adding a note


async def extract_reference(t: Any) -> dict:
    return await ValidateTicketCommentForm().extract_ticket_reference(CollectingDispatcher(), t, {})


async def test_the_note_goes_to_the_named_or_the_only_open_case(demo_db: Database) -> None:
    opening = tracker(text="add a note to my case", intent="ticket_update",
                      slots={"requested_slot": None})
    assert await extract_reference(opening) == {"ticket_nothing_open": True}
    only = raise_for(demo_db, "alice.hughes")
    assert await extract_reference(opening) == {"ticket_reference": only}
    raise_for(demo_db, "alice.hughes", "Another question about my pension", ServiceLine.PENSIONS)
    assert await extract_reference(opening) == {}  # two open: the form asks which
    named = tracker(text=f"add a note to {only.lower()}", intent="ticket_update",
                    slots={"requested_slot": None})
    assert await extract_reference(named) == {"ticket_reference": only}


async def test_with_nothing_open_the_form_asks_nothing() -> None:
    form = ValidateTicketCommentForm()
    slots = await form.required_slots(["ticket_reference", "ticket_comment"],
                                      CollectingDispatcher(),
                                      tracker(slots={"ticket_nothing_open": True}), {})
    assert slots == []


async def test_adding_my_note(demo_db: Database) -> None:
    reference = raise_for(demo_db, "alice.hughes")
    [answer], events, _ = await run(ActionTicketAddComment(), tracker(
        text="I've sent the signed form", slots={"ticket_reference": reference,
                                                  "ticket_comment": "I've sent the signed form"}))
    assert answer == f"I've added your note to {reference}. The helpdesk can see it now."
    assert all(e["value"] is None for e in events)


async def test_a_note_on_someone_elses_case_is_refused(demo_db: Database) -> None:
    bens = raise_for(demo_db, "ben.okafor")
    answers, _, _ = await run(ActionTicketAddComment(), tracker(
        slots={"ticket_reference": bens, "ticket_comment": "sneaky note"}))
    assert answers == ["utter_ticket_not_found"]
    assert last_audit(demo_db).outcome is AuditOutcome.REFUSED


# ---------------------------------------------------------------- closing and reopening


async def test_close_the_only_open_case(demo_db: Database) -> None:
    reference = raise_for(demo_db, "alice.hughes")
    [answer], _, _ = await run(ActionTicketClose(), tracker(text="close my query, it's sorted",
                                                            intent="ticket_close"))
    assert answer.startswith(f"I've closed {reference} (A question about my contract hours).")
    again, _, _ = await run(ActionTicketClose(), tracker(text=f"close {reference}",
                                                         intent="ticket_close"))
    assert again == ["utter_ticket_already_closed"]


async def test_with_several_open_cases_close_asks_which(demo_db: Database) -> None:
    first = raise_for(demo_db, "alice.hughes")
    second = raise_for(demo_db, "alice.hughes", "My pension statement is wrong",
                       ServiceLine.PENSIONS)
    _, _, [message] = await run(ActionTicketClose(), tracker(text="close my ticket",
                                                             intent="ticket_close"))
    assert [b["payload"] for b in message["buttons"]] == [
        f'/ticket_close{{"ticket_reference":"{second}"}}',
        f'/ticket_close{{"ticket_reference":"{first}"}}']


async def test_closing_someone_elses_case_is_refused(demo_db: Database) -> None:
    bens = raise_for(demo_db, "ben.okafor")
    answers, _, _ = await run(ActionTicketClose(), tracker(text=f"close {bens}",
                                                           intent="ticket_close"))
    assert answers == ["utter_ticket_not_found"]


async def test_reopen_my_recently_closed_case(demo_db: Database) -> None:
    answers, _, _ = await run(ActionTicketReopen(), tracker(text="reopen my case",
                                                            intent="ticket_reopen"))
    assert answers == ["utter_nothing_to_reopen"]
    reference = raise_for(demo_db, "alice.hughes")
    close_my_ticket(demo_db, Principal("widget", DEMO_WIDGET_ISSUER, "alice.hughes"), reference,
                    POLICY)
    [answer], _, _ = await run(ActionTicketReopen(), tracker(text="reopen my case",
                                                             intent="ticket_reopen"))
    assert answer.startswith(f"I've reopened {reference}. It's back with the HR team")
    still_open, _, _ = await run(ActionTicketReopen(), tracker(text=f"reopen {reference}",
                                                               intent="ticket_reopen"))
    assert still_open == ["utter_ticket_not_reopenable"]


# ---------------------------------------------------------------- proactive notices


async def test_the_notify_action_says_each_change_once_in_its_conversation(
    demo_db: Database,
) -> None:
    reference = raise_for(demo_db, "alice.hughes")
    change_status(demo_db, AgentRef("sam"), reference, TicketStatus.OPEN, POLICY)
    elsewhere, _, _ = await run(ActionTicketNotify(), tracker(sender_id="widget-ben.okafor",
                                                              metadata={}))
    assert elsewhere == []
    [notice], _, _ = await run(ActionTicketNotify(), tracker(sender_id="widget-alice.hughes",
                                                             metadata={}))
    assert notice.startswith(f"Update on your case {reference}") and "being worked on" in notice
    again, _, _ = await run(ActionTicketNotify(), tracker(sender_id="widget-alice.hughes"))
    assert again == []


async def test_a_failure_keeps_the_description_out_of_the_log(
    demo_db: Database, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from actions import services

    services.use_database(Database("sqlite:////nonexistent/folder/helpdesk.db"))
    slots = {**FORM, "ticket_description": "My NI number QQ123456C is wrong on my payslip"}
    with caplog.at_level(logging.DEBUG):
        answers, _, _ = await run(ActionTicketCreate(), tracker(slots=slots))
    assert answers == ["utter_service_error"]
    assert "action.failed action=action_ticket_create error=OperationalError" in caplog.text
    assert "QQ123456C" not in caplog.text and "alice" not in caplog.text
