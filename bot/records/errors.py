"""Domain exceptions of the records services (actions turn them into answers)."""

from __future__ import annotations

from enum import Enum
from typing import Any

from bot.errors import AccessRefused, HelpdeskError

__all__ = ["AccessRefused", "NotFound", "LeaveRefused", "LeaveRefusal", "InvalidRequest"]


class NotFound(HelpdeskError):
    """Nothing the caller may see matches (the same answer whether it exists elsewhere or not)."""


class InvalidRequest(HelpdeskError):
    """The request is malformed (e.g. a negative amount); `reason` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LeaveRefusal(str, Enum):
    IN_THE_PAST = "in_the_past"
    TOO_FAR_AHEAD = "too_far_ahead"
    END_BEFORE_START = "end_before_start"
    NO_WORKING_DAYS = "no_working_days"
    OVERLAP = "overlap"
    INSUFFICIENT_BALANCE = "insufficient_balance"
    NO_ENTITLEMENT = "no_entitlement"
    SPANS_LEAVE_YEARS = "spans_leave_years"
    NOT_CANCELLABLE = "not_cancellable"


class LeaveRefused(HelpdeskError):
    """A leave request that cannot be made, with the facts that explain why."""

    def __init__(self, reason: LeaveRefusal, **facts: Any) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.facts = facts
