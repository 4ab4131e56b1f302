"""Submitting an expense claim as a form: type, date, amount (or miles), description, yes."""

from __future__ import annotations

import datetime as dt
import logging
import re
from decimal import Decimal, InvalidOperation
from typing import Any, Dict, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from bot.backoffice.types import ClaimLine, ExpenseType
from bot.identity import Principal
from bot.records.dates import DateNotUnderstood, parse_past_date
from bot.records.errors import InvalidRequest
from bot.records.expenses import (
    CLAIM_WINDOW_DAYS,
    MILEAGE_RATE_PENCE,
    check_line,
    submit_expense_claim,
)
from bot.records.money import parse_pounds, pounds

from . import services
from .base import Events, SafeFormValidation
from .records_common import RecordsAction, date, text_of, turn_key

logger = logging.getLogger(__name__)

EXPENSE_SLOTS = (
    "expense_type",
    "expense_date",
    "expense_amount",
    "expense_description",
    "expense_confirmed",
)
TYPE_WORDS = (
    (ExpenseType.MILEAGE, re.compile(r"mileage|miles|drove|driving|my car|own car", re.I)),
    (ExpenseType.ACCOMMODATION, re.compile(r"hotel|accommodation|overnight|b ?& ?b|stayed", re.I)),
    (
        ExpenseType.SUBSISTENCE,
        re.compile(r"subsistence|lunch|dinner|breakfast|meal|food|sandwich", re.I),
    ),
    (
        ExpenseType.TRAVEL,
        re.compile(
            r"train|rail|taxi|cab|bus|coach|flight|fare|tube|ferry|travel|parking|ticket", re.I
        ),
    ),
    (ExpenseType.OTHER, re.compile(r"\bother\b|eye test|stationery|equipment", re.I)),
)
MILES = re.compile(r"(\d+(?:\.\d)?)\s*(?:miles?|mi)?\b", re.I)


def expense_type_in(text: str) -> ExpenseType | None:
    for kind, pattern in TYPE_WORDS:
        if pattern.search(text or ""):
            return kind
    return None


def _intent(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


class ValidateExpenseClaimForm(SafeFormValidation, FormValidationAction):
    def name(self) -> Text:
        return "validate_expense_claim_form"

    async def _requested_text(self, tracker: Tracker, slot: str) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") == slot and _intent(tracker) != "stop":
            return {slot: text_of(tracker)}
        return {}

    async def extract_expense_type(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        requested = tracker.get_slot("requested_slot")
        if _intent(tracker) == "stop":
            return {}
        if requested == "expense_type" or (
            requested is None and not tracker.get_slot("expense_type")
        ):
            kind = expense_type_in(text_of(tracker))
            return {"expense_type": kind.value if kind else "unknown"}
        return {}

    async def extract_expense_date(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return await self._requested_text(tracker, "expense_date")

    async def extract_expense_amount(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return await self._requested_text(tracker, "expense_amount")

    async def extract_expense_description(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return await self._requested_text(tracker, "expense_description")

    async def extract_expense_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "expense_confirmed":
            return {}
        return {"affirm": {"expense_confirmed": "yes"}, "deny": {"expense_confirmed": "no"}}.get(
            _intent(tracker) or "", {}
        )

    async def validate_expense_type(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value in {k.value for k in ExpenseType}:
            return {"expense_type": value}
        if tracker.get_slot("requested_slot") == "expense_type":
            dispatcher.utter_message(response="utter_expense_type_unclear")
        return {"expense_type": None}

    async def validate_expense_date(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        today = services.today()
        try:
            day = parse_past_date(str(value), today)
        except DateNotUnderstood:
            dispatcher.utter_message(response="utter_expense_date_unclear")
            return {"expense_date": None}
        if day > today or day < today - dt.timedelta(days=CLAIM_WINDOW_DAYS):
            dispatcher.utter_message(
                text=f"Expenses can be claimed for the last {CLAIM_WINDOW_DAYS} days, "
                "and not in advance. Which date was it?"
            )
            return {"expense_date": None}
        return {"expense_date": day.isoformat()}

    async def validate_expense_amount(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = str(value)
        if tracker.get_slot("expense_type") == ExpenseType.MILEAGE.value:
            match = MILES.search(text)
            try:
                miles = Decimal(match.group(1)) if match else None
            except InvalidOperation:
                miles = None
            if miles is None or not 0 < miles <= 1000:
                dispatcher.utter_message(text='How many business miles? For example "84 miles".')
                return {"expense_amount": None}
            dispatcher.utter_message(
                text=f"{miles} miles at {MILEAGE_RATE_PENCE}p a mile is "
                f"{pounds(int(miles * MILEAGE_RATE_PENCE))}."
            )
            return {"expense_amount": f"miles:{miles}"}
        pence = parse_pounds(text)
        if pence is None or not 0 < pence <= 500_000:
            dispatcher.utter_message(response="utter_expense_amount_unclear")
            return {"expense_amount": None}
        return {"expense_amount": f"pence:{pence}"}

    async def validate_expense_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        text = " ".join(str(value).split())
        if len(text) < 3:
            dispatcher.utter_message(response="utter_expense_description_short")
            return {"expense_description": None}
        line = _line(tracker, description=text)
        if line is not None:
            dispatcher.utter_message(
                text=f"{line.expense_type.value.capitalize()} on {date(line.incurred_on)}: {text[:200]}, "
                f"{pounds(line.amount)}."
            )
        return {"expense_description": text[:200]}

    async def validate_expense_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {"expense_confirmed": value if value in ("yes", "no") else None}


def _line(tracker: Tracker, description: str | None = None) -> ClaimLine | None:
    kind, day, amount = (
        tracker.get_slot("expense_type"),
        tracker.get_slot("expense_date"),
        tracker.get_slot("expense_amount") or "",
    )
    if not kind or not day or ":" not in amount:
        return None
    unit, number = amount.split(":", 1)
    line = ClaimLine(
        ExpenseType(kind),
        dt.date.fromisoformat(day),
        description or tracker.get_slot("expense_description") or "",
        int(number) if unit == "pence" else 0,
        Decimal(number) if unit == "miles" else None,
    )
    try:
        return check_line(line, services.today())
    except InvalidRequest:
        return None


class ActionExpenseClaimSubmit(RecordsAction):
    record_type = "expense_claim"

    def name(self) -> str:
        return "action_expense_claim_submit"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        reset = [SlotSet(slot, None) for slot in EXPENSE_SLOTS]
        line = _line(tracker)
        if tracker.get_slot("expense_confirmed") != "yes" or line is None:
            dispatcher.utter_message(response="utter_expense_not_submitted")
            return reset
        try:
            claim = await self.call(
                dispatcher,
                submit_expense_claim,
                services.database(),
                principal,
                [line],
                services.today(),
                turn_key(tracker, "expense_claim"),
            )
        except InvalidRequest as error:
            dispatcher.utter_message(text=f"Sorry, {error.reason}. Nothing has been submitted.")
            return reset
        if claim is not None:
            dispatcher.utter_message(
                text=f"Submitted: claim {claim.reference} for {pounds(claim.total)} has gone to your line "
                "manager for approval. Keep your receipt: you may be asked for it."
            )
        return reset

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Events:
        events = await super().run(dispatcher, tracker, domain)
        return events or [SlotSet(slot, None) for slot in EXPENSE_SLOTS]
