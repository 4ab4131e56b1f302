"""The line manager hears of a new request or a sickness report in their own chat, and the
employee hears the decision in theirs; each notice once, and only to its verified recipient."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import records_common, services
from actions.leave import (
    ActionLeaveApprovals,
    ActionLeaveBalance,
    ActionLeaveDecision,
    ActionLeaveRequestStatus,
    ActionRecordsNotify,
    ActionSicknessReport,
)
from actions.leave_forms import ActionLeaveRequestSubmit
from bot.records.notifications import push

from tests.relay_fake import KEYS, FakeRelay

from .records_fixtures import records_db, said, tracker  # noqa: F401

pytestmark = pytest.mark.usefixtures("records_db")
CHLOE_CHAT, ALICE_CHAT, BEN_CHAT = "widget-chloe", "widget-alice", "widget-ben"


@pytest.fixture
def pushes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    sent: list[str] = []

    async def fake_push(conversation_id: str) -> bool:
        sent.append(conversation_id)
        return True

    monkeypatch.setattr(records_common, "push_notice", fake_push)
    return sent


async def run(
    action: Any,
    text: str,
    intent: str,
    subject: str,
    chat: str,
    entities: list[dict[str, Any]] | None = None,
    slots: dict | None = None,
) -> list[dict]:
    dispatcher = CollectingDispatcher()
    await action.run(
        dispatcher, tracker(text, intent, subject, entities, slots, sender_id=chat), {}
    )
    return dispatcher.messages


async def book_for_alice() -> None:
    slots = {
        "leave_dates": "ok:2027-03-03/2027-03-05",
        "leave_start": "2027-03-03",
        "leave_end": "2027-03-05",
        "leave_type": "annual",
        "leave_confirmed": "yes",
    }
    await run(ActionLeaveRequestSubmit(), "yes", "affirm", "alice.hughes", ALICE_CHAT, slots=slots)


async def test_the_manager_is_told_in_their_own_chat_once(pushes: list[str]) -> None:
    await run(ActionLeaveBalance(), "my leave", "leave_balance", "chloe.singh", CHLOE_CHAT)
    await book_for_alice()
    assert pushes == [CHLOE_CHAT]
    [notice] = await run(ActionRecordsNotify(), "", "leave_balance", "chloe.singh", CHLOE_CHAT)
    assert notice["text"] == (
        "New leave request from Alice Hughes: annual leave, Wednesday 3 March 2027 "
        "to Friday 5 March 2027 (3 days)."
    )
    assert [b["title"] for b in notice["buttons"]] == ["Approve", "Reject"]
    assert await run(ActionRecordsNotify(), "", "leave_balance", "chloe.singh", CHLOE_CHAT) == []


async def test_nobody_else_hears_a_managers_notice(pushes: list[str]) -> None:
    await run(ActionLeaveBalance(), "my leave", "leave_balance", "chloe.singh", CHLOE_CHAT)
    await book_for_alice()
    # a push into Chloe's conversation, where someone else is now the verified caller
    assert await run(ActionRecordsNotify(), "", "greet", "ben.okafor", CHLOE_CHAT) == []
    assert await run(ActionRecordsNotify(), "", "greet", "daniel.evans", CHLOE_CHAT) == []
    assert len(await run(ActionRecordsNotify(), "", "greet", "chloe.singh", CHLOE_CHAT)) == 1


async def test_without_a_known_conversation_the_notice_waits_for_the_approvals_list(
    pushes: list[str],
) -> None:
    await book_for_alice()
    assert pushes == []  # Chloe has never used the chat
    listed = await run(
        ActionLeaveApprovals(), "anything to approve", "leave_approvals", "chloe.singh", CHLOE_CHAT
    )
    assert [m["text"].split(":")[0] for m in listed] == ["Alice Hughes", "Alice Hughes"]
    assert (
        await run(ActionRecordsNotify(), "", "greet", "chloe.singh", CHLOE_CHAT) == []
    )  # already delivered


async def test_the_employee_hears_the_decision(pushes: list[str]) -> None:
    await run(ActionLeaveBalance(), "my leave", "leave_balance", "alice.hughes", ALICE_CHAT)
    await book_for_alice()
    [booking] = [
        b
        for b in (
            await run(
                ActionLeaveApprovals(), "approvals", "leave_approvals", "chloe.singh", CHLOE_CHAT
            )
        )
        if "3 March" in b["text"]
    ]
    booking_id = booking["buttons"][0]["payload"].split('"booking_id": "')[1].split('"')[0]
    await run(
        ActionLeaveDecision(),
        "/leave_decision",
        "leave_decision",
        "chloe.singh",
        CHLOE_CHAT,
        [{"entity": "booking_id", "value": booking_id}, {"entity": "decision", "value": "reject"}],
    )
    assert pushes[-1] == ALICE_CHAT
    [told] = await run(ActionRecordsNotify(), "", "greet", "alice.hughes", ALICE_CHAT)
    assert told["text"] == (
        "Your annual leave from Wednesday 3 March 2027 to Friday 5 March 2027 has been "
        "rejected by your line manager."
    )


async def test_a_decision_already_seen_in_the_status_is_not_repeated(pushes: list[str]) -> None:
    await book_for_alice()
    [booking] = [
        b
        for b in await run(
            ActionLeaveApprovals(), "x", "leave_approvals", "chloe.singh", CHLOE_CHAT
        )
        if "3 March" in b["text"]
    ]
    booking_id = booking["buttons"][0]["payload"].split('"booking_id": "')[1].split('"')[0]
    await run(
        ActionLeaveDecision(),
        "/leave_decision",
        "leave_decision",
        "chloe.singh",
        CHLOE_CHAT,
        [{"entity": "booking_id", "value": booking_id}, {"entity": "decision", "value": "approve"}],
    )
    statuses = await run(
        ActionLeaveRequestStatus(),
        "has my leave been approved",
        "leave_request_status",
        "alice.hughes",
        ALICE_CHAT,
    )
    assert any(
        "3 March 2027 to Friday 5 March 2027 (3 days) is approved" in m["text"] for m in statuses
    )
    assert await run(ActionRecordsNotify(), "", "greet", "alice.hughes", ALICE_CHAT) == []


async def test_a_sickness_report_reaches_the_manager(pushes: list[str]) -> None:
    await run(ActionLeaveBalance(), "my leave", "leave_balance", "chloe.singh", CHLOE_CHAT)
    await run(ActionSicknessReport(), "I'm off sick", "sickness_report", "ben.okafor", BEN_CHAT)
    assert pushes == [CHLOE_CHAT]
    [told] = await run(ActionRecordsNotify(), "", "greet", "chloe.singh", CHLOE_CHAT)
    assert (
        told["text"] == "Ben Okafor has reported sickness absence from Thursday 26 November 2026."
    )


async def test_push_asks_the_relay_to_run_the_notify_action(aiohttp_server: Any) -> None:
    relay = FakeRelay()
    url = str((await aiohttp_server(relay.app())).make_url(""))
    chloe = "widget-" + "c" * 32
    assert await push(url, KEYS["records"], chloe)
    [delivery] = relay.deliveries
    assert (delivery["caller"], delivery["kind"], delivery["conversation_id"]) == (
        "records", "records_notify", chloe)
    relay.status = 503  # Rasa could not deliver it
    assert not await push(url, KEYS["records"], chloe)
    assert not await push(url, "too-short", chloe)  # no key configured: no push
    assert not await push(url, KEYS["records"], None)  # the recipient has no conversation yet
    assert not await push(url, KEYS["console"], chloe)  # another caller's key: refused (401)
    assert not await push("http://127.0.0.1:9", KEYS["records"], chloe, timeout_seconds=2)
    assert len(relay.deliveries) == 1 and relay.refused == [(401, "signature")]


async def test_the_records_actions_remember_the_callers_conversation() -> None:
    from sqlalchemy import select

    from bot.records.models import EmployeeConversation

    await said(
        ActionLeaveBalance(), tracker("my leave", "leave_balance", "ben.okafor", sender_id=BEN_CHAT)
    )
    await said(
        ActionLeaveBalance(), tracker("my leave", "leave_balance", "mallory", sender_id="widget-x")
    )
    with services.database().unit_of_work() as session:
        rows = session.execute(
            select(EmployeeConversation.conversation_id, EmployeeConversation.channel)
        ).all()
    assert rows == [(BEN_CHAT, "widget")]
