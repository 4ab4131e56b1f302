"""Agent changes reach the employee's conversation through Rasa's relay channel, each at most
once.

A stand-in for the relay (tests/relay_fake.py) checks the request as the channel does (the
tickets caller's own key and signature, its one kind) and runs what `action_ticket_notify`
runs.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.config import Settings
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.identity import Principal
from bot.relay import Relay
from bot.storage.database import Database
from bot.storage.models import AuditEvent
from bot.tickets.agent import AgentRef, add_comment, change_status
from bot.tickets.models import (
    NotificationState,
    ServiceLine,
    TicketNotification,
    TicketStatus,
    Visibility,
)
from bot.tickets.notifications import claim_for_conversation, deliver_pending
from bot.tickets.requester import NewTicket, raise_ticket
from bot.tickets.sla import policy_from_settings

from tests.relay_fake import KEYS, FakeRelay

POLICY = policy_from_settings(Settings())
AGENT = AgentRef("sam.agent")


class FakeRasa(FakeRelay):
    """The relay, 'uttering' what the notify action would say in the conversation."""

    def __init__(self, db: Database) -> None:
        super().__init__()
        self.uttered: dict[str, list[str]] = {}
        self.on_delivery = lambda delivery: self.uttered.setdefault(
            delivery["conversation_id"], []).extend(
            claim_for_conversation(db, delivery["conversation_id"]))


Rasa = tuple[FakeRasa, Relay]


@pytest.fixture
async def rasa(demo_db: Database, aiohttp_server: Any) -> AsyncIterator[Rasa]:
    fake = FakeRasa(demo_db)
    server = await aiohttp_server(fake.app())
    async with aiohttp.ClientSession() as session:
        yield fake, Relay(str(server.make_url("")), "tickets", KEYS["tickets"], session)


def raise_for(db: Database, subject: str, conversation: str) -> str:
    new = NewTicket(ServiceLine.HR, "A question about my contract hours",
                    conversation_id=conversation, channel="widget")
    principal = Principal("widget", DEMO_WIDGET_ISSUER, subject)
    return raise_ticket(db, principal, new, POLICY).summary.reference


def states(db: Database) -> list[tuple[NotificationState, int]]:
    with db.unit_of_work() as session:
        return [(n.state, n.attempts) for n in
                session.scalars(select(TicketNotification).order_by(TicketNotification.id))]


async def test_each_change_is_told_once_in_its_own_conversation(demo_db: Database,
                                                                rasa: Rasa) -> None:
    fake, notifier = rasa
    alice_ticket = raise_for(demo_db, "alice.hughes", "widget-alice")
    ben_ticket = raise_for(demo_db, "ben.okafor", "widget-ben")
    change_status(demo_db, AGENT, alice_ticket, TicketStatus.AWAITING_CUSTOMER, POLICY)
    add_comment(demo_db, AGENT, alice_ticket, "Please send the signed form", Visibility.PUBLIC,
                POLICY)
    add_comment(demo_db, AGENT, alice_ticket, "Chased manager", Visibility.INTERNAL, POLICY)
    change_status(demo_db, AGENT, ben_ticket, TicketStatus.RESOLVED, POLICY)

    report = await deliver_pending(demo_db, notifier)

    assert (report.conversations, report.pushed, report.given_up) == (2, 2, 0)
    assert [(r["caller"], r["conversation_id"], r["kind"]) for r in fake.requests] == [
        ("tickets", "widget-alice", "ticket_notify"), ("tickets", "widget-ben", "ticket_notify")]
    subject = "A question about my contract hours"
    assert fake.uttered == {
        "widget-alice": [
            f"Update on your case {alice_ticket} ({subject}): "
            f"it is now waiting for a reply from you. Details: /queries/{alice_ticket}",
            f"The helpdesk added a note to your case {alice_ticket} ({subject}): "
            f"Please send the signed form (details: /queries/{alice_ticket})",
        ],
        "widget-ben": [
            f"Update on your case {ben_ticket} ({subject}): it is now resolved. If it isn't "
            f"sorted, you can say \"reopen {ben_ticket}\". Details: /queries/{ben_ticket}",
        ],
    }
    # nothing is left: the next pass asks Rasa for nothing
    assert (await deliver_pending(demo_db, notifier)).conversations == 0
    assert len(fake.requests) == 2


async def test_a_repeated_push_says_nothing_twice(demo_db: Database, rasa: Rasa) -> None:
    fake, notifier = rasa
    reference = raise_for(demo_db, "alice.hughes", "widget-alice")
    change_status(demo_db, AGENT, reference, TicketStatus.OPEN, POLICY)
    assert await notifier.notify("widget-alice") and await notifier.notify("widget-alice")
    assert len(fake.requests) == 2 and len(fake.uttered["widget-alice"]) == 1


async def test_rasa_being_down_is_retried_then_given_up(demo_db: Database, rasa: Rasa) -> None:
    fake, notifier = rasa
    reference = raise_for(demo_db, "alice.hughes", "widget-alice")
    change_status(demo_db, AGENT, reference, TicketStatus.OPEN, POLICY)
    fake.status = 503
    await deliver_pending(demo_db, notifier, max_attempts=2)
    assert states(demo_db) == [(NotificationState.PENDING, 1)]
    fake.status = 200
    await deliver_pending(demo_db, notifier, max_attempts=2)  # back up: delivered
    assert states(demo_db) == [(NotificationState.DELIVERED, 2)]
    change_status(demo_db, AGENT, reference, TicketStatus.RESOLVED, POLICY)
    fake.status = 503
    for _ in range(3):
        await deliver_pending(demo_db, notifier, max_attempts=2)
    assert states(demo_db)[-1] == (NotificationState.FAILED, 2)
    assert len(fake.requests) == 4  # 1 failed + 1 delivered + 2 failed; the third pass gave up


async def test_an_unreachable_rasa_is_not_an_error(demo_db: Database) -> None:
    reference = raise_for(demo_db, "alice.hughes", "widget-alice")
    change_status(demo_db, AGENT, reference, TicketStatus.OPEN, POLICY)
    async with aiohttp.ClientSession() as session:
        notifier = Relay("http://127.0.0.1:9", "tickets", KEYS["tickets"], session)  # refused
        report = await deliver_pending(demo_db, notifier)
    assert (report.pushed, states(demo_db)) == (0, [(NotificationState.PENDING, 1)])


def test_a_conversation_hears_only_about_its_own_tickets(demo_db: Database) -> None:
    reference = raise_for(demo_db, "alice.hughes", "widget-alice")
    change_status(demo_db, AGENT, reference, TicketStatus.OPEN, POLICY)
    assert claim_for_conversation(demo_db, "widget-mallory") == []
    assert len(claim_for_conversation(demo_db, "widget-alice")) == 1
    with demo_db.unit_of_work() as session:  # the disclosure is audited like any read
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (last.channel, last.actor_principal, last.action, last.record_type) == (
            "system", "system:ticket-notifications:widget-alice", "notify", "ticket")
