"""Leave and absence actions: balances (own, or a direct report's for a line manager),
request status, public holidays, sickness reports, and a manager's approvals."""

from __future__ import annotations

import asyncio
import datetime as dt
import re
from decimal import Decimal

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.bank_holidays import DIVISION_NAMES
from bot.bank_holidays import load as load_bank_holidays
from bot.errors import AccessRefused, UnknownPrincipal
from bot.identity import Principal
from bot.leave import LeaveBalance, my_leave_balances
from bot.records.access import read_own
from bot.records.dates import DateNotUnderstood, DateRange, parse_leave_dates, parse_month
from bot.records.errors import InvalidRequest
from bot.records.leave_booking import (
    decide_leave,
    my_leave_requests,
    pending_approvals,
    team_member_leave,
)
from bot.records.models import NoticeKind
from bot.records.notifications import claim
from bot.records.port import open_backoffice
from bot.records.sickness import report_sickness
from bot.storage.models import BookingStatus

from . import services
from .base import Events
from .records_common import RecordsAction, date, days, entity, mentions, short_date, text_of

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
HOLIDAY_WORDS = {
    "easter": ("Good Friday", "Easter Monday"),
    "christmas": ("Christmas Day", "Boxing Day"),
    "new year": ("New Year’s Day",),
    "may": ("Early May bank holiday",),
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

    def name(self) -> str:
        return "action_leave_balance"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        about = mentions(tracker)
        try:
            if about:
                return await self._report(dispatcher, principal, about[0])
            result = await asyncio.to_thread(
                my_leave_balances, services.database(), principal, services.today()
            )
        except UnknownPrincipal:
            dispatcher.utter_message(response="utter_not_recognised")
            return []
        except AccessRefused:
            dispatcher.utter_message(response="utter_leave_not_your_report")
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
        name, balances, upcoming = await asyncio.to_thread(
            team_member_leave, services.database(), principal, mention, services.today()
        )
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


def dates_in(text: str, today: dt.date) -> DateRange | None:
    """Dates the employee named, or the span of a named bank holiday ("Easter"), or None."""
    lowered = text.lower()
    for word, titles in HOLIDAY_WORDS.items():
        if re.search(rf"\b{word}\b", lowered):
            found = [
                h
                for h in load_bank_holidays().holidays_in(
                    "england-and-wales", today, today + dt.timedelta(days=366)
                )
                if h.title in titles
            ]
            if found:
                return DateRange(
                    found[0].date - dt.timedelta(days=7), found[-1].date + dt.timedelta(days=7)
                )
    try:
        return parse_leave_dates(text, today)
    except DateNotUnderstood:
        return parse_month(text, today)


class ActionLeaveRequestStatus(RecordsAction):
    record_type = "leave_booking"

    def name(self) -> str:
        return "action_leave_request_status"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        today = services.today()
        around = dates_in(text_of(tracker), today)
        if not mentions(tracker):  # decisions are in the statuses below; anything else is said
            notices = await self.call(dispatcher, claim, services.database(), principal)
            if notices is None:
                return []
            for notice in notices:
                if notice.kind is not NoticeKind.LEAVE_DECIDED:
                    dispatcher.utter_message(
                        text=notice.text, buttons=decision_buttons(notice.booking_id)
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

        def read(session, me):  # type: ignore[no-untyped-def]
            office = open_backoffice(session)
            employment = office.employment(me.id)
            privilege = [
                e
                for e in office.entitlements(me.id)
                if e.leave_type.value == "privilege" and e.year_start <= today <= e.year_end
            ]
            return (employment.region if employment else "england-and-wales", privilege)

        result = await self.call(
            dispatcher,
            read_own,
            services.database(),
            principal,
            self.record_type,
            read,
            about=mentions(tracker),
        )
        if result is None:
            return []
        region, privilege = result
        calendar = load_bank_holidays()
        upcoming = calendar.upcoming(region, today, count=4)
        listed = "; ".join(
            f"{h.title}, {date(h.date)}" + (" (substitute day)" if h.notes else "")
            for h in upcoming
        )
        dispatcher.utter_message(
            text=f"The next bank holidays in {DIVISION_NAMES[region]} (where you work) are: {listed}."
        )
        if privilege:
            dispatcher.utter_message(
                text=f"You also have {_days(privilege[0].days)} of privilege leave this leave year; "
                'book it like annual leave ("book my privilege day").'
            )
        source = calendar.metadata.get("fetched_at") or calendar.metadata.get("generated_on")
        if source:
            dispatcher.utter_message(text=f"(Bank holiday data as of {source[:10]}.)")
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
                dispatcher, report_sickness, services.database(), principal, start, today
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
            if notice.booking_id is None:  # requests are in the list below
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
                buttons=decision_buttons(item.booking_id),
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
        if not booking.isdigit() or decision not in ("approve", "reject"):
            dispatcher.utter_message(response="utter_leave_decision_how")
            return []
        result = await self.call(
            dispatcher,
            decide_leave,
            services.database(),
            principal,
            int(booking),
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
            dispatcher.utter_message(text=notice.text, buttons=decision_buttons(notice.booking_id))
        return []


def decision_buttons(booking_id: int | None) -> list[dict[str, str]]:
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
