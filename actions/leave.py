"""Leave and absence actions: balances (own, or a direct report's for a line manager),
request status, public holidays, sickness reports, and a manager's approvals."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from types import MappingProxyType

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.backoffice.types import BookingStatus
from bot.errors import AccessRefused
from bot.identity import Principal
from bot.leave import LeaveBalance, my_leave_balances
from bot.leave.booking import my_leave_requests
from bot.leave.holidays import my_holiday_facts
from bot.leave.periods import dates_asked_about
from bot.leave.team import decide_leave, pending_approvals, team_member_leave
from bot.records.enums import NoticeKind
from bot.records.errors import InvalidRequest
from bot.records.notifications import claim
from bot.records.sickness import report_sickness

from . import services
from .base import Events
from .records_common import (
    RecordsAction,
    date,
    days,
    entity,
    mentions,
    short_date,
    text_of,
    turn_key,
)

LEAVE_TYPE_NAMES = {
    "annual": "annual leave",
    "flexi": "flexi leave",
    "privilege": "privilege leave",
}
STATUS_WORDS = {
    BookingStatus.PENDING: "waiting for your line manager to approve it",
    BookingStatus.APPROVED: "approved",
    BookingStatus.REJECTED: "rejected",
    BookingStatus.CANCELLED: "cancelled",
}


def _days(value: Decimal) -> str:
    return days(value)


def describe_balance(balance: LeaveBalance) -> str:
    """One balance as a sentence an employee reads at a glance."""
    name = LEAVE_TYPE_NAMES.get(balance.leave_type.value, balance.leave_type.value)
    parts = [f"You have {_days(balance.remaining)} of {name} left"]
    parts.append(
        f" for the leave year {balance.year_start:%-d %B %Y} to {balance.year_end:%-d %B %Y}. "
        f"Your entitlement is {_days(balance.entitlement)}: "
        f"{_days(balance.taken)} taken, {_days(balance.booked)} booked"
    )
    if balance.pending:
        parts.append(f" and {_days(balance.pending)} awaiting approval")
    return "".join(parts) + "."


def _wanted_type(tracker: Tracker) -> str | None:
    value = (entity(tracker, "leave_type") or "").lower()
    return value if value in LEAVE_TYPE_NAMES else None


class ActionLeaveBalance(RecordsAction):
    """The caller's balances; a line manager may name a direct report (the only exception)."""

    record_type = "leave_balance"
    # The only record one may ask about for someone else: a direct report's leave.
    refusal_responses = MappingProxyType({AccessRefused: "utter_leave_not_your_report"})

    def name(self) -> str:
        return "action_leave_balance"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        about = mentions(tracker)
        if about:
            return await self._report(dispatcher, principal, about[0])
        result = await self.call(
            dispatcher, my_leave_balances, services.database(), principal, services.today()
        )
        if result is None:
            return []
        if not result.balances:
            dispatcher.utter_message(response="utter_no_leave_entitlement")
            return []
        wanted = _wanted_type(tracker)
        chosen = [b for b in result.balances if b.leave_type.value == wanted] or result.balances
        for balance in chosen:
            dispatcher.utter_message(text=describe_balance(balance))
        return []

    async def _report(
        self, dispatcher: CollectingDispatcher, principal: Principal, mention: str
    ) -> Events:
        found = await self.call(
            dispatcher, team_member_leave, services.database(), principal, mention,
            services.today(),
        )
        if found is None:
            return []
        name, balances, upcoming = found
        if not balances:
            dispatcher.utter_message(
                text=f"{name} has no leave entitlement recorded for this leave year."
            )
        for balance in balances:
            kind = LEAVE_TYPE_NAMES.get(balance.leave_type.value, balance.leave_type.value)
            dispatcher.utter_message(
                text=f"{name} has {_days(balance.remaining)} of {kind} left ({_days(balance.taken)} "
                f"taken, {_days(balance.booked)} booked, {_days(balance.pending)} awaiting approval)."
            )
        if upcoming:
            listed = "; ".join(
                f"{short_date(b.start_date)} to {short_date(b.end_date)} "
                f"({_days(b.days)}, {b.status.value})"
                for b in upcoming[:5]
            )
            dispatcher.utter_message(text=f"Coming up: {listed}.")
        return []


class ActionLeaveRequestStatus(RecordsAction):
    record_type = "leave_booking"

    def name(self) -> str:
        return "action_leave_request_status"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        today = services.today()
        around = dates_asked_about(text_of(tracker), today)
        if not mentions(tracker):  # decisions are in the statuses below; anything else is said
            notices = await self.call(dispatcher, claim, services.database(), principal)
            if notices is None:
                return []
            for notice in notices:
                if notice.kind is not NoticeKind.LEAVE_DECIDED:
                    dispatcher.utter_message(
                        text=notice.text, buttons=decision_buttons(notice.decision_reference)
                    )
        result = await self.call(
            dispatcher,
            my_leave_requests,
            services.database(),
            principal,
            today,
            around,
            about=mentions(tracker),
        )
        if result is None:
            return []
        if not result.bookings:
            dispatcher.utter_message(
                response="utter_no_leave_requests_found" if around else "utter_no_leave_requests"
            )
            return []
        for booking in result.bookings[:5]:
            kind = LEAVE_TYPE_NAMES.get(booking.leave_type.value, booking.leave_type.value)
            span = (
                date(booking.start_date)
                if booking.start_date == booking.end_date
                else f"{date(booking.start_date)} to {date(booking.end_date)}"
            )
            dispatcher.utter_message(
                text=f"Your {kind} {span} ({_days(booking.days)}) is {STATUS_WORDS[booking.status]}."
            )
        return []


class ActionPublicHolidays(RecordsAction):
    record_type = "work_region"

    def name(self) -> str:
        return "action_public_holidays"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        today = services.today()

        result = await self.call(
            dispatcher, my_holiday_facts, services.database(), principal, today,
            about=mentions(tracker),
        )
        if result is None:
            return []
        listed = "; ".join(
            f"{h.title}, {date(h.date)}" + (" (substitute day)" if h.notes else "")
            for h in result.upcoming
        )
        dispatcher.utter_message(
            text=f"The next bank holidays in {result.region_name} (where you work) are: {listed}."
        )
        if result.privilege:
            dispatcher.utter_message(
                text=f"You also have {_days(result.privilege[0].days)} of privilege leave this "
                'leave year; book it like annual leave ("book my privilege day").'
            )
        if result.data_as_of:
            dispatcher.utter_message(text=f"(Bank holiday data as of {result.data_as_of}.)")
        return []


class ActionSicknessReport(RecordsAction):
    record_type = "sickness"

    def name(self) -> str:
        return "action_sickness_report"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        today = services.today()
        text = text_of(tracker).lower()
        start = (
            today - dt.timedelta(days=1)
            if re.search(r"\bsince yesterday|yesterday\b", text)
            else today
        )
        try:
            report = await self.call(
                dispatcher, report_sickness, services.database(), principal, start, today,
                turn_key(tracker, "sickness"),
            )
        except InvalidRequest as error:
            dispatcher.utter_message(text=f"I couldn't record that: {error.reason}.")
            return []
        if report is None:
            return []
        if report.already_open:
            dispatcher.utter_message(
                text=f"You already have a sickness absence open from {date(report.start)}. "
                "Tell me when you're back, or your line manager can close it."
            )
            return []
        manager = report.manager_name or "your line manager"
        dispatcher.utter_message(
            text=f"Sorry you're unwell. I've recorded sickness absence from {date(report.start)} "
            f"and it's now on your record for {manager} to see. Please also contact "
            f"{manager} directly today, as your department's attendance policy asks."
        )
        dispatcher.utter_message(response="utter_sickness_fit_note")
        await self.notify(report.notify_conversation)
        return []


class ActionLeaveApprovals(RecordsAction):
    record_type = "leave_approvals"

    def name(self) -> str:
        return "action_leave_approvals"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        notices = await self.call(dispatcher, claim, services.database(), principal)
        if notices is None:
            return []
        for notice in notices:
            if notice.decision_reference is None:  # requests are in the list below
                dispatcher.utter_message(text=notice.text)
        pending = await self.call(dispatcher, pending_approvals, services.database(), principal)
        if pending is None:
            return []
        if not pending:
            dispatcher.utter_message(response="utter_no_leave_to_approve")
            return []
        for item in pending[:5]:
            kind = LEAVE_TYPE_NAMES.get(item.leave_type.value, item.leave_type.value)
            dispatcher.utter_message(
                text=f"{item.employee_name}: {kind}, {date(item.start)} to {date(item.end)} ({_days(item.days)}).",
                buttons=decision_buttons(item.button_reference),
            )
        return []


class ActionLeaveDecision(RecordsAction):
    """Approve or reject from a button. The booking id is only a parameter: the service checks
    that it is a pending booking of one of the caller's own direct reports."""

    record_type = "leave_approvals"

    def name(self) -> str:
        return "action_leave_decision"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        booking = entity(tracker, "booking_id") or ""
        decision = (entity(tracker, "decision") or "").lower()
        if not booking or decision not in ("approve", "reject"):
            dispatcher.utter_message(response="utter_leave_decision_how")
            return []
        result = await self.call(
            dispatcher,
            decide_leave,
            services.database(),
            principal,
            booking,
            decision == "approve",
            services.today(),
        )
        if result is None:
            return []
        dispatcher.utter_message(
            text=f"Done: {result.employee_name}'s leave from {date(result.start)} to {date(result.end)} "
            f"is {'approved' if decision == 'approve' else 'rejected'}. I'll let them know in their chat."
        )
        await self.notify(result.notify_conversation)
        return []


class ActionRecordsNotify(RecordsAction):
    """Run by Rasa's HTTP API in a recipient's conversation (bot/records/notifications.py):
    says the notices waiting for the verified caller of this conversation, once each."""

    record_type = "notification"

    def name(self) -> str:
        return "action_records_notify"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        notices = await self.call(dispatcher, claim, services.database(), principal)
        for notice in notices or []:
            dispatcher.utter_message(
                text=notice.text, buttons=decision_buttons(notice.decision_reference)
            )
        return []


def decision_buttons(booking_id: str | None) -> list[dict[str, str]]:
    if booking_id is None:
        return []
    return [
        {
            "title": "Approve",
            "payload": f'/leave_decision{{"booking_id": "{booking_id}", "decision": "approve"}}',
        },
        {
            "title": "Reject",
            "payload": f'/leave_decision{{"booking_id": "{booking_id}", "decision": "reject"}}',
        },
    ]
