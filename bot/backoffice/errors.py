"""What can go wrong between the helpdesk and a system of record, as the services see it."""

from __future__ import annotations

import datetime as dt

from bot.errors import HelpdeskError


class SystemUnavailable(HelpdeskError):
    """The system of record did not answer in time (down, slow, throttling, circuit open).

    `system` is the name an employee knows it by ("the HR system"); nothing else is shown.
    """

    def __init__(self, system: str, detail: str = "") -> None:
        super().__init__(f"{system} unavailable{': ' + detail if detail else ''}")
        self.system = system
        self.detail = detail


class OutcomeUnknown(HelpdeskError):
    """A write was sent but its outcome is unknown (e.g. a timeout after sending).

    It is never guessed: the write is recorded as unknown and reconciled against the system
    of record by its client reference before anything else is written for that turn.
    """

    def __init__(self, system: str, client_reference: str) -> None:
        super().__init__(f"{system}: outcome unknown")
        self.system = system
        self.client_reference = client_reference


class RecordRejected(HelpdeskError):
    """The system of record refused a write for a business reason; `reason` is safe to show."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class DecidedElsewhere(HelpdeskError):
    """This system decides leave in its own approval workflow, not through the assistant."""

    def __init__(self, system: str) -> None:
        super().__init__(system)
        self.system = system


class StaleAnswer:
    """Marks that an answer was served from the last good copy (see `resilience.notes`)."""

    def __init__(self, system: str, at: dt.datetime) -> None:
        self.system = system
        self.at = at
