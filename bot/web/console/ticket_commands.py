"""Ticket commands (POST): change status, assign to me, set priority, comment or note.

Each is a plain HTML form: on success 303 back to the ticket (post/redirect/get, with a fixed
`?done=` word); when refused, the ticket page again with the reason and everything the agent
entered. With `Accept: application/json` the answer is JSON instead (`message` and `ticket`,
or `error`). Authentication and the CSRF token are checked by `agent_command`, the Origin by
the app-wide middleware. The employee is told of status changes and public comments by the
ticket worker, through the outbox the service writes in the same transaction.
"""
from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import web

from bot.tickets import agent as service
from bot.tickets.enums import Priority, TicketStatus, Visibility
from bot.tickets.errors import (
    InvalidTicket,
    InvalidTransition,
    TicketNotEligible,
    TicketNotFound,
)
from bot.tickets.views import TicketSummary

from ..forms import form_text
from ..keys import DATABASE
from .auth import SESSION, agent_command, wants_json
from .keys import TICKET_POLICY
from .ticket_detail_views import DONE, MAX_COMMENT, FormState
from .ticket_format import status_label, ticket_url
from .ticket_pages import NOT_YOUR_TEAM, reference_of, show_ticket

log = logging.getLogger(__name__)

NOT_FOUND = "There is no ticket with that reference."


def _json(summary: TicketSummary) -> dict[str, Any]:
    return {"reference": summary.reference, "status": summary.status.value,
            "priority": summary.priority.value, "category": summary.category.value,
            "assignee": summary.assignee, "breached": summary.breached,
            "response_due_at": summary.response_due_at.isoformat(),
            "resolution_due_at": summary.resolution_due_at.isoformat()}


def _done(request: web.Request, summary: TicketSummary, code: str) -> web.StreamResponse:
    if wants_json(request):
        return web.json_response({"message": DONE[code], "ticket": _json(summary)})
    location = f"{ticket_url(summary.reference)}?done={code}"
    return web.Response(status=303, headers={"Location": location})


async def _refused(request: web.Request, status: int, state: FormState) -> web.StreamResponse:
    if wants_json(request):
        return web.json_response({"error": state.error}, status=status)
    return await show_ticket(request, state, status=status)


def _reference(request: web.Request) -> str:
    reference = reference_of(request)
    if reference is None:
        raise web.HTTPNotFound(text=NOT_FOUND)
    return reference


def _transition_refused(error: InvalidTransition) -> str:
    current = status_label(TicketStatus(error.current))
    wanted = status_label(TicketStatus(error.wanted))
    if error.current == error.wanted:
        return f"Not changed: the ticket is already {current.lower()}."
    return (f"Not changed: a ticket that is {current.lower()} cannot move to "
            f"{wanted.lower()}. Choose one of the statuses offered.")


@agent_command
async def status(request: web.Request) -> web.StreamResponse:
    agent = request[SESSION].agent
    reference, raw = _reference(request), await form_text(request, "status")
    try:
        wanted = TicketStatus(raw)
    except ValueError:
        return await _refused(request, 400, FormState(error="Choose a new status.",
                                                      form="status"))
    try:
        summary = await asyncio.to_thread(service.change_status, request.app[DATABASE],
                                          agent.ticket_agent, reference, wanted,
                                          request.app[TICKET_POLICY])
    except TicketNotFound:
        raise web.HTTPNotFound(text=NOT_FOUND) from None
    except TicketNotEligible:
        raise web.HTTPForbidden(text=NOT_YOUR_TEAM) from None
    except InvalidTransition as error:
        return await _refused(request, 409, FormState(
            error=_transition_refused(error), form="status", status=raw))
    log.info("console.ticket.status reference=%s", reference)
    return _done(request, summary, "status")


@agent_command
async def assign(request: web.Request) -> web.StreamResponse:
    agent = request[SESSION].agent
    reference = _reference(request)
    try:
        summary = await asyncio.to_thread(service.assign, request.app[DATABASE],
                                          agent.ticket_agent, reference, agent.username)
    except TicketNotFound:
        raise web.HTTPNotFound(text=NOT_FOUND) from None
    except TicketNotEligible:
        raise web.HTTPForbidden(text=NOT_YOUR_TEAM) from None
    log.info("console.ticket.assign reference=%s", reference)
    return _done(request, summary, "assigned")


@agent_command
async def priority(request: web.Request) -> web.StreamResponse:
    agent = request[SESSION].agent
    reference, raw = _reference(request), await form_text(request, "priority")
    try:
        wanted = Priority(raw)
    except ValueError:
        return await _refused(request, 400, FormState(
            error="Choose a priority: urgent, high, normal or low.", form="priority"))
    try:
        summary = await asyncio.to_thread(service.set_priority, request.app[DATABASE],
                                          agent.ticket_agent, reference, wanted,
                                          request.app[TICKET_POLICY])
    except TicketNotFound:
        raise web.HTTPNotFound(text=NOT_FOUND) from None
    except TicketNotEligible:
        raise web.HTTPForbidden(text=NOT_YOUR_TEAM) from None
    except InvalidTicket:
        return await _refused(request, 409, FormState(
            error="Not changed: a resolved or closed ticket keeps its priority.",
            form="priority", priority=raw))
    log.info("console.ticket.priority reference=%s", reference)
    return _done(request, summary, "priority")


def _comment_problem(text: str, visibility: str) -> str:
    if not text.strip():
        return "Not added: write the comment first."
    if len(text.strip()) > MAX_COMMENT:
        return (f"Not added: a comment can be at most {MAX_COMMENT} characters; this one has "
                f"{len(text.strip())}.")
    if visibility not in (Visibility.PUBLIC.value, Visibility.INTERNAL.value):
        return ("Not added: choose who sees it, the employee (a public reply) or agents only "
                "(an internal note).")
    return ""


@agent_command
async def comment(request: web.Request) -> web.StreamResponse:
    agent = request[SESSION].agent
    reference = _reference(request)
    text, visibility = await form_text(request, "text"), await form_text(request, "visibility")
    problem = _comment_problem(text, visibility)
    if problem:
        return await _refused(request, 400, FormState(error=problem, form="comment", text=text,
                                                      visibility=visibility))
    try:
        summary = await asyncio.to_thread(service.add_comment, request.app[DATABASE],
                                          agent.ticket_agent, reference, text,
                                          Visibility(visibility), request.app[TICKET_POLICY])
    except TicketNotFound:
        raise web.HTTPNotFound(text=NOT_FOUND) from None
    except TicketNotEligible:
        raise web.HTTPForbidden(text=NOT_YOUR_TEAM) from None
    except InvalidTicket as error:
        return await _refused(request, 400, FormState(
            error=f"Not added: {error}.", form="comment", text=text, visibility=visibility))
    log.info("console.ticket.comment reference=%s visibility=%s", reference, visibility)
    return _done(request, summary, visibility)
