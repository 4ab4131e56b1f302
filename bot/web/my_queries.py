""""My queries": the signed-in employee's own tickets beside the chat, as an employee portal
has them (issue 24, step 4).

    GET  /queries                          open tickets, and those finished recently
    GET  /queries/{reference}              one ticket: status, due dates, description, public
                                           comments, history; what may be done now
    POST /queries/{reference}/comment|close|reopen

Every read and change goes through the same services as the chat's ticket actions
(`bot.tickets.requester`): the same rules (the lifecycle, the reopen window, redaction of
comments) and the same audit records. Someone else's reference gets exactly the page a
reference that does not exist gets (the audit says which it was). The pages cannot be framed;
the widget links to them in a new tab. POSTs are same-origin only (the app's Origin check) and
the session cookie is SameSite=Strict.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from zoneinfo import ZoneInfo

from aiohttp import web

from ..email_notices.service import is_opted_out, set_opted_out
from ..errors import UnknownPrincipal
from ..identity import find_employee
from ..tickets import requester
from ..tickets.categories import PRIORITY_TITLES, SERVICE_LINES
from ..tickets.enums import TicketStatus
from ..tickets.errors import (
    InvalidTicket,
    InvalidTransition,
    NotYourTicket,
    ReopenWindowPassed,
    TicketNotFound,
)
from ..tickets.lifecycle import FINISHED_STATUSES, OPEN_STATUSES
from ..tickets.views import TicketSummary
from .console.keys import TICKET_POLICY
from .forms import read_form
from .keys import DATABASE
from .rendering import Safe, escape, page, render
from .session_cookie import signed_in

log = logging.getLogger(__name__)

ZONE = ZoneInfo("Europe/London")
RECENT_FINISHED = 10
STATUS_LABELS = {
    TicketStatus.NEW: "Received",
    TicketStatus.OPEN: "Being worked on",
    TicketStatus.AWAITING_CUSTOMER: "Waiting for your reply",
    TicketStatus.RESOLVED: "Resolved",
    TicketStatus.CLOSED: "Closed",
}
NOT_FOUND = ("There is no query with that reference among yours. Check the reference: it "
             "looks like HR-000123.")


def when(moment: dt.datetime) -> Safe:
    local = moment.astimezone(ZONE)
    text = f"{local:%a} {local.day} {local:%b %Y, %H:%M}"
    return Safe(f'<time datetime="{escape(moment.isoformat())}">{escape(text)}</time>')


def _status(status: TicketStatus) -> Safe:
    return Safe(f'<strong class="tag tag--{escape(status.value)}">'
                f"{escape(STATUS_LABELS[status])}</strong>")


def _due(summary: TicketSummary) -> Safe:
    if summary.status in FINISHED_STATUSES:
        finished = summary.closed_at or summary.resolved_at
        return Safe(f"Finished {when(finished)}") if finished else Safe("Finished")
    if summary.first_responded_at is None:
        return Safe(f"First reply due {when(summary.response_due_at)}; answer due "
                    f"{when(summary.resolution_due_at)}")
    return Safe(f"Answer due {when(summary.resolution_due_at)}")


async def _employee(request: web.Request):  # noqa: ANN202
    claims = await signed_in(request)
    if claims is None:
        raise web.HTTPFound("/signin")
    return claims.principal


def _not_found() -> web.Response:
    return page("Query not found", render("query_not_found.html", text=NOT_FOUND), status=404)


def _unknown() -> web.Response:
    return page("We could not find your employee record", Safe(
        "<h1>We could not find your employee record</h1><p>The helpdesk does not recognise "
        "your account, so it cannot show your queries. Contact your HR team.</p>"), status=403)


def _rows(tickets: list[TicketSummary]) -> Safe:
    return Safe("".join(
        render("query_row.html", href=f"/queries/{t.reference}", reference=t.reference,
               subject=t.subject, team=SERVICE_LINES[t.category].title, status=_status(t.status),
               due=_due(t), updated=when(t.updated_at))
        for t in tickets))


async def list_page(request: web.Request) -> web.StreamResponse:
    principal = await _employee(request)
    db = request.app[DATABASE]
    try:
        open_tickets = await asyncio.to_thread(requester.my_tickets, db, principal,
                                               OPEN_STATUSES)
        finished = await asyncio.to_thread(requester.my_tickets, db, principal,
                                           FINISHED_STATUSES, RECENT_FINISHED)
    except UnknownPrincipal:
        return _unknown()
    employee = await asyncio.to_thread(_employee_id, db, principal)
    opted_out = employee is not None and await asyncio.to_thread(is_opted_out, db, employee)
    body = render(
        "queries.html",
        email=render("query_email_form.html",
                     state="off" if opted_out else "on",
                     choice="on" if opted_out else "off",
                     label="E-mail me again" if opted_out else "Stop these e-mails"),
        open_rows=_rows(open_tickets) if open_tickets else Safe(
            '<tr><td colspan="4">You have no open queries.</td></tr>'),
        finished_rows=_rows(finished) if finished else Safe(
            '<tr><td colspan="4">None in the last while.</td></tr>'))
    return page("My queries", body)


def _history(entries: tuple[requester.RequesterHistoryEntry, ...]) -> Safe:
    lines = []
    for entry in entries:
        if entry.what == "raised":
            text = f"Raised by {entry.by}"
        elif entry.what == "status" and entry.to_status is not None:
            text = f"{STATUS_LABELS[entry.to_status]} ({entry.by})"
        else:
            text = f"Comment from {entry.by}"
        lines.append(f"<li>{when(entry.at)}: {escape(text)}</li>")
    return Safe("".join(lines))


def _comments(view: requester.RequesterTicket) -> Safe:
    comments = view.detail.comments
    if not comments:
        return Safe("<p>No comments yet.</p>")
    return Safe("".join(
        render("query_comment.html", author=c.author.capitalize(), at=when(c.created_at),
               body=c.body) for c in comments))


def _actions(view: requester.RequesterTicket, reference: str) -> Safe:
    parts = []
    if view.can_comment:
        parts.append(render("query_comment_form.html", action=f"/queries/{reference}/comment"))
    if view.can_close:
        parts.append(render("query_button_form.html", action=f"/queries/{reference}/close",
                            label="Close this query: it is sorted",
                            hint="Close it if you do not need anything more."))
    if view.reopen_until is not None:
        parts.append(render("query_button_form.html", action=f"/queries/{reference}/reopen",
                            label="Reopen this query",
                            hint=Safe(f"You can reopen it until {when(view.reopen_until)}.")))
    return Safe("".join(parts))


async def _detail(request: web.Request, reference: str, notice: str = "",
                  status: int = 200) -> web.StreamResponse:
    principal = await _employee(request)
    try:
        view = await asyncio.to_thread(requester.my_ticket_page, request.app[DATABASE],
                                       principal, reference, request.app[TICKET_POLICY])
    except (TicketNotFound, NotYourTicket):
        return _not_found()
    except UnknownPrincipal:
        return _unknown()
    summary = view.detail.summary
    block = Safe(f'<p class="error-text" role="alert">{escape(notice)}</p>') if notice \
        else Safe("")
    body = render("query.html", reference=summary.reference, subject=summary.subject,
                  notice=block, status=_status(summary.status),
                  team=SERVICE_LINES[summary.category].title,
                  priority=PRIORITY_TITLES[summary.priority], raised=when(summary.created_at),
                  due=_due(summary), description=view.detail.description,
                  comments=_comments(view), history=_history(view.history),
                  actions=_actions(view, summary.reference))
    return page(f"Query {summary.reference}", body, status=status)


async def detail_page(request: web.Request) -> web.StreamResponse:
    return await _detail(request, request.match_info["reference"][:40])


async def _change(request: web.Request, action: str) -> web.StreamResponse:
    principal = await _employee(request)
    reference = request.match_info["reference"][:40]
    form = await read_form(request)
    db, policy = request.app[DATABASE], request.app[TICKET_POLICY]
    try:
        if action == "comment":
            text = form.get("comment")
            await asyncio.to_thread(requester.add_my_comment, db, principal, reference,
                                    text if isinstance(text, str) else "", policy)
        elif action == "close":
            await asyncio.to_thread(requester.close_my_ticket, db, principal, reference, policy)
        else:
            await asyncio.to_thread(requester.reopen_my_ticket, db, principal, reference, policy)
    except (TicketNotFound, NotYourTicket):
        return _not_found()
    except UnknownPrincipal:
        return _unknown()
    except InvalidTicket:
        return await _detail(request, reference, "Write a comment of a few words before "
                                                 "sending it.", status=400)
    except ReopenWindowPassed:
        return await _detail(request, reference, "This query can no longer be reopened: raise "
                                                 "a new one in the chat.", status=409)
    except InvalidTransition:
        return await _detail(request, reference, "That cannot be done to this query now.",
                             status=409)
    log.info("my_queries.%s", action)
    return web.Response(status=303, headers={"Location": f"/queries/{reference}"})


async def comment(request: web.Request) -> web.StreamResponse:
    return await _change(request, "comment")


async def close(request: web.Request) -> web.StreamResponse:
    return await _change(request, "close")


async def reopen(request: web.Request) -> web.StreamResponse:
    return await _change(request, "reopen")


def _employee_id(db, principal) -> int | None:  # noqa: ANN001
    with db.unit_of_work() as session:
        employee = find_employee(session, principal)
    return employee.id if employee is not None else None


async def email_choice(request: web.Request) -> web.StreamResponse:
    """`POST /queries/email`: opt out of (choice=off) or back into (on) e-mail about what the
    chat did not show (bot/email_notices)."""
    principal = await _employee(request)
    form = await read_form(request)
    choice = form.get("choice")
    if choice not in ("on", "off"):
        return page("My queries", Safe("<h1>That did not work</h1><p>Choose on or off.</p>"),
                    status=400)
    db = request.app[DATABASE]
    employee = await asyncio.to_thread(_employee_id, db, principal)
    if employee is None:
        return _unknown()
    await asyncio.to_thread(set_opted_out, db, employee, choice == "off")
    log.info("my_queries.email choice=%s", choice)
    return web.Response(status=303, headers={"Location": "/queries#email"})


def setup(app: web.Application) -> None:
    app.router.add_get("/queries", list_page)
    app.router.add_post("/queries/email", email_choice)
    app.router.add_get("/queries/{reference}", detail_page)
    app.router.add_post("/queries/{reference}/comment", comment)
    app.router.add_post("/queries/{reference}/close", close)
    app.router.add_post("/queries/{reference}/reopen", reopen)
