"""The agent's console session: the `hd_agent` cookie, who is signed in, CSRF tokens.

The cookie holds a random session token (only its SHA-256 is stored, see
`bot.handoff.accounts`); it is HttpOnly, SameSite=Strict, limited to `/console`, and Secure
behind HTTPS. Every console POST must carry the session's CSRF token (form field `csrf_token`
or header `X-CSRF-Token`), on top of the app-wide Origin check (`bot/web/security.py`): a
forged cross-site form has neither the cookie (SameSite) nor the token.

Every page and command names the roles that may use it (`role_page`, `role_command`; see
`bot.roles`): a signed-in account without one of them gets 403. `agent_page` and
`agent_command` are the handoff queue's and tickets' (role `agent`, which supervisors and
administrators hold too).
"""
from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.handoff import accounts
from bot.handoff.accounts import ActiveSession
from bot.roles import Role

from ..rendering import Safe
from . import views

from ..forms import read_form, same_secret
from ..keys import COOKIE_SECURE, DATABASE

COOKIE_NAME = "hd_agent"
COOKIE_PATH = "/console"
SESSION = web.RequestKey("agent_session", ActiveSession)


def session_token(request: web.Request) -> str | None:
    return request.cookies.get(COOKIE_NAME) or None


async def current_session(request: web.Request, touch: bool = True) -> ActiveSession | None:
    token = session_token(request)
    if token is None:
        return None
    return await asyncio.to_thread(accounts.session_for, request.app[DATABASE], token,
                                   touch=touch)


def set_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(COOKIE_NAME, token, max_age=int(accounts.SESSION_LIFETIME.total_seconds()),
                        path=COOKIE_PATH, httponly=True, samesite="Strict",
                        secure=request.app.get(COOKIE_SECURE, False))


def clear_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(COOKIE_NAME, path=COOKIE_PATH, httponly=True, samesite="Strict",
                        secure=request.app.get(COOKIE_SECURE, False))


def wants_json(request: web.Request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _forbidden(request: web.Request, api: bool = False) -> web.Response:
    if api or wants_json(request) or request.headers.get("Accept") == "text/event-stream":
        return web.json_response({"error": "Your account does not have access to this."},
                                 status=403)
    active = request[SESSION]
    return views.page("No access", Safe(
        "<h1>You do not have access to this page</h1>"
        "<p>Your account does not have the role this page needs. Ask an administrator if you "
        "should have it.</p>"), active.agent, active.csrf_token, status=403,
        section="")


def role_page(*roles: Role, api: bool = False) -> Callable[[Handler], Handler]:
    """GET handlers: a signed-in account holding one of `roles`; else sign-in, or 403.

    `api`: the handler answers scripts (event streams, JSON), so a missing session is a 401
    rather than a redirect to the sign-in page.
    """

    def decorate(handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            active = await current_session(request)
            if active is None:
                if api or wants_json(request) \
                        or request.headers.get("Accept") == "text/event-stream":
                    return web.json_response({"error": "sign in again"}, status=401)
                raise web.HTTPFound("/console/signin")
            request[SESSION] = active
            if not active.agent.can(*roles):
                return _forbidden(request, api)
            return await handler(request)

        return wrapped

    return decorate


def role_command(*roles: Role) -> Callable[[Handler], Handler]:
    """POST handlers: a signed-in account holding one of `roles` and a matching CSRF token,
    else 401 / 403."""

    def decorate(handler: Handler) -> Handler:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            active = await current_session(request)
            if active is None:
                if wants_json(request):
                    return web.json_response({"error": "Your session has ended. Sign in again."},
                                             status=401)
                raise web.HTTPFound("/console/signin")
            form = await read_form(request)
            offered = request.headers.get("X-CSRF-Token") or form.get("csrf_token")
            if not isinstance(offered, str) or not same_secret(offered, active.csrf_token):
                if wants_json(request):
                    return web.json_response(
                        {"error": "The form has expired. Reload the page."}, status=403)
                return web.Response(text="The form has expired. Reload the page and try again.",
                                    status=403)
            request[SESSION] = active
            if not active.agent.can(*roles):
                return _forbidden(request)
            return await handler(request)

        return wrapped

    return decorate


agent_page = role_page(Role.AGENT)
agent_stream = role_page(Role.AGENT, api=True)
agent_command = role_command(Role.AGENT)
