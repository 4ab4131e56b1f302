"""Console pages: sign-in and sign-out, the queue, one conversation."""
from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bot.handoff import accounts
from bot.handoff import agent as handoffs
from bot.handoff.errors import HandoffNotFound, NotEligible, SignInBusy, SignInFailed
from bot.tickets.agent import TicketFilter, list_tickets
from bot.tickets.lifecycle import OPEN_STATUSES as OPEN_TICKETS

from ..forms import read_form, small_id
from ..keys import DATABASE, SETTINGS
from ..security import client_address
from ..rendering import Safe, escape
from . import views
from .auth import SESSION, agent_page, clear_cookie, current_session, session_token, set_cookie

log = logging.getLogger(__name__)


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={"Location": location})


def _signin_page(request: web.Request, notice: str = "", username: str = "",
                 status: int = 200) -> web.Response:
    settings = request.app[SETTINGS]
    block = Safe("")
    if notice:
        block = Safe(f'    <p class="error-text" role="alert">{escape(notice)}</p>')
    entra = views.render("signin_entra.html") if settings.entra_enabled else Safe("")
    passwords = views.render("signin_password.html", username=username) \
        if settings.console_password_signin else Safe("")
    if not settings.entra_enabled and not settings.console_password_signin:
        passwords = Safe("    <p>Console sign-in is not set up: configure Entra ID sign-in "
                         "(ENTRA_TENANT_ID, ENTRA_CLIENT_ID, ENTRA_CLIENT_SECRET).</p>")
    return views.page("Sign in", views.render("signin.html", notice=block, entra=entra,
                                              passwords=passwords), None, status=status)


async def signin_form(request: web.Request) -> web.StreamResponse:
    active = await current_session(request, touch=False)
    if active is not None:
        raise web.HTTPFound(views.home(active.agent))
    return _signin_page(request)


async def signin(request: web.Request) -> web.StreamResponse:
    if not request.app[SETTINGS].console_password_signin:
        return _signin_page(request, "Password sign-in is switched off: sign in with your work "
                                     "account.", status=403)
    form = await read_form(request)
    username, password = form.get("username"), form.get("password")
    if not isinstance(username, str) or not isinstance(password, str) or not username \
            or not password:
        return _signin_page(request, "Enter your username and password.",
                            username if isinstance(username, str) else "", status=400)
    try:
        signed = await asyncio.to_thread(
            accounts.sign_in, request.app[DATABASE], username, password,
            allow_demo=request.app[SETTINGS].dev_signin_enabled,
            address=client_address(request))
    except SignInBusy:
        return _signin_page(request, "Too many people are signing in at this moment. Try again "
                            "in a few seconds.", username[:64], status=429)
    except SignInFailed:
        return _signin_page(request, "That username and password did not match an active "
                            "account, or the account is locked for 15 minutes after five failed "
                            "attempts.", username[:64], status=401)
    response = _see_other(views.home(signed.agent))
    set_cookie(request, response, signed.token)
    return response


async def signout(request: web.Request) -> web.StreamResponse:
    # Like every console POST, it needs the CSRF token, unless the session is already gone.
    active = await current_session(request, touch=False)
    form = await read_form(request)
    if active is not None and form.get("csrf_token") != active.csrf_token:
        return web.Response(text="The form has expired. Reload the page and try again.",
                            status=403)
    await asyncio.to_thread(accounts.sign_out, request.app[DATABASE], session_token(request))
    response = _see_other("/console/signin")
    clear_cookie(request, response)
    return response


@agent_page
async def queue_page(request: web.Request) -> web.StreamResponse:
    active = request[SESSION]
    items = await asyncio.to_thread(handoffs.list_queue, request.app[DATABASE], active.agent)
    body = views.render("queue.html",
                        queue=views.queue_fragment(items, active.agent, active.csrf_token))
    return views.page("Conversations", body, active.agent, active.csrf_token)


def _handoff_id(request: web.Request) -> int:
    handoff_id = small_id(request.match_info["handoff_id"])
    if handoff_id is None:
        raise web.HTTPNotFound()
    return handoff_id


@agent_page
async def conversation(request: web.Request) -> web.StreamResponse:
    active = request[SESSION]
    db = request.app[DATABASE]
    try:
        view = await asyncio.to_thread(handoffs.get_handoff, db, active.agent, _handoff_id(request))
    except HandoffNotFound:
        raise web.HTTPNotFound() from None
    except NotEligible:
        return views.page("Not your queue", Safe(
            "<h1>Not your queue</h1><p>This conversation is in a queue you do not work. "
            '<a href="/console">Back to the queue</a></p>'), active.agent, active.csrf_token,
            status=403)
    tickets = await asyncio.to_thread(
        list_tickets, db, active.agent.ticket_agent,
        TicketFilter(statuses=OPEN_TICKETS, requester_number=view.employee.employee_number), 10)
    names = await asyncio.to_thread(accounts.display_names, db)
    body = views.conversation_page(view, active.agent, active.csrf_token, tickets, names)
    return views.page(f"Conversation with {view.employee.name}", body, active.agent,
                      active.csrf_token)
