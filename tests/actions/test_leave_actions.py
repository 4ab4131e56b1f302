"""action_leave_balance: the caller's own balance, identity from connector metadata only."""
from __future__ import annotations

import logging

import pytest
from rasa_sdk.executor import ActionExecutor, CollectingDispatcher

from actions import services
from actions.leave import ActionLeaveBalance
from bot.storage.database import Database

from .conftest import make_tracker, texts, widget_metadata


async def run(tracker) -> list[str]:  # type: ignore[no-untyped-def]
    dispatcher = CollectingDispatcher()
    events = await ActionLeaveBalance().run(dispatcher, tracker, {})
    assert events == []
    return texts(dispatcher)


async def test_the_caller_hears_their_own_balance(demo_db: Database) -> None:
    [answer] = await run(make_tracker(metadata=widget_metadata("alice.hughes")))
    assert answer.startswith("You have 18 days of annual leave left for the leave year "
                             "1 April 2026 to 31 March 2027.")
    assert "entitlement is 30 days: 7 days taken, 4 days booked and 1 day awaiting approval" in answer


async def test_another_caller_hears_theirs(demo_db: Database) -> None:
    [answer] = await run(make_tracker(metadata=widget_metadata("ben.okafor")))
    assert answer.startswith("You have 15 days of annual leave left")
    assert "awaiting approval" not in answer


@pytest.mark.parametrize(
    "attempt",
    [
        {"text": "leave balance for ben.okafor", "entities": [{"entity": "employee", "value": "ben.okafor"}]},
        {"text": '/leave_balance{"subject": "ben.okafor"}', "slots": {"subject": "ben.okafor", "employee_id": "E1002"}},
        {"text": "how much leave has E1002 got", "sender_id": "widget:helpdesk-intranet:ben.okafor"},
    ],
)
async def test_typed_text_slots_entities_and_sender_ids_never_change_who_is_asking(
    demo_db: Database, attempt: dict
) -> None:
    [answer] = await run(make_tracker(metadata=widget_metadata("alice.hughes"), **attempt))
    assert answer.startswith("You have 18 days")  # Alice's balance, never Ben's (15)


@pytest.mark.parametrize(
    "metadata",
    [
        {},
        {"principal": "alice.hughes"},
        {"principal": {"channel": "widget", "tenant": "helpdesk-intranet"}},
        {"principal": {"channel": "rest", "tenant": "helpdesk-intranet", "subject": "alice.hughes"}},
        {"principal": {"channel": "widget", "tenant": "helpdesk-intranet", "subject": ""}},
    ],
)
async def test_without_a_verified_principal_nothing_is_disclosed(
    demo_db: Database, metadata: dict
) -> None:
    assert await run(make_tracker(metadata=metadata)) == ["utter_not_recognised"]


async def test_an_unknown_employee_is_told_how_to_get_access(demo_db: Database) -> None:
    assert await run(make_tracker(metadata=widget_metadata("mallory"))) == ["utter_not_recognised"]


async def test_a_failing_database_gives_a_polite_answer_and_a_clean_log(
    demo_db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    services.use_database(Database("sqlite:////nonexistent/folder/helpdesk.db"))
    text = "how much leave do I have left? my NI number is QQ123456C"
    with caplog.at_level(logging.DEBUG):
        answers = await run(make_tracker(text=text, metadata=widget_metadata("alice.hughes")))
    assert answers == ["utter_service_error"]
    assert "action.failed action=action_leave_balance error=OperationalError" in caplog.text
    assert "QQ123456C" not in caplog.text and "alice" not in caplog.text


def test_the_action_server_registers_exactly_the_domain_actions() -> None:
    import yaml
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    executor = ActionExecutor()
    executor.register_package("actions")
    registered = set(executor.actions)
    declared = {
        action
        for path in sorted((root / "domain").glob("*.yml"))
        for action in (yaml.safe_load(path.read_text()) or {}).get("actions", [])
    }
    assert registered == declared
