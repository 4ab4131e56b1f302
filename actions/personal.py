"""Personal details: changing contact details in chat, and the bank-account route (never in chat)."""

from __future__ import annotations

import logging
import re
from typing import Any, Dict, Text

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from bot.identity import Principal
from bot.records.errors import InvalidRequest
from bot.records.personal_details import bank_account_route, parse_change, update_my_details

from . import services
from .base import Events, SafeFormValidation
from .records_common import RecordsAction, mentions, text_of, turn_key

logger = logging.getLogger(__name__)

DETAIL_SLOTS = ("details_field", "details_value", "details_confirmed")
FIELD_WORDS = (
    ("emergency_contact", re.compile(r"emergency|next of kin|\bnok\b", re.I)),
    ("bank", re.compile(r"\bbank|sort code|account number|building society", re.I)),
    (
        "legal_name",
        re.compile(
            r"\b(surname|last name|married|maiden|deed poll|legal name|change (of|my) name)\b", re.I
        ),
    ),
    ("preferred_name", re.compile(r"preferred name|known as|call me|name I use", re.I)),
    ("phone", re.compile(r"phone|mobile|number|contact number", re.I)),
    ("address", re.compile(r"address|moved|moving|house|flat|postcode|home", re.I)),
)
FIELD_NAMES = {
    "address": "home address",
    "phone": "phone number",
    "emergency_contact": "emergency contact",
    "preferred_name": "preferred name",
}


def field_in(text: str) -> str | None:
    for field, pattern in FIELD_WORDS:
        if pattern.search(text or ""):
            return field
    return None


class ActionSalaryBankAccount(RecordsAction):
    """Explains the secure route for changing the salary account; shows only its last 4 digits."""

    record_type = "bank_account"

    def name(self) -> str:
        return "action_salary_bank_account"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        route = await self.call(
            dispatcher, bank_account_route, services.database(), principal, about=mentions(tracker)
        )
        if route is None:
            return []
        if route.last4:
            dispatcher.utter_message(
                text=f"Your pay currently goes into the account ending {route.last4}."
            )
        dispatcher.utter_message(response="utter_bank_account_route")
        return []


def _intent(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


class ValidatePersonalDetailsForm(SafeFormValidation, FormValidationAction):
    def name(self) -> Text:
        return "validate_personal_details_form"

    async def extract_details_field(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        requested, intent = tracker.get_slot("requested_slot"), _intent(tracker)
        if intent == "stop":
            return {}
        if requested == "details_field" or (
            requested is None and not tracker.get_slot("details_field")
        ):
            return {"details_field": field_in(text_of(tracker)) or "unknown"}
        return {}

    async def extract_details_value(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "details_value" or _intent(tracker) == "stop":
            return {}
        return {"details_value": text_of(tracker)}

    async def extract_details_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "details_confirmed":
            return {}
        return {"affirm": {"details_confirmed": "yes"}, "deny": {"details_confirmed": "no"}}.get(
            _intent(tracker) or "", {}
        )

    async def validate_details_field(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value in FIELD_NAMES or value == "-":
            return {"details_field": value}
        if value == "bank":
            dispatcher.utter_message(response="utter_bank_account_route")
            return {"details_field": "-", "details_value": "-", "details_confirmed": "no"}
        if value == "legal_name":
            dispatcher.utter_message(response="utter_legal_name_change")
            return {"details_field": "-", "details_value": "-", "details_confirmed": "no"}
        if tracker.get_slot("requested_slot") == "details_field":
            dispatcher.utter_message(response="utter_details_field_unclear")
        return {"details_field": None}

    async def validate_details_value(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value == "-":
            return {"details_value": value}
        field = tracker.get_slot("details_field")
        try:
            parse_change(field, str(value))
        except InvalidRequest as error:
            dispatcher.utter_message(text=f"Sorry, {error.reason}.")
            return {"details_value": None}
        dispatcher.utter_message(text=f"New {FIELD_NAMES[field]}: {' '.join(str(value).split())}")
        return {"details_value": value}

    async def validate_details_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        return {"details_confirmed": value if value in ("yes", "no") else None}


class ActionPersonalDetailsSubmit(RecordsAction):
    record_type = "personal_details"

    def name(self) -> str:
        return "action_personal_details_submit"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        reset = [SlotSet(slot, None) for slot in DETAIL_SLOTS]
        field, value = tracker.get_slot("details_field"), tracker.get_slot("details_value")
        if tracker.get_slot("details_confirmed") != "yes" or field not in FIELD_NAMES:
            if field != "-":
                dispatcher.utter_message(response="utter_details_not_changed")
            return reset
        try:
            changed = await self.call(
                dispatcher, update_my_details, services.database(), principal, field, str(value),
                turn_key(tracker, "personal_details"),
            )
        except InvalidRequest as error:
            dispatcher.utter_message(text=f"Sorry, {error.reason}. Nothing has been changed.")
            return reset
        if changed is not None:
            dispatcher.utter_message(
                text=f"Done: your {FIELD_NAMES[field]} is updated on your HR record."
            )
        return reset

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Events:
        events = await super().run(dispatcher, tracker, domain)
        return events or [SlotSet(slot, None) for slot in DETAIL_SLOTS]
