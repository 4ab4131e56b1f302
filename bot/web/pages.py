"""The HTML pages: development sign-in, sign-out and the chat page."""
from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from ..identity import Principal, SigninChoice, find_employee, widget_signin_choices
from . import session_tokens
from .keys import DATABASE, SETTINGS
from .rendering import Safe, page, render
from .session_cookie import clear_session_cookie, current_claims, set_session_cookie

log = logging.getLogger(__name__)


def _see_other(location: str) -> web.Response:
    """A 303 redirect that can carry cookies (raising HTTPSeeOther cannot, in aiohttp 4)."""
    return web.Response(status=303, headers={"Location": location})


async def index(request: web.Request) -> web.StreamResponse:
    target = "/chat" if current_claims(request) is not None else "/signin"
    raise web.HTTPFound(target)


def _signin_disabled() -> web.Response:
    return page("Sign in through your intranet", render("signin_disabled.html"), status=404)


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
    if not request.app[SETTINGS].dev_signin_enabled:
        return _signin_disabled()
    choices = await asyncio.to_thread(_load_choices, request)
    if choices:
        body = render("signin.html", choices=_choice_buttons(choices))
    else:
        body = render("signin_empty.html")
    return page("Development sign-in", body)


async def signin(request: web.Request) -> web.StreamResponse:
    settings = request.app[SETTINGS]
    if not settings.dev_signin_enabled:
        return _signin_disabled()
    form = await request.post()
    subject = form.get("subject")
    if not isinstance(subject, str) or not await asyncio.to_thread(
            _is_known_subject, request, subject):
        log.info("dev sign-in refused: unknown subject")
        return page("Development sign-in", render("signin_unknown.html"), status=400)
    response = _see_other("/chat")
    set_session_cookie(request, response, session_tokens.mint(settings, subject))
    log.info("dev sign-in succeeded")
    return response


async def signout(request: web.Request) -> web.StreamResponse:
    response = _see_other("/signin")
    clear_session_cookie(request, response)
    log.info("signed out")
    return response


def _display_name(request: web.Request, issuer: str, subject: str) -> str:
    with request.app[DATABASE].unit_of_work() as session:
        employee = find_employee(session, Principal("widget", issuer, subject))
    return employee.given_name if employee is not None else subject


async def chat(request: web.Request) -> web.StreamResponse:
    claims = current_claims(request)
    if claims is None:
        raise web.HTTPFound("/signin")
    try:
        name = await asyncio.to_thread(_display_name, request, claims.issuer, claims.subject)
    except Exception as error:  # the page still works without the directory
        log.warning("chat page: directory lookup failed: %s", type(error).__name__)
        name = claims.subject
    return page("Chat", render("chat.html", display_name=name), scripts=("/static/chat.js",))
