"""Booking and cancelling leave as Rasa forms, with validation and an explicit confirmation.

leave_request_form asks for the dates (understood from the words people use; see
bot.records.dates), works out the working days on the employee's own pattern and region,
refuses overlaps and over-balance requests with the reason, shows a summary and waits for a
yes. While it waits, a new date ("actually make that the 8th") corrects the request and shows
the summary again; "no" books nothing; "stop" (cancel) ends the form from any step.

Slots are filled here (custom mappings), never by global entity mappings, so nothing typed in
an earlier turn changes a later request. The principal comes from the connector's metadata.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Dict, List, Text

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from bot.backoffice.types import BookingStatus, LeaveType
from bot.identity import Principal
from bot.leave.booking import LeaveQuote, book_leave, cancel_leave, cancellable, quote_leave
from bot.leave.periods import dates_asked_about
from bot.records.dates import DateNotUnderstood, DateRange, apply_correction, parse_leave_dates
from bot.records.errors import LeaveRefusal, LeaveRefused, NotFound

from . import services
from .base import Events, SafeFormValidation, answer_failure, verified_principal
from .leave import LEAVE_TYPE_NAMES
from .records_common import (
    RecordsAction,
    date,
    days,
    entity,
    mentions,
    run_service,
    text_of,
    turn_key,
)


FORM_SLOTS = (
    "leave_dates",
    "leave_type",
    "leave_start",
    "leave_end",
    "leave_half_day",
    "leave_confirmed",
)
CANCEL_SLOTS = ("leave_cancel_booking", "leave_cancel_confirmed")
YES, NO = "yes", "no"


def _intent(tracker: Tracker) -> str | None:
    return ((tracker.latest_message or {}).get("intent") or {}).get("name")


def _leave_type(tracker: Tracker) -> LeaveType:
    value = (entity(tracker, "leave_type") or tracker.get_slot("leave_type") or "annual").lower()
    return LeaveType(value) if value in LEAVE_TYPE_NAMES else LeaveType.ANNUAL


def _range_from_slots(tracker: Tracker) -> DateRange | None:
    start, end = tracker.get_slot("leave_start"), tracker.get_slot("leave_end")
    if not start or not end:
        return None
    return DateRange(
        dt.date.fromisoformat(start),
        dt.date.fromisoformat(end),
        tracker.get_slot("leave_half_day") or None,
    )


def describe_quote(quote: LeaveQuote) -> str:
    kind = LEAVE_TYPE_NAMES[quote.leave_type.value]
    if quote.start == quote.end:
        span = f"on {date(quote.start)}"
        if quote.half_day:
            span += {"morning": " (morning)", "afternoon": " (afternoon)"}.get(
                quote.half_day, " (half day)"
            )
    else:
        span = f"from {date(quote.start)} to {date(quote.end)}"
    text = f"{kind.capitalize()} {span}: {days(quote.days)} of leave"
    if quote.bank_holidays:
        text += (
            " ("
            + ", ".join(f"{d.day} {d:%B}" for d in quote.bank_holidays)
            + (" is a bank holiday" if len(quote.bank_holidays) == 1 else " are bank holidays")
            + ", not counted)"
        )
    text += (
        f". You'd have {days(quote.remaining_after)} of {kind} left until {date(quote.year_end)}."
    )
    if quote.manager_name:
        text += f" It goes to {quote.manager_name} for approval."
    return text


def describe_refusal(error: LeaveRefused) -> str:
    facts = error.facts
    reason = error.reason
    if reason is LeaveRefusal.IN_THE_PAST:
        return f"{date(facts['start'])} is in the past. For leave you've already taken, please ask your line manager to record it."
    if reason is LeaveRefusal.END_BEFORE_START:
        return "The end date is before the start date."
    if reason is LeaveRefusal.TOO_FAR_AHEAD:
        return "I can book leave up to 18 months ahead, and up to 60 days in one request."
    if reason is LeaveRefusal.NO_WORKING_DAYS:
        return "Those dates have no working days for you (weekends, days you don't work, or bank holidays), so there's nothing to book."
    if reason is LeaveRefusal.OVERLAP:
        kind = LEAVE_TYPE_NAMES[facts["leave_type"].value]
        status = "approved" if facts["status"] is BookingStatus.APPROVED else "waiting for approval"
        return (
            f"That overlaps your {kind} from {date(facts['start'])} to {date(facts['end'])}, "
            f"which is {status}. Cancel that first, or choose other dates."
        )
    if reason is LeaveRefusal.INSUFFICIENT_BALANCE:
        kind = LEAVE_TYPE_NAMES[facts["leave_type"].value]
        return (
            f"That needs {days(facts['requested'])} but you only have {days(facts['remaining'])} "
            f"of {kind} left this leave year."
        )
    if reason is LeaveRefusal.NO_ENTITLEMENT:
        return f"You don't have a {LEAVE_TYPE_NAMES[facts['leave_type'].value]} entitlement for that leave year."
    if reason is LeaveRefusal.SPANS_LEAVE_YEARS:
        return (
            f"Your leave year ends on {date(facts['year_end'])}: please book the days either "
            "side of it as two requests."
        )
    return "I can't book that."


class ValidateLeaveRequestForm(SafeFormValidation, FormValidationAction):
    def name(self) -> Text:
        return "validate_leave_request_form"

    async def extract_leave_dates(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        requested = tracker.get_slot("requested_slot")
        intent = _intent(tracker)
        if intent == "stop":
            return {}
        if requested == "leave_dates" or (
            requested is None
            and tracker.get_slot("leave_dates") is None
            and intent == "leave_request"
        ):
            return {"leave_dates": text_of(tracker)}
        return {}

    async def extract_leave_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "leave_confirmed":
            return {}
        intent = _intent(tracker)
        if intent == "stop":
            return {}
        if intent == "affirm":
            return {"leave_confirmed": YES}
        if intent == "deny":
            return {"leave_confirmed": NO}
        return {"leave_confirmed": "change: " + text_of(tracker)}

    async def _quote(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        principal: Principal,
        dates: DateRange,
    ) -> Dict[Text, Any]:
        leave_type = _leave_type(tracker)
        try:
            quote = await run_service(
                dispatcher,
                quote_leave,
                services.database(),
                principal,
                leave_type,
                dates,
                services.today(),
                about=mentions(tracker),
            )
        except LeaveRefused as error:
            dispatcher.utter_message(text=describe_refusal(error))
            return {
                "leave_dates": None,
                "leave_start": None,
                "leave_end": None,
                "leave_half_day": None,
            }
        dispatcher.utter_message(text=describe_quote(quote))
        return {
            "leave_dates": f"ok:{quote.start}/{quote.end}",
            "leave_type": leave_type.value,
            "leave_start": quote.start.isoformat(),
            "leave_end": quote.end.isoformat(),
            "leave_half_day": quote.half_day,
        }

    async def _guarded(
        self, dispatcher: CollectingDispatcher, slot: str, work: Any
    ) -> Dict[Text, Any]:
        try:
            return await work
        except Exception as error:
            answer_failure(dispatcher, self.name(), error)
        # end the form without booking anything
        return {"leave_dates": "-", "leave_confirmed": NO}

    async def validate_leave_dates(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value == "-" or (isinstance(value, str) and value.startswith("ok:")):
            return {"leave_dates": value}
        principal = verified_principal(tracker)
        if principal is None:
            dispatcher.utter_message(response="utter_not_recognised")
            return {"leave_dates": "-", "leave_confirmed": NO}
        try:
            dates = parse_leave_dates(str(value or ""), services.today())
        except DateNotUnderstood:
            if tracker.get_slot("requested_slot") == "leave_dates":
                dispatcher.utter_message(response="utter_leave_dates_not_understood")
            return {"leave_dates": None}
        return await self._guarded(
            dispatcher, "leave_dates", self._quote(dispatcher, tracker, principal, dates)
        )

    async def validate_leave_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if value in (YES, NO):
            return {"leave_confirmed": value}
        principal = verified_principal(tracker)
        current = _range_from_slots(tracker)
        if principal is None or current is None:
            return {"leave_confirmed": None}
        try:
            corrected = apply_correction(
                str(value).removeprefix("change: "), current, services.today()
            )
        except DateNotUnderstood:
            dispatcher.utter_message(response="utter_leave_confirm_unclear")
            return {"leave_confirmed": None}
        events = await self._guarded(
            dispatcher, "leave_confirmed", self._quote(dispatcher, tracker, principal, corrected)
        )
        events.setdefault("leave_confirmed", None)
        return events


def _reset(slots: tuple[str, ...]) -> List[EventType]:
    return [SlotSet(slot, None) for slot in slots]


class ActionLeaveRequestSubmit(RecordsAction):
    record_type = "leave_booking"

    def name(self) -> str:
        return "action_leave_request_submit"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        dates = _range_from_slots(tracker)
        if tracker.get_slot("leave_confirmed") != YES or dates is None:
            dispatcher.utter_message(response="utter_leave_not_booked")
            return _reset(FORM_SLOTS)
        try:
            booked = await self.call(
                dispatcher,
                book_leave,
                services.database(),
                principal,
                _leave_type(tracker),
                dates,
                services.today(),
                turn_key(tracker, "leave_booking"),
            )
        except LeaveRefused as error:  # something changed since the summary
            dispatcher.utter_message(text=describe_refusal(error) + " Nothing has been booked.")
            return _reset(FORM_SLOTS)
        if booked is not None:
            manager = booked.quote.manager_name or "your line manager"
            dispatcher.utter_message(
                text=f"Done: your request for {days(booked.quote.days)} from {date(booked.quote.start)} "
                f"to {date(booked.quote.end)} has gone to {manager} for approval. "
                'Ask me "has my leave been approved?" to check on it.'
            )
            await self.notify(booked.notify_conversation)
        return _reset(FORM_SLOTS)

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Events:
        events = await super().run(dispatcher, tracker, domain)
        return events or _reset(FORM_SLOTS)


class ActionRecordsFormCancelled(RecordsAction):
    """After "stop" in one of the records forms: nothing is changed, the forms' slots are cleared."""

    record_type = "records_form"

    def name(self) -> str:
        return "action_records_form_cancelled"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Events:
        from .expense_forms import EXPENSE_SLOTS
        from .personal import DETAIL_SLOTS

        dispatcher.utter_message(response="utter_records_form_cancelled")
        return _reset(FORM_SLOTS + CANCEL_SLOTS + DETAIL_SLOTS + EXPENSE_SLOTS)

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:  # pragma: no cover - run() is overridden
        return []


class ValidateLeaveCancelForm(SafeFormValidation, FormValidationAction):
    """Which booking to cancel (from the dates the employee names), then a yes."""

    def name(self) -> Text:
        return "validate_leave_cancel_form"

    async def extract_leave_cancel_booking(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        requested = tracker.get_slot("requested_slot")
        intent = _intent(tracker)
        if intent == "stop":
            return {}
        if requested == "leave_cancel_booking" or (
            requested is None
            and intent == "leave_cancel"
            and not tracker.get_slot("leave_cancel_booking")
        ):
            return {"leave_cancel_booking": "find: " + text_of(tracker)}
        return {}

    async def extract_leave_cancel_confirmed(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if tracker.get_slot("requested_slot") != "leave_cancel_confirmed":
            return {}
        intent = _intent(tracker)
        if intent == "affirm":
            return {"leave_cancel_confirmed": YES}
        if intent == "deny":
            return {"leave_cancel_confirmed": NO}
        return {}

    async def validate_leave_cancel_booking(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        if not isinstance(value, str) or not value.startswith("find: "):
            return {"leave_cancel_booking": value}
        principal = verified_principal(tracker)
        if principal is None:
            dispatcher.utter_message(response="utter_not_recognised")
            return {"leave_cancel_booking": "-", "leave_cancel_confirmed": NO}
        today = services.today()
        around = dates_asked_about(value.removeprefix("find: "), today)
        try:
            found = await run_service(
                dispatcher,
                cancellable, services.database(), principal, today, around
            )
        except Exception as error:
            answer_failure(dispatcher, self.name(), error)
            return {"leave_cancel_booking": "-", "leave_cancel_confirmed": NO}
        if len(found) == 1:
            booking = found[0]
            dispatcher.utter_message(
                text=f"Your {LEAVE_TYPE_NAMES[booking.leave_type.value]} from {date(booking.start_date)} "
                f"to {date(booking.end_date)} ({days(booking.days)}, {booking.status.value})."
            )
            return {"leave_cancel_booking": booking.reference}
        if not found:
            dispatcher.utter_message(response="utter_leave_cancel_nothing")
            return {"leave_cancel_booking": "-", "leave_cancel_confirmed": NO}
        listed = "; ".join(f"{date(b.start_date)} to {date(b.end_date)}" for b in found[:5])
        dispatcher.utter_message(
            text=f"You have several bookings that could be cancelled: {listed}."
        )
        return {"leave_cancel_booking": None}


def _is_reference(value: str) -> bool:
    """A booking reference as the absence system names it (never "-", the form's "none")."""
    return 0 < len(value) <= 64 and all(c.isalnum() or c in "-_" for c in value) and value != "-"


class ActionLeaveCancelSubmit(RecordsAction):
    record_type = "leave_booking"

    def name(self) -> str:
        return "action_leave_cancel_submit"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        booking = tracker.get_slot("leave_cancel_booking") or ""
        if tracker.get_slot("leave_cancel_confirmed") != YES or not _is_reference(booking):
            if booking != "-":
                dispatcher.utter_message(response="utter_leave_cancel_kept")
            return _reset(CANCEL_SLOTS)
        try:
            cancelled = await self.call(
                dispatcher,
                cancel_leave,
                services.database(),
                principal,
                booking,
                services.today(),
                turn_key(tracker, "leave_cancel"),
            )
        except NotFound:
            dispatcher.utter_message(response="utter_leave_cancel_nothing")
            return _reset(CANCEL_SLOTS)
        if cancelled is not None:
            dispatcher.utter_message(
                text=f"Cancelled: your leave from {date(cancelled.start_date)} to {date(cancelled.end_date)}. "
                f"{days(cancelled.days)} {'has' if cancelled.days == 1 else 'have'} gone back into your balance."
            )
        return _reset(CANCEL_SLOTS)
