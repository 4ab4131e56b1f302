"""The values of the records notices' enum columns (the records' own values are the back
office's, in `bot.backoffice.types`)."""
from __future__ import annotations

import enum


class NoticeKind(str, enum.Enum):
    LEAVE_REQUESTED = "leave_requested"  # to the line manager
    LEAVE_DECIDED = "leave_decided"  # to the employee
    SICKNESS_REPORTED = "sickness_reported"  # to the line manager


class NoticeState(str, enum.Enum):
    PENDING = "pending"
    DELIVERED = "delivered"
