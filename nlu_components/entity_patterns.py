"""Pattern entities for Rasa 3.6: dates, amounts of money and reference numbers.

These seven entities have a fixed written form, so patterns find them more reliably than a
learned tagger, and the same way every time:

- `ticket_reference`  HR-000123, PAY 42 (the prefixes of bot/tickets/references.py)
- `po_number`         4500012345 (ten digits starting with 4: bot/records/finance_documents.py)
- `invoice_number`    INV-20931, or the number after "invoice (number)" / "inv no."
- `expense_reference` EXP-000123 (actions/finance.py)
- `amount`            £45.20, £1,200, 45 pounds, 30 quid, 12.50 GBP, $80, €15, 75p
- `month`             a month named alone: "my payslip for October" (with a day or year: a date)
- `date`              a calendar date or a range of them, as the leave forms read them
                      (bot/records/dates.py): 3rd to 7th March, 14/04 - 17/04, 2027-04-14,
                      next Friday, tomorrow, w/c 14 April, the 8th, next week, last month

A span is the date or amount itself, without the words around it ("from", "on", "about").
The extractor runs after DIET and is the only source of these seven entities: DIET's guesses of
them are dropped, so an action never sees two different spans for one reference. An entity's
`value` is its text as typed; dates, months and amounts also carry what they mean in
`additional_info` (Rasa's place for a normalised value, as Duckling's extractor uses it):
a date or month its first and last day as of today in London (nlu_components/date_values.py,
which reads spans with the leave forms' own reader, bot/records/dates.py), an amount its number
and currency. The forms and actions still parse the message text themselves.
"""
from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Dict, List, Text
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.extractors.extractor import EntityExtractorMixin
from rasa.shared.nlu.constants import ENTITIES, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

MONTH = (r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
         r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?")
DAY = r"(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)?"
ORDINAL = r"(?:3[01]|[12]\d|0?[1-9])(?:st|nd|rd|th)"
YEAR = r"(?:20\d\d|'\d\d)"
WEEKDAY = (r"(?:mon(?:day)?|tue(?:s(?:day)?)?|wed(?:s|nesday)?|thu(?:r(?:s(?:day)?)?)?|fri(?:day)?|"
           r"sat(?:urday)?|sun(?:day)?)")
NEXT = r"(?:next|nxt|this|last|coming|this\s+coming|following)"
WEEK = r"(?:week|wk)"
# Periods within a month or week ("end of the month", "mid-January", "the first week of April").
PART_OF = r"(?:end|start|beginning|middle)"
WHICH_WEEK = r"(?:first|second|third|fourth|last|1st|2nd|3rd|4th)"
NUMBER_WORD = r"(?:a|one|two|three|four|five|six|seven|eight|nine|ten|\d{1,2})"
# The years HR and payroll count in: the leave year (April to March) and the tax year.
BUSINESS_YEAR = r"(?:leave|holiday|tax|financial|pay)\s+year"
# "on", "from", "until" and the like before a bare ordinal ("off on 8th").
_BEFORE_ORDINAL = "(?:" + "|".join(
    rf"(?<=\b{word}\s)" for word in ("the", "on", "from", "until", "till", "by", "since", "before",
                                       "after", "for", "On", "From", "Until", "By", "Since")) + ")"
# "tomorrow" as people type it
TOMORROW = r"(?:tomorrow|tomorow|tommorow|tommorrow|tomorrw|2moro|2morrow|tmrw|tmr|tomoz)"
# A half day or time of day said with its day ("Friday afternoon", "tomorrow am").
PART_OF_DAY = r"(?:\s+(?:morning|afternoon|evening|am|pm|a\.m\.|p\.m\.))?"
# Named days of the UK calendar; "Christmas" alone, but not "Christmas party" or "Easter eggs".
HOLIDAY = r"""(?:
    christmas\s+(?:eve|day|week)|boxing\s+day|new\s+year'?s?\s+(?:eve|day)
  | easter\s+(?:monday|sunday|saturday|weekend|week)|good\s+friday
  | st\.?\s+(?:andrew|patrick|david|george)'?s\s+day|may\s+day
  | new\s+year(?!'?s?\s+(?:resolutions?|party|parties|honours|eve|day)\b)
  | (?:christmas|easter)(?!\s+(?:party|parties|lunch|dinner|do|bonus|card|cards|jumper|shopping|eggs?|closure|holidays?|break|period|hours|rota)\b)
)"""
# One day, written out.
CORE = rf"""(?:
    20\d\d-\d\d-\d\d
  | \d{{1,2}}[/.]\d{{1,2}}(?:[/.](?:20)?\d\d)?
  | \d{{1,2}}-\d{{1,2}}-(?:20)?\d\d
  | {DAY}(?:\s+of)?\s+{MONTH}(?:,?\s+{YEAR})?
  | {MONTH}\s+(?:the\s+)?{DAY}(?:,?\s+{YEAR})?
  | {HOLIDAY}
  | (?:{NEXT}\s+)?{WEEKDAY}(?:\s+(?:the\s+)?{DAY}(?:\s+(?:of\s+)?{MONTH}(?:,?\s+{YEAR})?)?)?(?:\s+(?:next|this|last)\s+{WEEK}|\s+week\b|\s+after\s+next|\s+coming)?
  | {_BEFORE_ORDINAL}{ORDINAL}(?:\s+(?:of\s+)?(?:this|next|last)\s+(?:week|month))?
  | a\s+week\s+(?:today|tomorrow|on\s+{WEEKDAY})
  | today|{TOMORROW}|yesterday|yday|(?<=\bthe\s)day\s+(?:after\s+tomorrow|before\s+yesterday)
  | this\s+(?:morning|afternoon|evening)|tonight
)"""
SINGLE = rf"(?:{CORE}{PART_OF_DAY})"
PERIOD = rf"""(?:
    (?:{NEXT}|the\s+following)\s+(?:{WEEK}|month|year|weekend)
  | (?:the\s+)?week\s+after\s+next
  | (?:w/?c|{WEEK}\s+(?:commencing|beginning|starting|of))\.?\s+(?:{SINGLE}|{ORDINAL})
  | {MONTH}\s+{YEAR}
  | {NUMBER_WORD}\s+(?:days?|weeks?|months?|fortnights?)\s+ago
  | a\s+fortnight\s+ago
  | in\s+{NUMBER_WORD}\s+(?:days?|weeks?|months?)(?:'?\s+time)?
  | in\s+a\s+fortnight(?:'?s\s+time)?
  | {NUMBER_WORD}\s+(?:days?|weeks?)\s+(?:from\s+(?:now|today|tomorrow)|today|tomorrow)
  | {PART_OF}\s+of\s+(?:the\s+|this\s+|next\s+|last\s+)?(?:{WEEK}|month|year|{MONTH}(?:\s+{YEAR})?|{BUSINESS_YEAR})
  | (?:this|next|last|the\s+following|the\s+previous|previous)\s+{BUSINESS_YEAR}
  | (?:morning|afternoon)\s+of\s+(?:the\s+)?(?:{ORDINAL}|{CORE})
  | (?<=\bthe\s)weekend
  | (?:mid|early|late)[\s-]+(?:{MONTH}(?:\s+{YEAR})?|next\s+(?:month|week))
  | {WHICH_WEEK}\s+week\s+(?:of|in)\s+(?:the\s+month|this\s+month|next\s+month|{MONTH}(?:\s+{YEAR})?)
  | all\s+(?:of\s+)?(?:(?:this|next|last)\s+)?{WEEK}
  | (?<=\bthe\s)(?:first|last)\s+(?:working\s+)?day\s+of\s+(?:the\s+|this\s+|next\s+)?(?:month|{MONTH})
)"""
# "and" joins a range only after "between" ("between 10 and 14 November"); otherwise "3rd March
# and 5th March" are two dates.
RANGE_WORD = r"(?:\s*(?:-|–|to|until|till|til|through|thru)\s*(?:the\s+)?)"
BETWEEN_AND = r"(?:\s+and\s+(?:the\s+)?)"
DATE = re.compile(
    rf"""(?<![\w/.-])(?:
        (?<=\bbetween\s){DAY}{BETWEEN_AND}{SINGLE}          # between 10 and 14 November
      | (?<=\bbetween\sthe\s){DAY}{BETWEEN_AND}{SINGLE}
      | (?<=\bbetween\s){SINGLE}{BETWEEN_AND}{SINGLE}
      | {DAY}{RANGE_WORD}{SINGLE}            # 3rd to 7th March
      | {ORDINAL}{RANGE_WORD}{ORDINAL}         # the 3rd-7th
      | {SINGLE}(?:{RANGE_WORD}{SINGLE})?    # next Friday; Monday to Wednesday
      | {PERIOD}
    )(?![\w/-])""",
    re.IGNORECASE | re.VERBOSE,
)
# Three-letter words that are weekdays only when written as one ("Sat 4th", "next sun").
NOT_ALONE = {"sat", "sun"}
NUMBER = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d{1,2})?"
AMOUNT = re.compile(
    rf"""(?<![\w£$€.,])(?:
        (?:£|\$|€|GBP\s?|USD\s?|EUR\s?){NUMBER}(?:\s?(?:k|m)\b)?
      | {NUMBER}\s?(?:pounds?|quid|GBP|dollars?|USD|euros?|EUR|p|pence)
    )(?![\w£$€]|[.,]\d)""",
    re.IGNORECASE | re.VERBOSE,
)
# A month named on its own ("my payslip for October", "December's pay"); with a day or a year it
# is part of a date, which is the longer span and wins. "May" and "March" are words as well:
# they count when capitalised and not a question's "May I", or after "in", "for" and the like.
MONTH_NAME = (r"(?:jan(?:uary)?|feb(?:ruary)?|apr(?:il)?|june?|july?|aug(?:ust)?|"
              r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)")
_AFTER_WORD = "(?:" + "|".join(
    rf"(?<=\b{word}\s)" for word in ("in", "In", "for", "For", "of", "during", "since", "until",
                                       "till", "by", "from", "last", "next", "this", "early",
                                       "late", "mid")) + ")"
MONTH_ALONE = re.compile(
    rf"""(?<![\w/.-])(?:
        (?i:{MONTH_NAME})
      | (?:May|March|Mar)(?!\s+(?:I|we|you|he|she|they)\b)
      | {_AFTER_WORD}(?i:may|march|mar)
    )(?![\w/-])""",
    re.VERBOSE,
)
PATTERNS: dict[str, list[re.Pattern[str]]] = {
    "ticket_reference": [re.compile(r"\b(?:HR|PAY|PEN|FIN|ACC)[\s-]?\d{1,6}\b", re.I)],
    "expense_reference": [re.compile(r"\bEXP[\s-]?\d{1,6}\b", re.I)],
    "invoice_number": [re.compile(r"\bINV[\s-]?#?\d{3,10}\b", re.I),
                       re.compile(r"(?<=\binvoice\s)\d{3,10}\b|(?<=\binvoice\s#)\d{3,10}\b|"
                                  r"(?<=\binvoice\sno\s)\d{3,10}\b|(?<=\binvoice\sno\.\s)\d{3,10}\b|"
                                  r"(?<=\binvoice\snumber\s)\d{3,10}\b", re.I)],
    "po_number": [re.compile(r"(?<![\w-])4\d{9}\b")],
    "amount": [AMOUNT],
    "date": [DATE],
    "month": [MONTH_ALONE],
}
ENTITY_NAMES = tuple(PATTERNS)


NUMERIC_DATE = re.compile(r"(?<![\d.])(\d{1,2})([/.])(\d{1,2})(?:[/.](?:20)?\d\d)?(?![\d])")


def _plausible(value: str) -> bool:
    """Whether every d/m (or m/d) written in a date span can be a day of a month: "12.50" and
    "6.45" are amounts or times. With a dot only day-first (UK) is read."""
    for day, separator, month in NUMERIC_DATE.findall(value):
        d, m = int(day), int(month)
        uk = 1 <= d <= 31 and 1 <= m <= 12
        us = separator == "/" and 1 <= m <= 31 and 1 <= d <= 12
        if not (uk or us):
            return False
    return True


# The next day of a list after a date: "the 19th, 22nd and 23rd", "Friday the 19th & 22nd".
LIST_ORDINAL = re.compile(rf"(?:\s*,\s*(?:and\s+|or\s+|&\s*)?|\s+(?:and|or|&)\s+)(?:the\s+)?({ORDINAL})(?![\w/-])",
                          re.IGNORECASE)


def _listed_days(text: str, dates: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bare ordinals that continue a list after a date ("the 5th and 6th")."""
    found = []
    for date in dates:
        end = date["end"]
        while True:
            match = LIST_ORDINAL.match(text, end)
            if not match:
                break
            start, end = match.span(1)
            found.append({"entity": "date", "start": start, "end": end, "value": text[start:end]})
    return found


def find_entities(text: str) -> list[dict[str, Any]]:
    """Every pattern entity of the text, longest first where spans would overlap."""
    found = []
    for entity, patterns in PATTERNS.items():
        for pattern in patterns:
            for match in pattern.finditer(text):
                start, end = match.span()
                value = text[start:end]
                # Trailing punctuation belongs to the sentence, not the entity.
                while value and value[-1] in ".,":
                    value, end = value[:-1], end - 1
                if entity == "date" and (value in NOT_ALONE or not _plausible(value)):
                    continue
                if value:
                    found.append({"entity": entity, "start": start, "end": end, "value": value})
    found.sort(key=lambda e: (-(e["end"] - e["start"]), e["start"]))
    kept: list[dict[str, Any]] = []
    for candidate in found:
        if all(candidate["end"] <= k["start"] or k["end"] <= candidate["start"] for k in kept):
            kept.append(candidate)
    for candidate in _listed_days(text, [k for k in kept if k["entity"] == "date"]):
        if all(candidate["end"] <= k["start"] or k["end"] <= candidate["start"] for k in kept):
            kept.append(candidate)
    return sorted(kept, key=lambda e: e["start"])


CURRENCIES = {"£": "GBP", "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "quid": "GBP",
              "p": "GBP", "pence": "GBP", "$": "USD", "usd": "USD", "dollar": "USD",
              "dollars": "USD", "€": "EUR", "eur": "EUR", "euro": "EUR", "euros": "EUR"}
AMOUNT_PARTS = re.compile(r"(£|\$|€|gbp|usd|eur)?\s?([\d,]+(?:\.\d{1,2})?)\s?(k|m|[a-z]+)?", re.I)


def amount_info(span: str) -> dict[str, Any] | None:
    """{"amount": "1200.50", "currency": "GBP"} for an amount span (pence in pounds)."""
    match = AMOUNT_PARTS.fullmatch(span.strip())
    if not match:
        return None
    symbol, number, unit = match.group(1), match.group(2), (match.group(3) or "").lower()
    try:
        amount = Decimal(number.replace(",", ""))
    except InvalidOperation:
        return None
    if unit in ("k", "m"):
        amount *= 1000 if unit == "k" else 1_000_000
        unit = ""
    if unit in ("p", "pence"):
        amount /= 100
    currency = CURRENCIES.get((symbol or unit or "").lower())
    if currency is None:
        return None
    return {"amount": f"{amount:.2f}", "currency": currency}


def london_today() -> dt.date:
    try:
        return dt.datetime.now(ZoneInfo("Europe/London")).date()
    except ZoneInfoNotFoundError:  # an image without the time-zone database: UTC is within an hour
        return dt.datetime.now(dt.timezone.utc).date()


def with_values(entities: list[dict[str, Any]], today: dt.date) -> list[dict[str, Any]]:
    """The entities, each date, month and amount with what it means in `additional_info`
    (left out when the span cannot be read)."""
    from nlu_components.date_values import date_info, month_info

    result = []
    for entity in entities:
        reader = {"date": lambda v: date_info(v, today), "month": lambda v: month_info(v, today),
                  "amount": amount_info}.get(entity["entity"])
        info = reader(entity["value"]) if reader else None
        result.append({**entity, "additional_info": info} if info else entity)
    return result


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.ENTITY_EXTRACTOR, is_trainable=False
)
class PatternEntityExtractor(EntityExtractorMixin, GraphComponent):
    """Dates, amounts and references by pattern; replaces other extractors' spans of these."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> GraphComponent:
        return cls()

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            text = message.get(TEXT) or ""
            others = [e for e in message.get(ENTITIES, []) if e.get("entity") not in ENTITY_NAMES]
            ours = self.add_extractor_name(
                [{**e, "confidence_entity": 1.0}
                 for e in with_values(find_entities(text), london_today())])
            message.set(ENTITIES, sorted(others + ours, key=lambda e: e["start"]),
                        add_to_output=True)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data
