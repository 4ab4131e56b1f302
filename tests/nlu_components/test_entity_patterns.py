"""Dates, amounts and references by pattern (nlu_components/entity_patterns.py)."""
from __future__ import annotations

import datetime as dt

import pytest
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message

from nlu_components.date_values import date_info
from nlu_components.entity_patterns import PatternEntityExtractor, find_entities, london_today


def spans(text: str) -> list[tuple[str, str]]:
    return [(e["entity"], e["value"]) for e in find_entities(text)]


@pytest.mark.parametrize("text, expected", [
    ("I want to take 3rd to 7th March off", [("date", "3rd to 7th March")]),
    ("off next Friday", [("date", "next Friday")]),
    ("book 14/04 - 17/04 please", [("date", "14/04 - 17/04")]),
    ("leave w/c 14 April", [("date", "w/c 14 April")]),
    ("can I have the 8th off", [("date", "8th")]),
    ("from the 3rd of March to the 7th of March", [("date", "3rd of March to the 7th of March")]),
    ("leave on Friday 14 March", [("date", "Friday 14 March")]),
    ("taking PTO on 2027-03-19", [("date", "2027-03-19")]),
    ("I'm off next week", [("date", "next week")]),
    ("off sick today", [("date", "today")]),
    ("claim for £45.20 train to Bristol", [("amount", "£45.20")]),
    ("it was 30 quid", [("amount", "30 quid")]),
    ("I spent $1,200.50 on a hotel", [("amount", "$1,200.50")]),
    ("parking was 3.80 GBP", [("amount", "3.80 GBP")]),
    ("any update on HR-000123?", [("ticket_reference", "HR-000123")]),
    ("can you check fin 77 for me", [("ticket_reference", "fin 77")]),
    ("what is happening with PO 4500012345", [("po_number", "4500012345")]),
    ("has invoice INV-20931 from Acme been paid", [("invoice_number", "INV-20931")]),
    ("supplier chasing invoice 88213", [("invoice_number", "88213")]),
    ("status of EXP-000123", [("expense_reference", "EXP-000123")]),
    ("claiming £12.50 for lunch on Tuesday", [("amount", "£12.50"), ("date", "Tuesday")]),
    # issue 20: ranges with "the", parts of the day, lists, holidays, relative periods
    ("I'd like the 3rd to the 7th off", [("date", "3rd to the 7th")]),
    ("holiday w/c 12 Jan", [("date", "w/c 12 Jan")]),
    ("off between 10 and 14 November", [("date", "10 and 14 November")]),
    ("can I have 3rd March and 5th March off", [("date", "3rd March"), ("date", "5th March")]),
    ("I won't be in Thursday or Friday", [("date", "Thursday"), ("date", "Friday")]),
    ("half day Wednesday afternoon", [("date", "Wednesday afternoon")]),
    ("I'd like next Tuesday pm off", [("date", "next Tuesday pm")]),
    ("Friday week off please", [("date", "Friday week")]),
    ("Mon-Wed next week", [("date", "Mon-Wed next week")]),
    ("vacation Dec 29 through Jan 2", [("date", "Dec 29 through Jan 2")]),
    ("is Good Friday a bank holiday", [("date", "Good Friday")]),
    ("are we paid before Christmas Eve?", [("date", "Christmas Eve")]),
    ("is payday on the 27th this month", [("date", "27th this month")]),
    ("I claimed it a fortnight ago", [("date", "a fortnight ago")]),
    ("i want nxt fri off", [("date", "nxt fri")]),
    ("leave for June 2027", [("date", "June 2027")]),
    # issue 20, third round: lists of days, parts of months, distances, business years
    ("I need the 19th, 22nd and 23rd off", [("date", "19th"), ("date", "22nd"), ("date", "23rd")]),
    ("book the 3rd-7th off", [("date", "3rd-7th")]),
    ("I want off on 8th", [("date", "8th")]),
    ("leave on 23-12-2026", [("date", "23-12-2026")]),
    ("Tuesday 2nd June 2026 please", [("date", "Tuesday 2nd June 2026")]),
    ("my leave at the end of the month", [("date", "end of the month")]),
    ("leave in mid-January", [("date", "mid-January")]),
    ("can I take the first week of April", [("date", "first week of April")]),
    ("a day in two weeks for the dentist", [("date", "in two weeks")]),
    ("my claim from 3 weeks ago", [("date", "3 weeks ago")]),
    ("10 days from now", [("date", "10 days from now")]),
    ("off between Christmas and New Year", [("date", "Christmas and New Year")]),
    ("Monday after next", [("date", "Monday after next")]),
    ("the following Monday", [("date", "following Monday")]),
    ("pls can i hav 2moro off", [("date", "2moro")]),
    ("leave wk commencing 5/1", [("date", "wk commencing 5/1")]),
    ("my P60 for last tax year", [("date", "last tax year")]),
    ("my balance at the end of the leave year", [("date", "end of the leave year")]),
    ("can I have the afternoon of the 19th off", [("date", "afternoon of the 19th")]),
    ("flu since the weekend", [("date", "weekend")]),
    # a month alone (with a day or a year it is a date)
    ("my payslip for October", [("month", "October")]),
    ("show me December's payslip", [("month", "December")]),
    ("my payslip for may", [("month", "may")]),
    ("book 3 September", [("date", "3 September")]),
])
def test_finds_the_span_alone(text: str, expected: list) -> None:
    assert spans(text) == expected


@pytest.mark.parametrize("text", [
    "I need 2 days off", "I work 37 hours a week", "grade 7, band B", "mileage claim, 84 miles",
    "how many bank holidays are there", "I have 3 kids",
    "what's my hourly rate", "call 0300 200 3300",
    # issue 20: not dates
    "I sat the exam", "sun cream", "I spent 12.50", "the train at 6.45", "is the Christmas party on",
    "may I ask something", "May I ask about my pay", "we march on", "the marching band",
    "a week's leave", "three days off",
])
def test_numbers_that_are_not_entities(text: str) -> None:
    assert spans(text) == []


MONDAY = dt.date(2026, 12, 7)


@pytest.mark.parametrize("span, start, end, half", [
    ("next Friday", "2026-12-11", "2026-12-11", None),
    ("3rd to 7th March", "2027-03-03", "2027-03-07", None),
    ("w/c 14 December", "2026-12-14", "2026-12-18", None),
    ("Friday afternoon", "2026-12-11", "2026-12-11", "afternoon"),
    ("next week", "2026-12-14", "2026-12-18", None),
    ("last week", "2026-11-30", "2026-12-04", None),
    ("yesterday", "2026-12-06", "2026-12-06", None),
    ("last Tuesday", "2026-12-01", "2026-12-01", None),
    ("3 weeks ago", "2026-11-16", "2026-11-16", None),
    ("in a fortnight", "2026-12-21", "2026-12-21", None),
    ("Monday week", "2026-12-21", "2026-12-21", None),
    ("Christmas Eve", "2026-12-24", "2026-12-24", None),
    ("Easter Monday", "2027-03-29", "2027-03-29", None),
    ("Christmas and New Year", "2026-12-25", "2027-01-01", None),
    ("last month", "2026-11-01", "2026-11-30", None),
    ("end of the month", "2026-12-31", "2026-12-31", None),
    ("mid-January", "2027-01-11", "2027-01-20", None),
    ("first week of April", "2027-04-05", "2027-04-09", None),
    ("last working day of the month", "2026-12-31", "2026-12-31", None),
    ("end of the leave year", "2027-03-31", "2027-03-31", None),
    ("last tax year", "2025-04-06", "2026-04-05", None),
    ("2nd June '26", "2026-06-02", "2026-06-02", None),
    ("23-12-2026", "2026-12-23", "2026-12-23", None),
])
def test_date_values(span: str, start: str, end: str, half: str | None) -> None:
    assert date_info(span, MONDAY) == {"start": start, "end": end, "half_day": half,
                                       "as_of": "2026-12-07"}


def test_unreadable_spans_carry_no_value() -> None:
    assert date_info("Christmas holidays", MONDAY) is None


def test_each_date_month_and_amount_carries_what_it_means() -> None:
    """The entity's value stays the text (the forms and the conversation tests read it); what
    it means is in additional_info, as of today in London."""
    message = Message({TEXT: "claim £1,200.50 for next Friday and 75p in October"})
    [result] = PatternEntityExtractor().process([message])
    today = london_today()
    by_entity = {e["value"]: e for e in result.get(ENTITIES)}
    assert by_entity["£1,200.50"]["additional_info"] == {"amount": "1200.50", "currency": "GBP"}
    assert by_entity["75p"]["additional_info"] == {"amount": "0.75", "currency": "GBP"}
    assert by_entity["next Friday"]["additional_info"] == date_info("next Friday", today)
    assert by_entity["next Friday"]["additional_info"]["as_of"] == today.isoformat()
    assert by_entity["October"]["additional_info"]["start"].endswith("-10-01")


def test_replaces_other_extractors_spans_of_its_entities_and_keeps_the_rest() -> None:
    message = Message({TEXT: "has Acme's INV-20931 been paid in March", ENTITIES: [
        {"entity": "supplier", "start": 4, "end": 8, "value": "Acme", "extractor": "DIETClassifier"},
        {"entity": "invoice_number", "start": 15, "end": 20, "value": "20931", "extractor": "DIETClassifier"},
        {"entity": "month", "start": 29, "end": 33, "value": "paid", "extractor": "DIETClassifier"},
    ]})
    [result] = PatternEntityExtractor().process([message])
    assert [(e["entity"], e["value"], e["extractor"]) for e in result.get(ENTITIES)] == [
        ("supplier", "Acme", "DIETClassifier"),
        ("invoice_number", "INV-20931", "PatternEntityExtractor"),
        ("month", "March", "PatternEntityExtractor"),
    ]


def test_the_development_set_scores_at_least_95_percent_per_entity() -> None:
    """tests/nlu/entities_dev.yml (ours, never trained on): exact span and type, every entity of
    the extractor at or above the issue's 0.95 precision and recall."""
    from pathlib import Path

    from scripts.evaluate_nlu import entity_scores, load_nlu_yaml
    from nlu_components.entity_patterns import ENTITY_NAMES

    examples = load_nlu_yaml(Path(__file__).resolve().parents[2] / "tests" / "nlu" / "entities_dev.yml")
    gold = [[s for s in e["entities"] if s[2] in ENTITY_NAMES] for e in examples]
    predicted = [[(x["start"], x["end"], x["entity"]) for x in find_entities(e["text"])]
                 for e in examples]
    table = entity_scores(gold, predicted, ENTITY_NAMES)
    assert table["date"]["support"] >= 150
    low = {name: (row["precision"], row["recall"]) for name, row in table.items()
           if row["support"] and (row["precision"] < 0.95 or row["recall"] < 0.95)}
    assert not low, low


def test_the_rasa_image_has_all_of_bot_that_the_extractor_imports() -> None:
    """nlu_components reads dates with bot/records/dates.py, the one module of bot/ that the
    Rasa image copies (docker/rasa.Dockerfile); that module imports nothing else of bot/."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]

    def imported(path: Path) -> set[str]:
        names = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module)
        return names

    from_bot = {name for path in (root / "nlu_components").glob("*.py") for name in imported(path)
                if name == "bot" or name.startswith("bot.")}
    assert from_bot == {"bot.records.dates"}
    assert not {n for n in imported(root / "bot" / "records" / "dates.py") if n.startswith("bot")}
    dockerfile = (root / "docker" / "rasa.Dockerfile").read_text(encoding="utf-8")
    assert "COPY bot/records/__init__.py bot/records/dates.py bot/records/" in dockerfile
    assert "COPY bot/__init__.py bot/" in dockerfile
