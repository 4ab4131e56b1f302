"""Slack request verification and payload translations, without HTTP."""
from __future__ import annotations

import json
from typing import Any, Dict
from urllib.parse import urlencode

import pytest
from slack_sdk.signature import SignatureVerifier

from connectors.slack_events import (
    InvalidPayload,
    SlackUnauthenticated,
    buttons_blocks,
    clean_text,
    custom_blocks,
    fallback_text,
    message_from_event,
    message_from_interaction,
    parse_body,
    summary_blocks,
    url_verification_challenge,
    verify_request,
)

from . import fakes

from .fakes import (  # Slack's published example request
    VECTOR_BODY,
    VECTOR_SECRET,
    VECTOR_SIGNATURE,
    VECTOR_TIMESTAMP,
    FixedClock,
)


def vector_verifier(now: float = float(VECTOR_TIMESTAMP)) -> SignatureVerifier:
    return SignatureVerifier(VECTOR_SECRET, clock=FixedClock(now))


def test_slacks_published_test_vector_is_accepted() -> None:
    verify_request(vector_verifier(), VECTOR_BODY, VECTOR_TIMESTAMP, VECTOR_SIGNATURE)


@pytest.mark.parametrize("offset", [-300, 300, 0, 299])
def test_the_vector_is_accepted_within_five_minutes(offset: int) -> None:
    verify_request(vector_verifier(float(VECTOR_TIMESTAMP) + offset), VECTOR_BODY,
                   VECTOR_TIMESTAMP, VECTOR_SIGNATURE)


@pytest.mark.parametrize("offset", [-301, 301, 3600, -86400])
def test_the_vector_is_refused_outside_five_minutes(offset: int) -> None:
    with pytest.raises(SlackUnauthenticated):
        verify_request(vector_verifier(float(VECTOR_TIMESTAMP) + offset), VECTOR_BODY,
                       VECTOR_TIMESTAMP, VECTOR_SIGNATURE)


@pytest.mark.parametrize("body, timestamp, signature", [
    (VECTOR_BODY + b"&", VECTOR_TIMESTAMP, VECTOR_SIGNATURE),
    (VECTOR_BODY.replace(b"roadrunner", b"wilecoyote"), VECTOR_TIMESTAMP, VECTOR_SIGNATURE),
    (VECTOR_BODY, "1531420619", VECTOR_SIGNATURE),
    (VECTOR_BODY, VECTOR_TIMESTAMP, VECTOR_SIGNATURE.replace("v0=", "v1=")),
    (VECTOR_BODY, VECTOR_TIMESTAMP, VECTOR_SIGNATURE.upper()),
    (VECTOR_BODY, VECTOR_TIMESTAMP, VECTOR_SIGNATURE[3:]),
    (VECTOR_BODY, VECTOR_TIMESTAMP, VECTOR_SIGNATURE + "00"),
    (VECTOR_BODY, VECTOR_TIMESTAMP, None),
    (VECTOR_BODY, None, VECTOR_SIGNATURE),
    (VECTOR_BODY, "1531420618.0", VECTOR_SIGNATURE),
    (VECTOR_BODY, "1_531_420_618", VECTOR_SIGNATURE),
    (VECTOR_BODY, " 1531420618", VECTOR_SIGNATURE),
    (VECTOR_BODY, "١٥٣١٤٢٠٦١٨", VECTOR_SIGNATURE),
    (VECTOR_BODY, "", VECTOR_SIGNATURE),
    (VECTOR_BODY, "NaN", VECTOR_SIGNATURE),
    (b"\xff\xfe" + VECTOR_BODY, VECTOR_TIMESTAMP, VECTOR_SIGNATURE),
])
def test_every_defect_is_unauthenticated_never_an_exception(body: bytes, timestamp: Any,
                                                            signature: Any) -> None:
    with pytest.raises(SlackUnauthenticated):
        verify_request(vector_verifier(), body, timestamp, signature)


# --- payloads ----------------------------------------------------------------------------------

def test_url_verification_is_recognised() -> None:
    assert url_verification_challenge({"type": "url_verification", "challenge": "abc"}) == "abc"
    assert url_verification_challenge({"type": "event_callback"}) is None
    with pytest.raises(InvalidPayload):
        url_verification_challenge({"type": "url_verification", "challenge": 5})


def test_a_direct_message_becomes_a_neutral_message() -> None:
    payload = fakes.slack_event(text=f"<@{fakes.SLACK_BOT_USER}> how much leave?",
                                event_id="Ev1", client_msg_id="cm-1")
    message = message_from_event(payload)
    assert (message.kind, message.team_id, message.user_id, message.channel_id, message.text) == (
        "dm", fakes.SLACK_TEAM_ID, "U0ALICE", "D0ALICEDM", "how much leave?")
    assert message.thread_ts is None
    assert message.dedup_keys == ("event:Ev1", "msg:cm-1")
    assert message.message_id == "cm-1"


def test_a_threaded_message_is_answered_in_its_thread() -> None:
    message = message_from_event(fakes.slack_event(thread_ts="1700000000.000100"))
    assert message.thread_ts == "1700000000.000100"


def test_a_channel_mention_is_answered_in_a_thread_under_it() -> None:
    payload = fakes.slack_event(event_type="app_mention", channel="C0GENERAL", channel_type=None,
                                ts="1700000001.000200")
    message = message_from_event(payload)
    assert (message.kind, message.thread_ts) == ("mention", "1700000001.000200")


@pytest.mark.parametrize("change", [
    {"bot_id": "B0OTHER"}, {"subtype": "bot_message"}, {"subtype": "message_changed"},
    {"subtype": "message_deleted"}, {"user": fakes.SLACK_BOT_USER}, {"user": None},
    {"user": "not an id"}, {"channel_type": "channel"}, {"channel_type": "group"},
    {"type": "reaction_added"}, {"type": "app_home_opened"}, {"text": None},
], ids=lambda change: json.dumps(change))
def test_bot_own_edited_and_non_dm_messages_are_ignored(change: Dict[str, Any]) -> None:
    payload = fakes.slack_event()
    for name, value in change.items():
        if value is None:
            payload["event"].pop(name, None)
        else:
            payload["event"][name] = value
    assert message_from_event(payload) is None


def test_non_event_callbacks_are_not_messages() -> None:
    assert message_from_event({"type": "app_rate_limited"}) is None
    with pytest.raises(InvalidPayload):
        message_from_event({"type": "event_callback", "event": "x"})


def block_actions(**overrides: Any) -> Dict[str, Any]:
    payload = {
        "type": "block_actions", "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "user": {"id": "U0ALICE", "team_id": fakes.SLACK_TEAM_ID},
        "team": {"id": fakes.SLACK_TEAM_ID}, "channel": {"id": "D0ALICEDM"},
        "container": {"type": "message", "thread_ts": "1700000000.000100"},
        "actions": [{"type": "button", "action_id": "helpdesk_button_0", "value": "/affirm",
                     "action_ts": "1700000002.000300"}],
    }
    payload.update(overrides)
    return payload


def test_a_button_click_becomes_its_payload() -> None:
    message = message_from_interaction(block_actions())
    assert (message.kind, message.text, message.user_id, message.thread_ts) == (
        "action", "/affirm", "U0ALICE", "1700000000.000100")
    assert message.dedup_keys == ("action:13345224609.738474920.8088930838d88f008e0",)


@pytest.mark.parametrize("overrides", [
    {"type": "view_submission"}, {"actions": []}, {"actions": [{"type": "static_select"}]},
    {"actions": [{"type": "button"}]}, {"user": {}}, {"team": None, "user": {"id": "U0ALICE"}},
    {"channel": None},
])
def test_other_interactions_are_ignored(overrides: Dict[str, Any]) -> None:
    assert message_from_interaction(block_actions(**overrides)) is None


def test_bodies_are_json_or_an_interactivity_form() -> None:
    assert parse_body(b'{"type": "x"}', "application/json; charset=utf-8") == {"type": "x"}
    form = urlencode({"payload": json.dumps(block_actions())}).encode()
    assert parse_body(form, "application/x-www-form-urlencoded")["type"] == "block_actions"
    for body, kind in ((b"[1]", "application/json"), (b"{", "application/json"),
                       (b"a=b", "application/x-www-form-urlencoded"),
                       (b"payload=%7B", "application/x-www-form-urlencoded")):
        with pytest.raises(InvalidPayload):
            parse_body(body, kind)


@pytest.mark.parametrize("text, clean", [
    (f"<@{fakes.SLACK_BOT_USER}> leave balance", "leave balance"),
    ("mail <mailto:a@b.gov.uk|a@b.gov.uk> now", "mail a@b.gov.uk now"),
    ("see <https://intranet.example/x|the policy>", "see the policy"),
    ("<@U0SOMEONE> hi", "<@U0SOMEONE> hi"),
])
def test_clean_text(text: str, clean: str) -> None:
    assert clean_text(text, frozenset({fakes.SLACK_BOT_USER})) == clean


def test_buttons_are_block_kit_actions() -> None:
    blocks = buttons_blocks("Book it?", [{"title": "Yes", "payload": "/affirm"},
                                         {"title": "No", "payload": "/deny"}])
    assert blocks[0] == {"type": "section", "text": {"type": "mrkdwn", "text": "Book it?"}}
    assert blocks[1]["type"] == "actions"
    assert blocks[1]["elements"][0] == {
        "type": "button", "action_id": "helpdesk_button_0",
        "text": {"type": "plain_text", "text": "Yes", "emoji": True}, "value": "/affirm"}


def test_summaries_and_custom_blocks() -> None:
    blocks = summary_blocks({"title": "Leave booked", "facts": [{"title": "Days", "value": 3}]})
    assert blocks[0]["type"] == "header"
    assert blocks[1]["fields"] == [{"type": "mrkdwn", "text": "*Days*\n3"}]
    assert custom_blocks({"blocks": [{"type": "divider"}]}) == [{"type": "divider"}]
    assert custom_blocks({"channel": "C0ELSEWHERE", "text": "x"}) is None
    assert fallback_text({"summary": {"title": "Leave booked"}}) == "Leave booked"
