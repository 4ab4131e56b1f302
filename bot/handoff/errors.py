"""Handoff errors; actions and the console translate them into words."""
from __future__ import annotations

from bot.errors import AccessRefused, HelpdeskError


class HandoffNotFound(HelpdeskError):
    """No handoff has this id."""


class HandoffClosed(HelpdeskError):
    """The handoff has ended (handed back, turned into a ticket or withdrawn)."""


class AlreadyClaimed(HelpdeskError):
    """Another agent claimed the conversation first (or it is no longer waiting)."""


class NotAssignee(AccessRefused):
    """Only the agent who claimed the conversation may reply, transfer or hand it back."""


class NotEligible(AccessRefused):
    """The agent does not work this skill or department."""


class InvalidHandoffInput(HelpdeskError):
    """A reply, note or choice is empty, too long or malformed."""


class SignInFailed(HelpdeskError):
    """Unknown user, wrong password, disabled, locked or demo-only account (never says which)."""


class SignInBusy(HelpdeskError):
    """Too many password checks are running at once: try again in a moment (429)."""
