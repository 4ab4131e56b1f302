"""Words and small HTML pieces the ticket pages share: labels, times, the SLA flag.

Everything returned as `Safe` is built from escaped parts.
"""
from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.tickets.categories import PRIORITY_TITLES, SERVICE_LINES
from bot.tickets.enums import Priority, ServiceLine, TicketStatus
from bot.tickets.views import TicketSummary

from ..rendering import Safe, escape

ZONE = ZoneInfo("Europe/London")

STATUS_LABELS = {
    TicketStatus.NEW: "New",
    TicketStatus.OPEN: "Open",
    TicketStatus.AWAITING_CUSTOMER: "Awaiting customer",
    TicketStatus.RESOLVED: "Resolved",
    TicketStatus.CLOSED: "Closed",
}


def status_label(status: TicketStatus) -> str:
    return STATUS_LABELS[status]


def category_label(category: ServiceLine) -> str:
    return SERVICE_LINES[category].title


def priority_label(priority: Priority) -> str:
    return PRIORITY_TITLES[priority]


def ticket_url(reference: str) -> str:
    return f"/console/tickets/{reference}"


def when(moment: dt.datetime) -> Safe:
    """A `<time>` with the UK date and time, e.g. "Thu 26 Nov 2026, 14:05"."""
    local = moment.astimezone(ZONE)
    text = f"{local:%a} {local.day} {local:%b %Y, %H:%M}"
    return Safe(f'<time datetime="{escape(moment.isoformat())}">{escape(text)}</time>')


def assignee_text(assignee: str | None, username: str) -> str:
    if assignee is None:
        return "Unassigned"
    return "You" if assignee == username else assignee


def breach_text(ticket: TicketSummary) -> str:
    if ticket.response_breached and ticket.resolution_breached:
        return "Breached: response and resolution"
    if ticket.response_breached:
        return "Breached: response"
    if ticket.resolution_breached:
        return "Breached: resolution"
    return "Within target"


def breach_flag(ticket: TicketSummary) -> Safe:
    """The SLA state in words (never colour alone)."""
    text = escape(breach_text(ticket))
    if ticket.breached:
        return Safe(f'<strong class="flag-breached">{text}</strong>')
    return Safe(text)


def response_cell(ticket: TicketSummary) -> Safe:
    if ticket.first_responded_at is not None:
        return Safe(f"Responded {when(ticket.first_responded_at)}")
    return Safe(f"Due {when(ticket.response_due_at)}")


def resolution_cell(ticket: TicketSummary) -> Safe:
    if ticket.resolved_at is not None:
        return Safe(f"Resolved {when(ticket.resolved_at)}")
    return Safe(f"Due {when(ticket.resolution_due_at)}")


def options(choices: list[tuple[str, str]], selected: str) -> Safe:
    """`<option>`s from (value, label) pairs, `selected` chosen."""
    return Safe("".join(
        f'<option value="{escape(value)}"{" selected" if value == selected else ""}>'
        f"{escape(label)}</option>" for value, label in choices))
