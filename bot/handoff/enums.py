"""The values of a handoff's enum columns: its status, why it was asked for, the kinds of
transcript entry."""
from __future__ import annotations

import enum


class HandoffStatus(str, enum.Enum):
    WAITING = "waiting"  # in the queue of its skill
    ASSIGNED = "assigned"  # an agent claimed it and is talking to the employee
    RESUMED = "resumed"  # handed back to the assistant
    TICKETED = "ticketed"  # turned into a helpdesk ticket
    CANCELLED = "cancelled"  # withdrawn (e.g. the employee left before anyone claimed it)


OPEN_STATUSES = frozenset({HandoffStatus.WAITING, HandoffStatus.ASSIGNED})


class HandoffReason(str, enum.Enum):
    REQUESTED = "requested"  # the employee asked for a person
    NOT_UNDERSTOOD = "not_understood"  # two failed understandings in a row, then "yes"
    REFERRED = "referred"  # an action decided the case needs a person


class EntryKind(str, enum.Enum):
    EMPLOYEE = "employee"  # what the employee wrote (seen by agents)
    AGENT = "agent"  # an agent's reply (sent to the employee)
    NOTE = "note"  # an agent's internal note (never shown to the employee)
    SYSTEM = "system"  # queue events: requested, claimed, transferred, handed back...
