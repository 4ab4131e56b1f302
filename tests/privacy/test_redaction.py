"""Redaction of personal data: the held-out set's targets, and the rules that matter most."""
from __future__ import annotations

import pytest

from bot.redaction import names, redactor as redaction
from bot.redaction.patterns import luhn_valid, nhs_valid
from scripts.evaluate_redaction import DEFAULT_SET, evaluate, ours, read_set

PATTERN_RECALL, PATTERN_PRECISION, NAME_RECALL = 0.95, 0.90, 0.85


@pytest.fixture(scope="module")
def held_out():
    return evaluate(read_set(DEFAULT_SET), ours)


def test_the_held_out_set_is_big_enough_for_its_numbers() -> None:
    items = read_set(DEFAULT_SET)
    assert len(items) >= 300
    kinds = [kind for item in items for *_, kind in item.spans]
    for kind in (*redaction.PATTERN_KINDS, *redaction.ENTITY_KINDS):
        assert kinds.count(kind) >= 25, kind


@pytest.mark.parametrize("kind", redaction.PATTERN_KINDS)
def test_each_pattern_kind_meets_its_targets(held_out, kind: str) -> None:
    score = held_out.score(kind)
    assert score.recall >= PATTERN_RECALL, (kind, score)
    assert score.precision >= PATTERN_PRECISION, (kind, score)


def test_names_meet_their_recall_target(held_out) -> None:
    assert held_out.score("name").recall >= NAME_RECALL


@pytest.mark.parametrize(("text", "hidden", "placeholder"), [
    ("my NI number is QQ 12 34 56 C", "QQ 12 34 56 C", "[NI number]"),
    ("sort code 20-45-77, account 41234567", "41234567", "[account number]"),
    ("sort code 20-45-77, account 41234567", "20-45-77", "[sort code]"),
    ("card 4111 1111 1111 1111 please", "4111 1111 1111 1111", "[card number]"),
    ("call me on +44 (0)20 7946 0958", "7946 0958", "[phone]"),
    ("I moved to 14 Station Road, Otley LS21 1AB", "Station Road", "[place]"),
    ("I moved to 14 Station Road, Otley LS21 1AB", "Otley", "[place]"),
    ("I moved to 14 Station Road, Otley LS21 1AB", "LS21 1AB", "[postcode]"),
    ("DOB 14/02/1986", "14/02/1986", "[date of birth]"),
    ("staff number 3345123", "3345123", "[employee number]"),
    ("My NHS number is 943 476 5919", "943 476 5919", "[reference]"),
    ("this is john smith from payroll", "john smith", "[name]"),
    ("Is Nicola in today?", "Nicola", "[name]"),
    ("Mrs Thompson signed it", "Thompson", "[name]"),
])
def test_personal_data_is_replaced(text: str, hidden: str, placeholder: str) -> None:
    cleaned = redaction.redact(text)
    assert hidden not in cleaned and placeholder in cleaned


@pytest.mark.parametrize("text", [
    "Any update on HR-000123?", "Claim EXP-000045 was rejected.", "PO-2024-0031 is pending",
    "I want leave from 3rd to 7th March", "I started on 01/09/2005", "my tax code is 1257L",
    "I have 12.5 days left", "the claim was for £1,842.17",
    "How much annual leave do I have left?", "I'm going to be late today",
])
def test_what_is_not_personal_data_is_kept(text: str) -> None:
    assert redaction.redact(text) == text


def test_a_number_failing_the_luhn_check_is_no_card_but_still_hidden() -> None:
    assert redaction.redact("card 4111 1111 1111 1112 please") == "card [number] please"


def test_checksums() -> None:
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert nhs_valid("9434765919") and not nhs_valid("9434765918")


def test_patterns_only_never_loads_the_model(monkeypatch) -> None:
    monkeypatch.setattr(names, "pipeline", lambda: pytest.fail("the model was used"))
    assert redaction.redact("NI QQ123456C, Sarah", names=False) == "NI [NI number], Sarah"


def test_the_pipeline_is_loaded_once_per_process() -> None:
    assert names.pipeline() is names.pipeline()
    assert set(names.pipeline().pipe_names) == {"tok2vec", "ner"}


def test_empty_and_overlapping_text() -> None:
    assert redaction.redact("") == ""
    # The e-mail address wins over the name inside it.
    assert redaction.redact("write to sarah.jones@dds.gov.uk") == "write to [email]"
