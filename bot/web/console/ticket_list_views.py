"""HTML of the ticket list: the filter form, the results table, the pager."""
from __future__ import annotations

from bot.tickets.agent import TicketPage
from bot.tickets.enums import Priority, ServiceLine, TicketStatus
from bot.tickets.views import TicketSummary

from ..rendering import Safe, escape
from . import ticket_filters as filters
from .ticket_filters import FilterChoice
from .ticket_format import (
    assignee_text,
    breach_flag,
    category_label,
    options,
    priority_label,
    resolution_cell,
    response_cell,
    status_label,
    ticket_url,
)
from .views import render

COLUMNS = ("Reference", "Subject", "Requester", "Category", "Priority", "Status", "Assignee",
           "Response", "Resolution", "SLA")


def _status_options(selected: str) -> Safe:
    choices = [(filters.UNFINISHED, "Not finished (new, open, awaiting customer)"),
               (filters.ALL, "Any status")]
    choices += [(s.value, status_label(s)) for s in TicketStatus]
    return options(choices, selected)


def _assignee_options(selected: str, assignees: tuple[str, ...], username: str) -> Safe:
    choices = [("", "Anyone or nobody"), (filters.MINE, "Me"),
               (filters.UNASSIGNED, "Nobody (unassigned)")]
    others = [a for a in assignees if a != username]
    if selected not in ("", filters.MINE, filters.UNASSIGNED) and selected not in others:
        others.append(selected)  # keep a choice the list no longer holds
    choices += [(a, a) for a in sorted(others)]
    return options(choices, selected)


def _row(ticket: TicketSummary, username: str) -> str:
    breached = ' class="row-breached"' if ticket.breached else ""
    cells = (
        f'<a href="{escape(ticket_url(ticket.reference))}">{escape(ticket.reference)}</a>',
        escape(ticket.subject),
        f"{escape(ticket.requester_name)} ({escape(ticket.requester_number)})",
        escape(category_label(ticket.category)),
        escape(priority_label(ticket.priority)),
        escape(status_label(ticket.status)),
        escape(assignee_text(ticket.assignee, username)),
        response_cell(ticket),
        resolution_cell(ticket),
        breach_flag(ticket),
    )
    return f"<tr{breached}>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _heading(page: TicketPage, choice: FilterChoice) -> str:
    count = len(page.tickets)
    if count == 0:
        return "No tickets match these filters" if choice.page == 1 else "No more tickets"
    if choice.page == 1 and not page.has_more:
        return "1 ticket" if count == 1 else f"{count} tickets"
    first = filters.offset(choice) + 1
    return f"Tickets {first} to {first + count - 1}"


def _table(page: TicketPage, username: str) -> Safe:
    if not page.tickets:
        return Safe('<p>Try fewer filters, or <a href="/console/tickets">clear them</a>.</p>')
    head = "".join(f'<th scope="col">{name}</th>' for name in COLUMNS)
    rows = "\n".join(_row(t, username) for t in page.tickets)
    return Safe('<div class="table-scroll" role="region" aria-labelledby="results-heading" '
                f'tabindex="0"><table class="queue-table ticket-table"><thead><tr>{head}</tr>'
                f"</thead><tbody>\n{rows}\n</tbody></table></div>")


def _pager(page: TicketPage, choice: FilterChoice) -> Safe:
    links = []
    if choice.page > 1:
        links.append(f'<a href="{escape(filters.link(choice, choice.page - 1))}" rel="prev">'
                     "Previous page</a>")
    if page.has_more:
        links.append(f'<a href="{escape(filters.link(choice, choice.page + 1))}" rel="next">'
                     "Next page</a>")
    if not links:
        return Safe("")
    return Safe(f'<nav class="pager" aria-label="Pages of tickets">{" ".join(links)}</nav>')


def _problems(choice: FilterChoice) -> Safe:
    if not choice.problems:
        return Safe("")
    return Safe(f'<p class="error-text" role="alert">{escape(" ".join(choice.problems))}</p>')


def list_page(page: TicketPage, choice: FilterChoice, username: str) -> Safe:
    """The body of /console/tickets."""
    categories = [("", "Any category")] + [(c.value, category_label(c)) for c in ServiceLine]
    priorities = [("", "Any priority")] + [(p.value, priority_label(p)) for p in Priority]
    return render(
        "tickets.html", problems=_problems(choice),
        status_options=_status_options(choice.status),
        category_options=options(categories, choice.category),
        priority_options=options(priorities, choice.priority),
        assignee_options=_assignee_options(choice.assignee, page.assignees, username),
        q=choice.q, breached_checked=Safe(" checked" if choice.breached else ""),
        heading=_heading(page, choice), results=_table(page, username),
        pager=_pager(page, choice))
