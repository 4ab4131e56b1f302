"""Which queue a conversation goes to, whether anyone can take it now, and how long it may take.

Pure functions (plus `helpdesk_open`, which needs a clock): no database.

- Skill: an explicit choice (an action that refers the case), else what the employee said
  ("can I speak to someone in payroll"), else the topic of their recent questions (intents),
  else HR.
- Open: `HANDOFF_HOURS=business` follows the business calendar (bot/business_calendar.py:
  Mon-Fri 09:00-17:00 Europe/London less bank holidays by default); `always` is a 24/7 desk.
- Wait: ceil(position / agents online for the skill) x the average handling time of recent
  conversations of that skill (6 minutes until there is history).
"""
from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence

from bot.business_calendar import BusinessCalendar, calendar_from_settings
from bot.config import Settings
from bot.tickets.categories import classify_category
from bot.tickets.enums import ServiceLine

DEFAULT_SKILL = ServiceLine.HR
DEFAULT_HANDLING_MINUTES = 6.0
MIN_HANDLING_MINUTES, MAX_HANDLING_MINUTES = 2.0, 30.0

INTENT_SKILLS: dict[str, ServiceLine] = {
    **{name: ServiceLine.HR for name in (
        "leave_balance", "leave_request", "leave_request_status", "leave_cancel",
        "sickness_report", "public_holidays", "personal_details_update", "benefits_info")},
    **{name: ServiceLine.PAYROLL for name in (
        "payslip", "pay_date", "salary_info", "tax_question", "annual_tax_statement",
        "salary_bank_account")},
    "pension_question": ServiceLine.PENSIONS,
    **{name: ServiceLine.FINANCE for name in (
        "expense_claim_status", "expense_claim_submit", "purchase_order_status",
        "invoice_status")},
    "account_locked": ServiceLine.ACCESS,
}

SKILL_TEAMS = {
    ServiceLine.HR: "HR",
    ServiceLine.PAYROLL: "payroll",
    ServiceLine.PENSIONS: "pensions",
    ServiceLine.FINANCE: "finance",
    ServiceLine.ACCESS: "system access",
}


def parse_skill(value: object) -> ServiceLine | None:
    if not isinstance(value, str):
        return None
    try:
        return ServiceLine(value.strip().lower())
    except ValueError:
        return None


def infer_skill(explicit: object, user_messages: Sequence[str],
                intents: Sequence[str]) -> ServiceLine:
    """The queue for a conversation (messages and intents oldest first)."""
    chosen = parse_skill(explicit)
    if chosen is not None:
        return chosen
    for text in reversed(user_messages[-3:]):
        found = classify_category(text or "")
        if found is not None:
            return found
    for intent in reversed(intents):
        found = INTENT_SKILLS.get((intent or "").split("/", 1)[0])
        if found is not None:
            return found
    return DEFAULT_SKILL


def calendar(settings: Settings) -> BusinessCalendar:
    return calendar_from_settings(settings.business_timezone, settings.business_hours,
                                  settings.bank_holiday_region)


def helpdesk_open(settings: Settings, now: dt.datetime) -> bool:
    """Is the helpdesk staffed at `now` (timezone-aware)?"""
    if settings.handoff_hours == "always":
        return True
    cal = calendar(settings)
    local = now.astimezone(cal.zone)
    return cal.is_working_day(local.date()) and cal.opens <= local.time() < cal.closes


def opening_hours_text(settings: Settings) -> str:
    if settings.handoff_hours == "always":
        return "at any time"
    cal = calendar(settings)
    return (f"Monday to Friday, {cal.opens:%H:%M} to {cal.closes:%H:%M} "
            "(not on bank holidays)")


def average_handling_minutes(durations: Iterable[dt.timedelta]) -> float:
    values = [d.total_seconds() / 60 for d in durations if d.total_seconds() > 0]
    if not values:
        return DEFAULT_HANDLING_MINUTES
    return min(MAX_HANDLING_MINUTES, max(MIN_HANDLING_MINUTES, sum(values) / len(values)))


def estimate_wait_minutes(position: int, agents_online: int,
                          handling_minutes: float) -> int | None:
    """Minutes until an agent is likely to pick this conversation up; None: nobody online."""
    if agents_online <= 0:
        return None
    rounds = math.ceil(position / agents_online)
    # The first in line waits for the next agent to finish, on average half a conversation.
    minutes = (rounds - 0.5) * handling_minutes
    return max(1, math.ceil(minutes))


def is_material_change(told_position: int | None, told_wait: int | None,
                       position: int, wait: int | None) -> bool:
    """Is the queue news worth a message to the employee?

    Moving up is told when it brings them into the last three, or when the estimate moves by
    at least 2 minutes and a quarter; a longer estimate is told on the same terms; losing
    every available agent is always told.
    """
    if told_position is None:
        return True
    if (wait is None) != (told_wait is None):
        return True
    if position == told_position and wait == told_wait:
        return False
    if position < told_position and position <= 3:
        return True
    if wait is None or told_wait is None:
        return False
    return abs(wait - told_wait) >= max(2, math.ceil(0.25 * told_wait))
