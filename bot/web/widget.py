"""The embeddable widget: an intranet page includes one script, which puts a launcher button and
a chat panel on the page; the panel is this web app's `/widget` page in an iframe.

    <script src="https://helpdesk.example.gov.uk/static/widget.js" async></script>

- `GET /widget?host=<origin>`: the chat for a frame. `host` must be one of
  WIDGET_ALLOWED_ORIGINS (exact origins); the answer's CSP says `frame-ancestors` those origins
  only (every other page of this app says 'none'), so a page of any other origin cannot frame
  it (the browser refuses to show it). An unknown `host` gets a 403 page that cannot be framed.
- The frame and the host page speak a checked `postMessage` protocol (static/widget.js and
  static/widget-frame.js): each side accepts a message only from the other's window and
  origin (the frame: the `host` the server checked; the host: this app's origin), only of the
  known types, and sends only to that origin.
- Signing in happens in a pop-up window (Entra ID's pages refuse to be framed): `/auth/signin`
  (or the development sign-in) with `next=/widget/signed-in`, whose page tells the frame
  (same origin only) and closes. The session cookie is SameSite=Strict, so the intranet page
  and the helpdesk must be the same site (e.g. intranet.dept.gov.uk and
  helpdesk.dept.gov.uk); see docs/security.md.
- `GET /api/history`: the signed-in employee's recent conversation (continuity), read from
  Rasa's tracker store.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator

from aiohttp import web

from bot.handoff import widget_push
from bot.handoff.history import ConversationHistory

from ..config import origin_of
from .keys import DATABASE, ENTRA, FRAME_ANCESTORS, SETTINGS
from .rendering import Safe, escape, page, render
from .session_cookie import signed_in

log = logging.getLogger(__name__)

HISTORY = web.AppKey("history", ConversationHistory)
SIGNED_IN_PATH = "/widget/signed-in"
# Where a sign-in may send the browser afterwards: the chat, or the widget's pop-up page.
NEXT_PAGES = frozenset({"/chat", SIGNED_IN_PATH})


def next_page(value: object, default: str = "/chat") -> str:
    return value if isinstance(value, str) and value in NEXT_PAGES else default


def frame_page(title: str, body: Safe, *, scripts: tuple[str, ...] = (),
               host: str = "", status: int = 200) -> web.Response:
    script_tags = "".join(f'\n  <script src="{escape(src)}" defer></script>' for src in scripts)
    document = render("widget_layout.html", title=title, scripts=Safe(script_tags), body=body,
                      host=host)
    return web.Response(text=document, content_type="text/html", charset="utf-8",
                        status=status)


def _signin_link(request: web.Request) -> str | None:
    settings = request.app[SETTINGS]
    if request.app.get(ENTRA) is not None:
        return f"/auth/signin?next={SIGNED_IN_PATH}"
    if settings.dev_signin_enabled:
        return f"/signin?next={SIGNED_IN_PATH}"
    return None


async def frame(request: web.Request) -> web.StreamResponse:
    """`GET /widget?host=<origin>`: the chat panel, framable by the allowed origins only."""
    allowed = request.app[SETTINGS].widget_allowed_origins
    host = origin_of(request.query.get("host", ""))
    if host is None or host not in allowed:
        log.info("widget.frame.refused reason=origin not allowed")
        return page("Not available here", Safe(
            "<h1>The helpdesk cannot be shown on this page</h1>"
            "<p>This site is not one the helpdesk may be embedded in.</p>"), status=403)
    request[FRAME_ANCESTORS] = allowed
    claims = await signed_in(request)
    if claims is None:
        link = _signin_link(request)
        body = render("widget_signin.html", href=link) if link else render(
            "widget_signin_unavailable.html")
        return frame_page("Sign in to the helpdesk", body,
                          scripts=("/static/widget-frame.js",), host=host)
    return frame_page("Helpdesk chat", render("widget_frame.html"),
                      scripts=("/static/chat.js", "/static/widget-frame.js"), host=host)


async def signed_in_page(request: web.Request) -> web.StreamResponse:
    """The pop-up's last page: tells the widget (same origin only) and closes."""
    return page("Signed in", Safe(
        "<h1>You are signed in</h1><p>You can close this window and go back to the page you "
        "were on.</p>"), scripts=("/static/widget-signed-in.js",))


async def history(request: web.Request) -> web.StreamResponse:
    """`GET /api/history`: the signed-in employee's recent conversation, oldest first."""
    claims = await signed_in(request)
    if claims is None:
        return web.json_response({"error": "session expired, please sign in again"},
                                 status=401)
    reader = request.app.get(HISTORY)
    if reader is None:
        return web.json_response({"now": time.time(), "messages": []})
    conversation = widget_push.widget_conversation_id(claims.tenant, claims.subject)
    messages = await asyncio.to_thread(reader.recent, conversation)
    return web.json_response({"now": time.time(), "messages": [m.as_json() for m in messages]})


async def seen(request: web.Request) -> web.StreamResponse:
    """`POST /api/seen`: the chat is on the employee's screen now (chat.js says so when it shows
    messages): what it showed is not e-mailed (bot/email_notices)."""
    claims = await signed_in(request)
    if claims is None:
        return web.json_response({"error": "session expired, please sign in again"},
                                 status=401)
    conversation = widget_push.widget_conversation_id(claims.tenant, claims.subject)
    await asyncio.to_thread(_mark_viewed, request, claims.principal, conversation)
    return web.json_response({"ok": True})


def _mark_viewed(request: web.Request, principal, conversation: str) -> None:  # noqa: ANN001
    from bot.email_notices.service import mark_viewed
    from bot.identity import find_employee
    database = request.app[DATABASE]
    with database.unit_of_work() as session:
        employee = find_employee(session, principal)
    if employee is not None:
        mark_viewed(database, conversation, employee.id)


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]

    async def history_context(app: web.Application) -> AsyncIterator[None]:
        try:
            app[HISTORY] = ConversationHistory(settings.tracker_store_url)
        except ValueError as error:
            log.warning("widget: no conversation history (%s)", error)
        try:
            yield
        finally:
            if HISTORY in app:
                app[HISTORY].dispose()

    app.cleanup_ctx.append(history_context)
    app.router.add_get("/widget", frame)
    app.router.add_get(SIGNED_IN_PATH, signed_in_page)
    app.router.add_get("/api/history", history)
    app.router.add_post("/api/seen", seen)
