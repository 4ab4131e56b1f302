"""Pure ticket helpers: categories, priorities, references, subjects, keys, Rasa tokens."""
from __future__ import annotations


import pytest

from bot.tickets.categories import classify_category, parse_category, parse_priority, subject_from
from bot.tickets.enums import Priority, ServiceLine
from bot.tickets.references import (
    category_of,
    find_references,
    format_reference,
    normalise_reference,
)
from bot.tickets.requester import idempotency_key


@pytest.mark.parametrize(("text", "category"), [
    ("I want to raise a query about my overtime", ServiceLine.PAYROLL),
    ("my payslip deductions look wrong", ServiceLine.PAYROLL),
    ("question about my alpha pension", ServiceLine.PENSIONS),
    ("my expenses claim for mileage was rejected", ServiceLine.FINANCE),
    ("I'm locked out of the portal", ServiceLine.ACCESS),
    ("my maternity leave dates", ServiceLine.HR),
    ("Payroll", ServiceLine.PAYROLL),
    ("System access", ServiceLine.ACCESS),
    ("pen", ServiceLine.PENSIONS),
    ("raise a ticket", None),
    ("pension or pay", None),  # a tie is not a guess
])
def test_categories_from_text(text: str, category: ServiceLine | None) -> None:
    assert classify_category(text) is category


def test_slot_values_parse_exactly_first() -> None:
    assert parse_category("finance") is ServiceLine.FINANCE
    assert parse_category("it's about my P60") is ServiceLine.PAYROLL


@pytest.mark.parametrize(("text", "priority"), [
    ("Urgent", Priority.URGENT), ("high please", Priority.HIGH), ("normal", Priority.NORMAL),
    ("it's not urgent", Priority.LOW), ("low", Priority.LOW), ("whatever you think", None),
])
def test_priorities_from_text(text: str, priority: Priority | None) -> None:
    assert parse_priority(text) is priority


@pytest.mark.parametrize(("text", "found"), [
    ("any update on HR-000123?", ["HR-000123"]),
    ("what about pay 45 and fin-000045", ["PAY-000045", "FIN-000045"]),
    ("ACC000007 please", ["ACC-000007"]),
    ("HR-000123 and HR-000123 again", ["HR-000123"]),
    ("my NI number is QQ123456C", []),
    ("HR1234567", []),  # seven digits is not a reference
])
def test_references_in_text(text: str, found: list[str]) -> None:
    assert find_references(text) == found


def test_reference_format_and_normalising() -> None:
    assert format_reference("PEN", 12) == "PEN-000012"
    assert normalise_reference("pen-12") == "PEN-000012"
    assert normalise_reference("HR-1 or HR-2") is None
    assert category_of("FIN-000045") is ServiceLine.FINANCE and category_of("XX-1") is None


def test_subjects_are_the_first_sentence_within_the_limit() -> None:
    assert subject_from("My pay is short.  It was due on Friday.") == "My pay is short."
    long = "word " * 60
    subject = subject_from(long)
    assert len(subject) <= 120 and subject.endswith("…")


def test_idempotency_keys_depend_on_conversation_and_turn() -> None:
    key = idempotency_key("widget-abc", "m1")
    assert key == idempotency_key("widget-abc", "m1") and len(key) == 64
    assert key != idempotency_key("widget-abc", "m2")
    assert key != idempotency_key("widget-abd", "m1")
