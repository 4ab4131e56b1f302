"""The ticket list's filters: from the query string to a `TicketFilter`, and back to links.

The list is a plain GET form, so a filtered view is a URL an agent can bookmark or share.
Values are never trusted: an unknown value is dropped (the filter shows "any") and named in
`problems`, which the page shows.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from urllib.parse import urlencode

from bot.tickets.agent import MAX_SEARCH, TicketFilter
from bot.tickets.enums import Priority, ServiceLine, TicketStatus
from bot.tickets.lifecycle import OPEN_STATUSES

UNFINISHED = "unfinished"  # the default: new, open or awaiting the customer
ALL = "all"
MINE = "mine"
UNASSIGNED = "none"
PAGE_SIZE = 25
MAX_PAGE_NUMBER = 1000
USERNAME = re.compile(r"^[A-Za-z0-9._@-]{1,100}$")


@dataclass(frozen=True)
class FilterChoice:
    """What the agent chose, as the form shows it again ("" means any)."""

    status: str = UNFINISHED
    category: str = ""
    priority: str = ""
    assignee: str = ""  # "", MINE, UNASSIGNED or a username
    breached: bool = False
    q: str = ""
    page: int = 1
    problems: tuple[str, ...] = field(default=(), compare=False)


def _one_of(value: str, allowed: set[str], name: str, problems: list[str]) -> str:
    if value and value not in allowed:
        problems.append(f"Unknown {name} ignored.")
        return ""
    return value


def _page(value: str, problems: list[str]) -> int:
    if not value:
        return 1
    if value.isdigit() and 1 <= int(value) <= MAX_PAGE_NUMBER:
        return int(value)
    problems.append("Unknown page number ignored.")
    return 1


def parse(query: Mapping[str, str]) -> FilterChoice:
    """The agent's choice from a query string (unknown values dropped and reported)."""
    problems: list[str] = []
    status = (query.get("status") or UNFINISHED).strip()
    if status not in {UNFINISHED, ALL} | {s.value for s in TicketStatus}:
        problems.append("Unknown status ignored.")
        status = UNFINISHED
    category = _one_of(query.get("category", "").strip(), {c.value for c in ServiceLine},
                       "category", problems)
    priority = _one_of(query.get("priority", "").strip(), {p.value for p in Priority},
                       "priority", problems)
    assignee = query.get("assignee", "").strip()
    if assignee and assignee not in (MINE, UNASSIGNED) and not USERNAME.match(assignee):
        problems.append("Unknown assignee ignored.")
        assignee = ""
    return FilterChoice(status=status, category=category, priority=priority, assignee=assignee,
                        breached=query.get("breached") in ("1", "on", "true"),
                        q=" ".join(query.get("q", "").split())[:MAX_SEARCH],
                        page=_page(query.get("page", "").strip(), problems),
                        problems=tuple(problems))


def _assignee(choice: FilterChoice, username: str) -> str | None:
    if choice.assignee == MINE:
        return username
    if choice.assignee == UNASSIGNED:
        return ""
    return choice.assignee or None


def to_filter(choice: FilterChoice, username: str) -> TicketFilter:
    """The service's filter for this choice; "mine" is the signed-in agent."""
    if choice.status == UNFINISHED:
        statuses = OPEN_STATUSES
    elif choice.status == ALL:
        statuses = frozenset()
    else:
        statuses = frozenset({TicketStatus(choice.status)})
    return TicketFilter(
        statuses=statuses,
        categories=frozenset({ServiceLine(choice.category)}) if choice.category else frozenset(),
        priorities=frozenset({Priority(choice.priority)}) if choice.priority else frozenset(),
        assignee=_assignee(choice, username),
        breached=True if choice.breached else None,
        text=choice.q or None,
    )


def offset(choice: FilterChoice) -> int:
    return (choice.page - 1) * PAGE_SIZE


def link(choice: FilterChoice, page: int | None = None) -> str:
    """The list's URL for this choice (defaults left out), on `page` if given."""
    wanted = replace(choice, page=page or choice.page)
    default = FilterChoice()
    params = [(name, getattr(wanted, name)) for name in ("status", "category", "priority",
                                                        "assignee", "q", "page")
              if getattr(wanted, name) != getattr(default, name)]
    if wanted.breached:
        params.append(("breached", "1"))
    query = urlencode([(name, str(value)) for name, value in params])
    return "/console/tickets" + (f"?{query}" if query else "")
