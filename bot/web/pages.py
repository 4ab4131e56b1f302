"""The HTML pages: the sign-in page (Entra ID and/or the development sign-in), sign-out and the
chat page. The Entra ID redirect and callback are in entra_pages.py."""
from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from ..audit import record_signin, record_signout
from ..identity import Principal, SigninChoice, find_employee, widget_signin_choices
from ..signin import sessions
from ..storage.models import AuditOutcome
from . import session_tokens
from .forms import read_form
from .keys import DATABASE, SETTINGS
from .rendering import Safe, page, render
from .widget import next_page
from .session_cookie import (
    clear_session_cookie,
    current_claims,
    set_session_cookie,
    signed_in,
)

log = logging.getLogger(__name__)


def _see_other(location: str) -> web.Response:
    """A 303 redirect that can carry cookies (raising HTTPSeeOther cannot, in aiohttp 4)."""
    return web.Response(status=303, headers={"Location": location})


async def index(request: web.Request) -> web.StreamResponse:
    target = "/chat" if await signed_in(request) is not None else "/signin"
    raise web.HTTPFound(target)


def _signin_disabled() -> web.Response:
    return page("Sign in through your intranet", render("signin_disabled.html"), status=404)


def _entra_block(request: web.Request) -> Safe:
    if not request.app[SETTINGS].entra_enabled:
        return Safe("")
    return render("signin_entra.html")


def _load_choices(request: web.Request) -> list[SigninChoice]:
    database = request.app[DATABASE]
    with database.unit_of_work() as session:
        return widget_signin_choices(session, request.app[SETTINGS].widget_token_issuer)


def _is_known_subject(request: web.Request, subject: str) -> bool:
    """One indexed lookup (listing every identity per sign-in grew with the directory)."""
    issuer = request.app[SETTINGS].widget_token_issuer
    with request.app[DATABASE].unit_of_work() as session:
        return find_employee(session, Principal("widget", issuer, subject)) is not None


def _choice_buttons(choices: list[SigninChoice]) -> Safe:
    return Safe("\n".join(
        render("signin_choice.html", subject=c.subject, display_name=c.display_name,
               department_name=c.department_name)
        for c in choices
    ))


async def signin_form(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    if not settings.dev_signin_enabled:
        if settings.entra_enabled:
            return page("Sign in", render("signin_entra_page.html", entra=_entra_block(request)))
        return _signin_disabled()
    choices = await asyncio.to_thread(_load_choices, request)
    if choices:
        body = render("signin.html", choices=_choice_buttons(choices),
                      entra=_entra_block(request),
                      next=next_page(request.query.get("next")))
    else:
        body = render("signin_empty.html")
    return page("Development sign-in", body)


async def signin(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    if not settings.dev_signin_enabled:
        return _signin_disabled()
    form = await read_form(request)
    subject = form.get("subject")
    if not isinstance(subject, str) or not await asyncio.to_thread(
            _is_known_subject, request, subject):
        log.info("dev sign-in refused: unknown subject")
        await asyncio.to_thread(
            record_signin, request.app[DATABASE],
            Principal("widget", settings.widget_token_issuer, "(unknown subject)"),
            AuditOutcome.REFUSED, "unknown subject")
        return page("Development sign-in", render("signin_unknown.html"), status=400)
    await asyncio.to_thread(record_signin, request.app[DATABASE],
                            Principal("widget", settings.widget_token_issuer, subject),
                            AuditOutcome.ALLOWED, "development sign-in")
    token = session_tokens.mint(settings, subject)
    claims = session_tokens.verify(settings, token)
    await asyncio.to_thread(sessions.record, request.app[DATABASE], claims.token_id, "widget",
                            claims.tenant, subject, "development", claims.expires_at)
    response = _see_other(next_page(form.get("next")))
    set_session_cookie(request, response, token)
    log.info("dev sign-in succeeded")
    return response


async def signout(request: web.Request) -> web.StreamResponse:
    """End the session: its token is refused from the next request on (bot/signin/sessions.py),
    in this browser and wherever else it was copied, and the cookie goes."""
    claims = current_claims(request)
    if claims is not None:
        await asyncio.to_thread(sessions.revoke, request.app[DATABASE], claims.token_id,
                                "widget", claims.tenant, claims.subject, claims.expires_at)
        await asyncio.to_thread(record_signout, request.app[DATABASE], claims.principal)
    response = _see_other("/signin")
    clear_session_cookie(request, response)
    log.info("signed out")
    return response


def _display_name(request: web.Request, principal: Principal) -> str:
    with request.app[DATABASE].unit_of_work() as session:
        employee = find_employee(session, principal)
    return employee.given_name if employee is not None else principal.subject


async def chat(request: web.Request) -> web.StreamResponse:
    claims = await signed_in(request)
    if claims is None:
        raise web.HTTPFound("/signin")
    try:
        name = await asyncio.to_thread(_display_name, request, claims.principal)
    except Exception as error:  # the page still works without the directory
        log.warning("chat page: directory lookup failed: %s", type(error).__name__)
        name = claims.subject
    return page("Chat", render("chat.html", display_name=name), scripts=("/static/chat.js",))
