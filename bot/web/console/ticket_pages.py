"""Ticket pages (GET): the filtered list and one ticket.

Each request is one call of the ticket service (`bot.tickets.agent`), itself one short unit
of work; the service audits the read under the agent's principal.
"""
from __future__ import annotations

import asyncio

from aiohttp import web

from bot.tickets.agent import get_ticket, ticket_page
from bot.tickets.errors import TicketNotEligible, TicketNotFound
from bot.tickets.references import normalise_reference

from ..keys import DATABASE
from ..rendering import Safe, escape
from . import ticket_filters, views
from .auth import SESSION, agent_page
from .ticket_detail_views import FormState, detail_page
from .ticket_list_views import list_page

SECTION = "tickets"

NOT_YOUR_TEAM = "This ticket belongs to a team you do not work."


def reference_of(request: web.Request) -> str | None:
    """The canonical reference in the URL ("hr-1" → "HR-000001"), or None."""
    return normalise_reference(request.match_info["reference"])


def _not_found(request: web.Request) -> web.Response:
    active = request[SESSION]
    return views.page("No such ticket", Safe(
        "<h1>No such ticket</h1><p>There is no ticket with that reference. "
        '<a href="/console/tickets">Back to the tickets</a></p>'), active.agent,
        active.csrf_token, status=404, section=SECTION)


@agent_page
async def ticket_list(request: web.Request) -> web.StreamResponse:
    active = request[SESSION]
    choice = ticket_filters.parse(request.query)
    page = await asyncio.to_thread(
        ticket_page, request.app[DATABASE], active.agent.ticket_agent,
        ticket_filters.to_filter(choice, active.agent.username), ticket_filters.PAGE_SIZE,
        ticket_filters.offset(choice))
    body = list_page(page, choice, active.agent.username)
    return views.page("Tickets", body, active.agent, active.csrf_token, section=SECTION)


async def show_ticket(request: web.Request, state: FormState = FormState(), done: str = "",
                      status: int = 200) -> web.Response:
    """The ticket page; a refused form comes back through here with its `state`."""
    active = request[SESSION]
    reference = reference_of(request)
    if reference is None:
        return _not_found(request)
    try:
        detail = await asyncio.to_thread(get_ticket, request.app[DATABASE],
                                         active.agent.ticket_agent, reference)
    except TicketNotFound:
        return _not_found(request)
    except TicketNotEligible:
        return views.page("Not your team", Safe(
            f"<h1>Not your team</h1><p>{escape(NOT_YOUR_TEAM)} "
            '<a href="/console/tickets">Back to the tickets</a></p>'), active.agent,
            active.csrf_token, status=403, section=SECTION)
    body = detail_page(detail, active.csrf_token, active.agent.username, state, done)
    return views.page(f"Ticket {reference}", body, active.agent, active.csrf_token,
                      status=status, section=SECTION)


@agent_page
async def ticket(request: web.Request) -> web.StreamResponse:
    return await show_ticket(request, done=request.query.get("done", ""))
