"""Ticket errors; actions and the console translate them into words."""
from __future__ import annotations

from bot.errors import AccessRefused, HelpdeskError


class TicketNotFound(HelpdeskError):
    """No ticket has this reference."""


class NotYourTicket(AccessRefused):
    """The ticket exists but belongs to someone else (refused and audited)."""


class TicketNotEligible(AccessRefused):
    """The ticket belongs to a team (service line, department) the agent does not work;
    refused and audited (`bot.tickets.agent`)."""

    def __init__(self, subject_employee_id: int) -> None:
        super().__init__("ticket")
        self.subject_employee_id = subject_employee_id


class InvalidTicket(HelpdeskError):
    """A new ticket or comment is incomplete or malformed (e.g. an empty description)."""


class InvalidTransition(HelpdeskError):
    """The ticket cannot move to that status from where it is (e.g. closing a closed one)."""

    def __init__(self, current: str, wanted: str) -> None:
        super().__init__(f"cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


class ReopenWindowPassed(HelpdeskError):
    """A resolved or closed ticket is past the window in which its requester may reopen it."""
