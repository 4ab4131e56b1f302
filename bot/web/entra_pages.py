"""Sign-in with Entra ID: the redirect out (`GET /auth/signin`) and the callback
(`GET /auth/callback`), for employees (the chat) and console accounts (`/console/auth/signin`).

    browser ── GET /auth/signin ──► web app: MSAL flow (state, nonce, PKCE) kept in
                                     oidc_sign_ins, bound to the browser by the hd_oidc cookie
            ◄── 303 to Entra ID's authorisation endpoint
            ── (the user signs in at Entra ID) ──
            ── GET /auth/callback?code&state ──► claim the flow (once, this browser only),
                                     redeem the code (client secret + PKCE verifier), check
                                     the ID token (bot/signin/entra.py), map (tid, oid) to an
                                     employee → session token in hd_session

The callback answers with a page that moves on to the chat by itself (a meta refresh): the
session cookie is SameSite=Strict, and a browser does not send such a cookie on a navigation
that a redirect from another site started. Every refusal is a 4xx page that says what to do,
and an audit record with a fixed reason; nothing logs a code, a token or a claim.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from ..audit import record_signin
from ..config import ConfigurationError
from ..identity import Principal, entra_widget_tenant, find_employee
from ..signin import sessions, transactions
from ..signin.entra import EntraConfig, EntraSignIn, ProviderUnavailable, SignInRefused, VerifiedUser
from ..storage.models import AuditOutcome
from . import session_tokens
from .keys import COOKIE_SECURE, DATABASE, ENTRA, SETTINGS
from .rendering import Safe, escape, page
from .session_cookie import set_session_cookie

log = logging.getLogger(__name__)

BINDING_COOKIE = "hd_oidc"
BINDING_PATH = "/auth"
CALLBACK_KEYS = ("code", "state", "error", "error_description", "session_state")
MAX_PARAMETER_LENGTH = 8192

Completion = Callable[[web.Request, transactions.PendingSignIn, VerifiedUser],
                      Awaitable[web.StreamResponse]]
# purpose → what to do with a verified user; the console adds its own (console/entra.py).
COMPLETIONS: dict[str, Completion] = {}


def entra_client(settings) -> EntraSignIn | None:  # noqa: ANN001
    """The process's Entra ID client, or None when sign-in with Entra ID is not configured."""
    if not settings.entra_enabled:
        return None
    if not settings.entra_client_secret:
        raise ConfigurationError("Entra ID sign-in: the web app needs ENTRA_CLIENT_SECRET "
                                 "(ENTRA_TENANT_ID and ENTRA_CLIENT_ID are set)")
    return EntraSignIn(EntraConfig(
        tenant_id=settings.entra_tenant_id, client_id=settings.entra_client_id,
        client_secret=settings.entra_client_secret, redirect_uri=settings.entra_callback_url,
        authority_host=settings.entra_authority_host, ca_bundle=settings.entra_ca_bundle))


def _notice(title: str, paragraphs: tuple[str, ...], status: int,
            link: tuple[str, str] = ("/signin", "Start again")) -> web.Response:
    body = "".join(f"<p>{escape(text)}</p>" for text in paragraphs)
    return page(title, Safe(f"<h1>{escape(title)}</h1>{body}"
                            f'<p><a href="{escape(link[0])}">{escape(link[1])}</a></p>'),
                status=status)


def unavailable() -> web.Response:
    return _notice("Sign-in is not available right now",
                   ("Microsoft's sign-in service could not be reached. Try again in a few "
                    "minutes.",), 503)


def not_configured() -> web.Response:
    return _notice("Sign in through your intranet",
                   ("Signing in with a work account is not set up for this helpdesk.",), 404)


async def begin(request: web.Request, purpose: str, return_to: str) -> web.StreamResponse:
    """Start a sign-in: keep the flow, bind it to this browser, send the browser to Entra ID."""
    client = request.app.get(ENTRA)
    if client is None:
        return not_configured()
    try:
        flow = await asyncio.to_thread(client.begin)
    except ProviderUnavailable as error:
        log.warning("entra.signin.unavailable error=%s", error)
        return unavailable()
    binding = await asyncio.to_thread(transactions.start, request.app[DATABASE], flow, purpose,
                                      return_to)
    response = web.Response(status=303, headers={"Location": flow["auth_uri"]})
    # Lax, not Strict: the callback is a top-level navigation that Entra ID's page starts.
    response.set_cookie(BINDING_COOKIE, binding, max_age=int(transactions.LIFETIME.total_seconds()),
                        path=BINDING_PATH, httponly=True, samesite="Lax",
                        secure=request.app.get(COOKIE_SECURE, False))
    log.info("entra.signin.started purpose=%s", purpose)
    return response


async def employee_signin(request: web.Request) -> web.StreamResponse:
    """`GET /auth/signin[?next=/widget/signed-in]`: an employee's sign-in, back to the chat
    (or to the widget's pop-up page)."""
    from .widget import next_page
    return await begin(request, "employee", next_page(request.query.get("next")))


def _callback_parameters(request: web.Request) -> dict[str, str] | None:
    """The authorisation response, or None if any parameter is repeated or oversized."""
    found: dict[str, str] = {}
    for key in CALLBACK_KEYS:
        values = request.query.getall(key, [])
        if len(values) > 1 or any(len(v) > MAX_PARAMETER_LENGTH for v in values):
            return None
        if values:
            found[key] = values[0]
    return found


def _refusal_principal(request: web.Request) -> Principal:
    return Principal("widget", entra_widget_tenant(request.app[SETTINGS].entra_tenant_id),
                     "(not signed in)")


async def callback(request: web.Request) -> web.StreamResponse:
    """`GET /auth/callback`: finish whichever sign-in this browser started."""
    client = request.app.get(ENTRA)
    if client is None:
        return not_configured()
    database = request.app[DATABASE]
    parameters = _callback_parameters(request)
    if parameters is None or "state" not in parameters:
        return _notice("That sign-in link is not right",
                       ("The address is missing something or has too much in it.",), 400)
    pending = await asyncio.to_thread(transactions.claim, database, parameters["state"],
                                      request.cookies.get(BINDING_COOKIE))
    if pending is None:
        log.info("entra.callback.refused reason=no pending sign-in")
        await asyncio.to_thread(record_signin, database, _refusal_principal(request),
                                AuditOutcome.REFUSED, "callback without a pending sign-in")
        return _notice("This sign-in has expired",
                       ("It was already used, started in another browser, or is more than "
                        "ten minutes old.",), 400)
    try:
        user = await asyncio.to_thread(client.complete, pending.flow, parameters)
    except SignInRefused as refused:
        log.info("entra.callback.refused reason=%s", refused.reason)
        await asyncio.to_thread(record_signin, database, _refusal_principal(request),
                                AuditOutcome.REFUSED, f"Entra ID: {refused.reason}",
                                _record_type(pending.purpose))
        if "error" in parameters:
            return _notice("You were not signed in",
                           ("The sign-in was cancelled or refused at Microsoft's sign-in "
                            "page.",), 400, _start_link(pending.purpose))
        return _notice("You were not signed in",
                       ("The answer from Microsoft's sign-in service could not be trusted, so "
                        "nobody was signed in.",), 400, _start_link(pending.purpose))
    except ProviderUnavailable as error:
        log.warning("entra.callback.unavailable error=%s", error)
        return unavailable()
    completion = COMPLETIONS.get(pending.purpose, _employee_completion)
    response = await completion(request, pending, user)
    response.del_cookie(BINDING_COOKIE, path=BINDING_PATH)
    return response


def _record_type(purpose: str) -> str:
    return "console_account" if purpose == "console" else "widget_session"


def _start_link(purpose: str) -> tuple[str, str]:
    return ("/console/signin", "Start again") if purpose == "console" else ("/signin",
                                                                            "Start again")


def continue_page(location: str, title: str = "Signed in") -> web.Response:
    """A page that moves on to `location` by itself, as a same-site navigation."""
    target = escape(location)
    document = page(title, Safe(
        f'<h1>{escape(title)}</h1><p><a href="{target}">Continue</a></p>'), status=200)
    document.text = document.text.replace(
        '<meta name="referrer" content="same-origin">',
        f'<meta name="referrer" content="same-origin">\n  '
        f'<meta http-equiv="refresh" content="0;url={target}">', 1)
    return document


def _find(request: web.Request, principal: Principal):  # noqa: ANN202
    with request.app[DATABASE].unit_of_work() as session:
        return find_employee(session, principal)


async def _employee_completion(request: web.Request, pending: transactions.PendingSignIn,
                               user: VerifiedUser) -> web.StreamResponse:
    settings, database = request.app[SETTINGS], request.app[DATABASE]
    principal = Principal("widget", entra_widget_tenant(user.tenant_id), user.object_id)
    employee = await asyncio.to_thread(_find, request, principal)
    if employee is None:
        log.info("entra.signin.refused reason=unknown person")
        await asyncio.to_thread(record_signin, database, principal, AuditOutcome.REFUSED,
                                "Entra ID: no employee for this person")
        return _notice("We could not find your employee record", (
            "You signed in to Microsoft, but the helpdesk has no employee record linked to "
            "your work account, so it cannot answer from your records.",
            "If you joined recently, try again tomorrow. Otherwise contact your HR team and "
            "say the helpdesk assistant does not recognise your account.",), 403,
            ("/signin", "Back to sign-in"))
    token = session_tokens.mint(settings, user.object_id, entra_tenant=user.tenant_id)
    claims = session_tokens.verify(settings, token)
    await asyncio.to_thread(sessions.record, database, claims.token_id, "widget", claims.tenant,
                            claims.subject, "entra", claims.expires_at)
    await asyncio.to_thread(record_signin, database, principal, AuditOutcome.ALLOWED,
                            "Entra ID sign-in")
    log.info("entra.signin.succeeded")
    response = continue_page(pending.return_to or "/chat")
    set_session_cookie(request, response, token)
    return response
