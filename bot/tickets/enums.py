"""The values of a ticket's enum columns: service line, priority, status, who acted,
who may see a comment, what happened, the state of a notification."""
from __future__ import annotations

import enum


class ServiceLine(str, enum.Enum):
    """The category of a ticket: which shared service works it (and its reference prefix)."""

    HR = "hr"
    PAYROLL = "payroll"
    PENSIONS = "pensions"
    FINANCE = "finance"
    ACCESS = "access"


class Priority(str, enum.Enum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"


class TicketStatus(str, enum.Enum):
    NEW = "new"
    OPEN = "open"
    AWAITING_CUSTOMER = "awaiting_customer"
    RESOLVED = "resolved"
    CLOSED = "closed"


class ActorKind(str, enum.Enum):
    EMPLOYEE = "employee"
    AGENT = "agent"
    SYSTEM = "system"


class Visibility(str, enum.Enum):
    PUBLIC = "public"  # seen by the employee
    INTERNAL = "internal"  # agents only, never shown to the employee


class EventKind(str, enum.Enum):
    CREATED = "created"
    STATUS_CHANGED = "status_changed"
    COMMENTED = "commented"
    ASSIGNED = "assigned"


class NotificationState(str, enum.Enum):
    PENDING = "pending"  # waiting to be pushed to the employee's conversation
    DELIVERED = "delivered"  # uttered in the conversation (set by the action, once)
    FAILED = "failed"  # gave up after the maximum number of attempts
    SKIPPED = "skipped"  # the ticket has no conversation to tell
