"""Leave and absence actions."""
from __future__ import annotations

import asyncio
from decimal import Decimal

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.errors import UnknownPrincipal
from bot.identity import Principal
from bot.leave import LeaveBalance, my_leave_balances

from . import services
from .base import Events, HelpdeskAction

LEAVE_TYPE_NAMES = {"annual": "annual leave", "flexi": "flexi leave", "privilege": "privilege leave"}


def _days(value: Decimal) -> str:
    number = f"{value.normalize():f}"
    return f"{number} day" if value == 1 else f"{number} days"


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


class ActionLeaveBalance(HelpdeskAction):
    def name(self) -> str:
        return "action_leave_balance"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        try:
            result = await asyncio.to_thread(
                my_leave_balances, services.database(), principal, services.today()
            )
        except UnknownPrincipal:
            dispatcher.utter_message(response="utter_not_recognised")
            return []
        if not result.balances:
            dispatcher.utter_message(response="utter_no_leave_entitlement")
            return []
        for balance in result.balances:
            dispatcher.utter_message(text=describe_balance(balance))
        return []
