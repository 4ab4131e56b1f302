"""Handoff actions with real rasa-sdk Trackers and a migrated SQLite demo database."""
from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import func, select

from actions import handoff as actions
from bot.config import Settings
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.handoff import accounts
from bot.handoff.models import Handoff, HandoffReason, HandoffStatus
from bot.storage.database import Database
from bot.tickets.models import Ticket

from .conftest import widget_metadata

PASSWORD = "correct horse battery staple"
# A Wednesday: 14:00 in London is in hours, 20:00 is not; Christmas Day is a bank holiday.
IN_HOURS = dt.datetime(2026, 11, 25, 14, 0, tzinfo=dt.timezone.utc)
EVENING = dt.datetime(2026, 11, 25, 20, 0, tzinfo=dt.timezone.utc)
CHRISTMAS = dt.datetime(2026, 12, 25, 11, 0, tzinfo=dt.timezone.utc)


def tracker(turns: list[tuple[str, str]], metadata: dict[str, Any] | None = None,
            slots: dict[str, Any] | None = None, sender_id: str = "widget-alice") -> Tracker:
    """A tracker whose user turns are (text, intent); the last one carries the metadata."""
    meta = metadata if metadata is not None else widget_metadata("alice.hughes")
    events = []
    for index, (text, intent) in enumerate(turns):
        parse = {"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": [],
                 "metadata": meta}
        events.append({"event": "user", "text": text, "parse_data": parse, "metadata": meta,
                       "timestamp": 1_700_000_000.0 + index, "input_channel": "widget"})
        events.append({"event": "action", "name": "action_listen"})
    latest = events[-2]["parse_data"]
    return Tracker(sender_id, slots or {}, latest, events, False, None, {}, "action_listen")


def names(events: list[dict[str, Any]]) -> list[str]:
    return [e.get("event") + (":" + str(e.get("name") or "") if e.get("name") else "")
            for e in events]


def slot_value(events: list[dict[str, Any]], name: str) -> Any:
    return next(e["value"] for e in events if e.get("event") == "slot" and e["name"] == name)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    def at(moment: dt.datetime) -> None:
        monkeypatch.setattr(actions, "now", lambda: moment)
    at(IN_HOURS)
    return at


@pytest.fixture
def online_agent(demo_db: Database) -> accounts.SignedIn:
    with demo_db.unit_of_work() as session:
        accounts.create_agent(session, "sam.hr", "Sam Patel", PASSWORD, "hr,payroll")
    return accounts.sign_in(demo_db, "sam.hr", PASSWORD, allow_demo=False)


@pytest.fixture(autouse=True)
def business_hours(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(actions, "settings", lambda: Settings(handoff_hours="business"))


async def run(action, track: Tracker) -> tuple[list[str], list[dict[str, Any]]]:  # noqa: ANN001
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, track, {})
    return [m.get("text") or m.get("response") for m in dispatcher.messages], events


async def test_asking_for_a_person_queues_and_pauses(
        demo_db: Database, online_agent: accounts.SignedIn, clock: Any) -> None:
    texts, events = await run(actions.ActionHandoffRequest(), tracker([
        ("my payslip looks wrong, my email is alice@example.org", "payslip"),
        ("can I talk to someone in payroll", "human_handoff")]))
    assert "pause" in names(events)
    assert "payroll helpdesk team" in texts[0] and "next in line" in texts[0]
    with demo_db.unit_of_work() as session:
        handoff = session.scalar(select(Handoff))
        assert handoff.skill.value == "payroll" and handoff.status is HandoffStatus.WAITING
        assert handoff.conversation_id == "widget-alice"
        assert handoff.reason is HandoffReason.REQUESTED
        assert "alice@example.org" not in handoff.summary and "[email]" in handoff.summary
        assert handoff.feed_since == 1_700_000_001.0  # the message that asked


async def test_asking_again_keeps_one_queue_entry(
        demo_db: Database, online_agent: accounts.SignedIn, clock: Any) -> None:
    turns = [("put me through to HR", "human_handoff")]
    await run(actions.ActionHandoffRequest(), tracker(turns))
    texts, events = await run(actions.ActionHandoffRequest(), tracker(turns))
    assert "already waiting" in texts[0] and "pause" in names(events)
    with demo_db.unit_of_work() as session:
        assert session.scalar(select(func.count(Handoff.id))) == 1


@pytest.mark.parametrize("moment", [EVENING, CHRISTMAS], ids=["evening", "bank holiday"])
async def test_out_of_hours_offers_a_ticket_instead(
        demo_db: Database, online_agent: accounts.SignedIn, clock: Any,
        moment: dt.datetime) -> None:
    clock(moment)
    texts, events = await run(actions.ActionHandoffRequest(),
                              tracker([("speak to an agent", "human_handoff")]))
    assert "Monday to Friday, 09:00 to 17:00" in texts[0] and "raise a ticket" in texts[0]
    assert "pause" not in names(events)
    assert slot_value(events, "handoff_offer") == "ticket"
    with demo_db.unit_of_work() as session:
        assert session.scalar(select(func.count(Handoff.id))) == 0


async def test_nobody_online_offers_a_ticket_and_yes_raises_it(demo_db: Database,
                                                              clock: Any) -> None:
    turns = [("my pension statement is missing", "pension_question"),
             ("I want to talk to a human", "human_handoff")]
    texts, events = await run(actions.ActionHandoffRequest(), tracker(turns))
    assert "Nobody from the helpdesk team is available" in texts[0]
    slots = {"handoff_offer": "ticket", "handoff_skill": slot_value(events, "handoff_skill")}
    assert slots["handoff_skill"] == "pensions"
    texts, events = await run(actions.ActionHandoffAccept(),
                              tracker(turns + [("yes please", "affirm")], slots=slots))
    assert texts[0].startswith("I've raised ticket PEN-")
    with demo_db.unit_of_work() as session:
        ticket = session.scalar(select(Ticket))
        assert ticket.category.value == "pensions"
        assert ticket.conversation_id == "widget-alice"
        assert "pension statement is missing" in ticket.description


async def test_two_failures_offer_a_person_and_yes_queues(
        demo_db: Database, online_agent: accounts.SignedIn, clock: Any) -> None:
    turns = [("blorp the frobnicator", "nlu_fallback"), ("zzz qqq", "nlu_fallback")]
    texts, events = await run(actions.ActionHandoffOffer(), tracker(turns))
    assert "Would you like to talk to someone" in texts[0]
    assert slot_value(events, "handoff_offer") == "person"
    texts, events = await run(actions.ActionHandoffAccept(), tracker(
        turns + [("yes", "affirm")], slots={"handoff_offer": "person"}))
    assert "pause" in names(events)
    with demo_db.unit_of_work() as session:
        assert session.scalar(select(Handoff)).reason is HandoffReason.NOT_UNDERSTOOD


async def test_no_to_an_offer_clears_it(demo_db: Database) -> None:
    texts, events = await run(actions.ActionHandoffDecline(), tracker(
        [("no thanks", "deny")], slots={"handoff_offer": "person"}))
    assert texts == ["OK. Is there anything else I can help with?"]
    assert slot_value(events, "handoff_offer") is None


async def test_yes_without_an_offer_does_nothing(demo_db: Database) -> None:
    texts, events = await run(actions.ActionHandoffAccept(), tracker([("yes", "affirm")]))
    assert texts == ["OK. What can I help you with?"] and events == []


@pytest.mark.parametrize("metadata", [
    {}, {"principal": {"channel": "widget", "tenant": DEMO_WIDGET_ISSUER}},
    {"principal": "alice.hughes"},
], ids=["none", "incomplete", "not a mapping"])
async def test_no_verified_principal_no_handoff(
        demo_db: Database, online_agent: accounts.SignedIn, clock: Any,
        metadata: dict[str, Any]) -> None:
    texts, events = await run(actions.ActionHandoffRequest(), tracker(
        [("get me a human", "human_handoff")], metadata=metadata,
        slots={"handoff_skill": "hr"}))
    assert texts == ["utter_not_recognised"] and events == []
    with demo_db.unit_of_work() as session:
        assert session.scalar(select(func.count(Handoff.id))) == 0


async def test_an_unknown_employee_is_not_queued(
        demo_db: Database, online_agent: accounts.SignedIn, clock: Any) -> None:
    texts, events = await run(actions.ActionHandoffRequest(), tracker(
        [("get me a human", "human_handoff")], metadata=widget_metadata("mallory")))
    assert texts == ["utter_not_recognised"] and "pause" not in names(events)


async def test_a_referring_action_chooses_the_queue(
        demo_db: Database, online_agent: accounts.SignedIn, clock: Any) -> None:
    events = actions.refer_to_person(actions.ServiceLine.PAYROLL)
    slots = {e["name"]: e["value"] for e in events if e["event"] == "slot"}
    assert events[-1] == {"event": "followup", "name": "action_handoff_request",
                          "timestamp": events[-1]["timestamp"]}
    await run(actions.ActionHandoffRequest(), tracker([("hello", "greet")], slots=slots))
    with demo_db.unit_of_work() as session:
        handoff = session.scalar(select(Handoff))
        assert handoff.skill.value == "payroll" and handoff.reason is HandoffReason.REFERRED


def test_always_open_setting() -> None:
    from bot.handoff.routing import helpdesk_open
    assert helpdesk_open(dataclasses.replace(Settings(), handoff_hours="always"), CHRISTMAS)
    assert not helpdesk_open(Settings(), CHRISTMAS)
