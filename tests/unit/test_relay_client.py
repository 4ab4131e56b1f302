"""The services' relay client (bot/relay.py): the contract's signature, each caller's kinds, and
what a failure means to the caller. Against a stand-in of the channel (tests/relay_fake.py);
the channel in front of Rasa is tested in tests/connectors/test_relay.py."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.relay import Relay, RelayRefused, RelayUnavailable, signature
from tests.relay_fake import KEYS, FakeRelay

CONVERSATION = "widget-" + "a" * 32


def test_signature_golden_vector() -> None:
    """The same vector is checked by the channel (tests/connectors/test_relay.py)."""
    assert signature(b"k" * 32, "console", "1700000000", b'{"kind":"notice"}') == (
        "v1=34ef2b7ad8a5ae7132f33809c0038c08ab1c2cc8433f367ee70b8d0b82fc713c")


@pytest.fixture
async def fake(aiohttp_server: Any) -> FakeRelay:
    relay = FakeRelay()
    relay.url = str((await aiohttp_server(relay.app())).make_url("")).rstrip("/")
    return relay


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as client:
        yield client


def client(fake: FakeRelay, session: aiohttp.ClientSession, caller: str) -> Relay:
    return Relay(fake.url, caller, KEYS[caller], session)


async def test_the_console_says_hands_back_and_offers_the_survey(
        fake: FakeRelay, session: aiohttp.ClientSession) -> None:
    console = client(fake, session, "console")
    await console.say(CONVERSATION, "Hello, I'm Sam.", author="Sam Patel")
    await console.say(CONVERSATION, "You are number 2 in the queue.")
    await console.hand_back(CONVERSATION, "Back to the assistant.")
    assert [{k: v for k, v in d.items() if k != "id"} for d in fake.deliveries] == [
        {"caller": "console", "conversation_id": CONVERSATION, "kind": "agent_message",
         "text": "Hello, I'm Sam.", "author": "Sam Patel"},
        {"caller": "console", "conversation_id": CONVERSATION, "kind": "notice",
         "text": "You are number 2 in the queue."},
        {"caller": "console", "conversation_id": CONVERSATION, "kind": "hand_back",
         "text": "Back to the assistant."},
        {"caller": "console", "conversation_id": CONVERSATION, "kind": "satisfaction_offer"}]
    assert len({d["id"] for d in fake.deliveries}) == 4  # a fresh id each


@pytest.mark.parametrize("caller, kind", [("tickets", "ticket_notify"),
                                          ("records", "records_notify")])
async def test_the_workers_only_ask_for_their_notify_action(
        fake: FakeRelay, session: aiohttp.ClientSession, caller: str, kind: str) -> None:
    assert await client(fake, session, caller).notify(CONVERSATION)
    assert [(d["caller"], d["kind"]) for d in fake.deliveries] == [(caller, kind)]


async def test_a_key_opens_its_own_callers_kinds_only(fake: FakeRelay,
                                                       session: aiohttp.ClientSession) -> None:
    with pytest.raises(RelayRefused) as refused:
        await client(fake, session, "tickets").say(CONVERSATION, "Anything I like")
    assert refused.value.status == 403
    fake.keys["console"] = "a-different-console-key-".ljust(40, "z")  # Rasa's key changed
    with pytest.raises(RelayRefused) as refused:
        await client(fake, session, "console").say(CONVERSATION, "Hello")
    assert refused.value.status == 401 and fake.deliveries == []


async def test_not_delivered_is_worth_another_try_and_a_refusal_is_not(
        fake: FakeRelay, session: aiohttp.ClientSession) -> None:
    console = client(fake, session, "console")
    fake.status = 503  # the channel: not delivered, nothing saved
    with pytest.raises(RelayUnavailable):
        await console.say(CONVERSATION, "Hello")
    with pytest.raises(RelayUnavailable):
        await console.hand_back(CONVERSATION, "Back")
    assert not await client(fake, session, "tickets").notify(CONVERSATION)
    # The survey after a hand-back is best effort: its failure does not fail the hand-back.
    fake.status = 200
    fake.on_delivery = lambda delivery: setattr(fake, "status", 503)
    await console.hand_back(CONVERSATION, "Back")
    assert fake.kinds() == ["hand_back"]
    assert [r["kind"] for r in fake.requests][-2:] == ["hand_back", "satisfaction_offer"]


async def test_unreachable_rasa_and_a_worker_that_keeps_going(session: aiohttp.ClientSession) -> None:
    relay = Relay("http://127.0.0.1:9", "tickets", KEYS["tickets"], session)  # discard port
    assert await relay.notify(CONVERSATION) is False
    with pytest.raises(RelayUnavailable):
        await relay.deliver(CONVERSATION, "ticket_notify")


def test_a_client_needs_a_known_caller_and_a_long_key() -> None:
    with pytest.raises(ValueError, match="unknown relay caller"):
        Relay("http://rasa", "admin", "k" * 40, None)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="at least 32"):
        Relay("http://rasa", "console", "short", None)  # type: ignore[arg-type]
