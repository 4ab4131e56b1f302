"""Pure handoff logic: PII minimisation, skill routing, opening hours, wait estimates, the
widget push signature and parsing."""
from __future__ import annotations

import dataclasses
import datetime as dt
import json

import pytest

from bot.config import Settings
from bot.handoff import routing, widget_push
from bot.handoff.summary import ConversationFacts, build_summary, redact
from bot.tickets.enums import ServiceLine

UTC = dt.timezone.utc


@pytest.mark.parametrize(("text", "hidden", "placeholder"), [
    ("my email is alice.hughes@dds.example.gov.uk", "alice.hughes@", "[email]"),
    ("NI number QQ123456C", "QQ123456C", "[NI number]"),
    ("ni qq 12 34 56 c please", "qq 12 34 56 c", "[NI number]"),
    ("call 07700 900123", "07700 900123", "[phone]"),
    ("or +44 20 7946 0958", "7946", "[phone]"),
    ("sort code 12-34-56", "12-34-56", "[sort code]"),
    ("account 12345678", "12345678", "[account number]"),
    ("this is Sarah Jones from Otley", "Sarah Jones", "[name]"),
    ("card 4111 1111 1111 1111", "4111", "[card number]"),
    ("I live at LS1 4AP", "LS1 4AP", "[postcode]"),
])
def test_identifiers_are_replaced(text: str, hidden: str, placeholder: str) -> None:
    cleaned = redact(text)
    assert hidden not in cleaned and placeholder in cleaned


@pytest.mark.parametrize("text", ["any update on HR-000123?", "I took 3 days off in March 2025",
                                  "invoice INV-20931 from the stationery supplier", "claim for £45.50"])
def test_useful_words_are_kept(text: str) -> None:
    assert redact(text) == text


def test_summary_has_reason_topics_details_and_recent_messages() -> None:
    facts = ConversationFacts(
        intents=["greet", "leave_balance", "nlu_fallback", "leave_balance", "human_handoff"],
        slots={"leave_type": "annual", "requested_slot": None, "handoff_offer": "person",
               "ticket_description": "call me on 07700 900123"},
        user_messages=[f"message {i}" for i in range(7)] + ["my NI is QQ123456C"])
    summary = build_summary(facts, "Asked for a person (hr queue).")
    lines = summary.splitlines()
    assert lines[0] == "Asked for a person (hr queue)."
    assert lines[1] == "Topics: greet, leave balance, human handoff"
    assert "leave_type: annual" in lines[2] and "[phone]" in lines[2]
    assert "handoff_offer" not in summary and "QQ123456C" not in summary
    assert lines[-1] == "- my NI is [NI number]" and "message 2" not in summary


def test_summary_is_bounded() -> None:
    facts = ConversationFacts(user_messages=["x" * 5000] * 10)
    assert len(build_summary(facts, "why")) <= 1800


@pytest.mark.parametrize(("explicit", "messages", "intents", "expected"), [
    ("pensions", ["someone in payroll"], [], ServiceLine.PENSIONS),
    (None, ["can I speak to someone in payroll"], ["leave_balance"], ServiceLine.PAYROLL),
    (None, ["get me a human"], ["expense_claim_status", "human_handoff"], ServiceLine.FINANCE),
    (None, ["get me a human"], ["human_handoff"], ServiceLine.HR),
    ("nonsense", ["I'm locked out of the portal"], [], ServiceLine.ACCESS),
])
def test_skill_routing(explicit: object, messages: list[str], intents: list[str],
                       expected: ServiceLine) -> None:
    assert routing.infer_skill(explicit, messages, intents) is expected


@pytest.mark.parametrize(("moment", "expected"), [
    (dt.datetime(2026, 11, 25, 9, 0, tzinfo=UTC), True),  # Wednesday 09:00 GMT
    (dt.datetime(2026, 11, 25, 8, 59, tzinfo=UTC), False),
    (dt.datetime(2026, 11, 25, 17, 0, tzinfo=UTC), False),
    (dt.datetime(2026, 6, 10, 15, 30, tzinfo=UTC), True),  # 16:30 BST
    (dt.datetime(2026, 6, 10, 16, 30, tzinfo=UTC), False),  # 17:30 BST
    (dt.datetime(2026, 11, 28, 12, 0, tzinfo=UTC), False),  # Saturday
    (dt.datetime(2026, 12, 28, 12, 0, tzinfo=UTC), False),  # Boxing Day substitute
])
def test_opening_hours_follow_the_business_calendar(moment: dt.datetime,
                                                    expected: bool) -> None:
    assert routing.helpdesk_open(Settings(), moment) is expected


def test_a_24_7_helpdesk_is_always_open() -> None:
    always = dataclasses.replace(Settings(), handoff_hours="always")
    assert routing.helpdesk_open(always, dt.datetime(2026, 12, 25, 3, tzinfo=UTC))
    assert routing.opening_hours_text(always) == "at any time"


@pytest.mark.parametrize(("position", "agents", "minutes", "expected"), [
    (1, 1, 6.0, 3), (2, 1, 6.0, 9), (3, 2, 6.0, 9), (1, 0, 6.0, None), (1, 3, 1.0, 1),
])
def test_wait_estimate(position: int, agents: int, minutes: float,
                       expected: int | None) -> None:
    assert routing.estimate_wait_minutes(position, agents, minutes) == expected


def test_handling_time_is_averaged_and_clamped() -> None:
    assert routing.average_handling_minutes([]) == routing.DEFAULT_HANDLING_MINUTES
    assert routing.average_handling_minutes([dt.timedelta(minutes=4),
                                             dt.timedelta(minutes=8)]) == 6.0
    assert routing.average_handling_minutes([dt.timedelta(hours=5)]) == 30.0


@pytest.mark.parametrize(("told", "now", "material"), [
    ((None, None), (5, 30), True),
    ((5, 30), (5, 30), False),
    ((5, 30), (4, 27), False),  # one place up, far from the front, 3 minutes of 30
    ((5, 30), (4, 21), True),  # the estimate moved by more than a quarter
    ((4, 21), (3, 15), True),  # into the last three
    ((2, 9), (2, None), True),  # every agent left
    ((2, None), (2, 9), True),  # someone came online
    ((2, 9), (2, 10), False),
])
def test_material_change(told: tuple, now: tuple, material: bool) -> None:
    assert routing.is_material_change(*told, *now) is material


def test_push_verification_order_and_window() -> None:
    key = widget_push.push_key("k" * 40)
    body = json.dumps({"id": "abc", "recipient_id": "widget-1",
                       "message": {"text": "hi", "author": "Sam", "recipient_id": "x"}}).encode()
    signed = widget_push.signature(key, "1000", body)
    widget_push.verify(key, "1000", signed, body, now=1100)
    for timestamp, signature, now in (("1000", signed, 1400), (None, signed, 1000),
                                      ("1000", None, 1000), ("x", signed, 1000),
                                      ("1000", "v1=" + "0" * 64, 1000)):
        with pytest.raises(widget_push.InvalidPush):
            widget_push.verify(key, timestamp, signature, body, now=now)
    push = widget_push.parse(body)
    assert push.message == {"text": "hi", "author": "Sam"}


@pytest.mark.parametrize("body", [b"[]", b"{", b'{"id": "a b", "recipient_id": "w", '
                                  b'"message": {"text": "x"}}',
                                  b'{"id": "a", "recipient_id": "w", "message": {}}',
                                  b'{"id": "a", "recipient_id": "", "message": {"text": "x"}}'])
def test_malformed_pushes_are_refused(body: bytes) -> None:
    with pytest.raises(widget_push.InvalidPush):
        widget_push.parse(body)
