"""The web app factory: pages, the message API, health and static files."""
from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from ..config import Settings
from ..storage.database import Database
from . import (
    api,
    channel_relay,
    console,
    entra_pages,
    health,
    knowledge_page,
    my_queries,
    pages,
    widget,
)
from .keys import COOKIE_SECURE, DATABASE, ENTRA, RASA_CLIENT, SETTINGS
from .rasa_client import RasaClient, new_client_session
from .security import add_security_headers, origin_check, quiet_malformed_requests

STATIC_DIR = Path(__file__).resolve().parent / "static"
# A 2000-character message is at most ~24 kB of JSON even with every character \u-escaped.
MAX_REQUEST_BYTES = 64 * 1024


def create_app(
    settings: Settings,
    database: Database | None = None,
    *,
    cookie_secure: bool | None = None,
) -> web.Application:
    """Build the application; nothing connects until it starts.

    `database`: pass one to share it (the caller disposes of it); by default the app builds its
    own from `settings.database_url` at start-up and disposes of it at shutdown.
    `cookie_secure`: mark the session cookie Secure (and expect an https Origin); defaults to
    `settings.cookie_secure` (WEB_COOKIE_SECURE), on whenever browsers reach the app over HTTPS.
    """
    settings.require_widget_secret()  # fail fast: no secret, no sessions
    quiet_malformed_requests()

    app = web.Application(middlewares=[origin_check], client_max_size=MAX_REQUEST_BYTES)
    app[SETTINGS] = settings
    app[COOKIE_SECURE] = settings.cookie_secure if cookie_secure is None else cookie_secure
    app.on_response_prepare.append(add_security_headers)
    client = entra_pages.entra_client(settings)  # None: Entra ID sign-in not configured
    if client is not None:
        app[ENTRA] = client

    async def database_context(app: web.Application) -> AsyncIterator[None]:
        owned = database is None
        app[DATABASE] = Database(settings.database_url) if owned else database
        try:
            yield
        finally:
            if owned:
                app[DATABASE].dispose()

    async def rasa_context(app: web.Application) -> AsyncIterator[None]:
        session = new_client_session()
        app[RASA_CLIENT] = RasaClient(settings.rasa_url, session)
        try:
            yield
        finally:
            await session.close()

    app.cleanup_ctx.append(database_context)
    app.cleanup_ctx.append(rasa_context)

    app.router.add_get("/", pages.index)
    app.router.add_get("/signin", pages.signin_form)
    app.router.add_post("/signin", pages.signin)
    app.router.add_post("/signout", pages.signout)
    app.router.add_get("/auth/signin", entra_pages.employee_signin)
    app.router.add_get("/auth/callback", entra_pages.callback)
    app.router.add_get("/chat", pages.chat)
    app.router.add_post("/api/messages", api.post_message)
    app.router.add_get("/knowledge/articles/{article_id}", knowledge_page.article)
    app.router.add_get("/healthz", health.healthz)
    app.router.add_static("/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
    widget.setup(app)  # the embeddable widget's frame, its sign-in page, the chat's history
    console.setup(app)  # agent console, the widget's live events, Rasa's widget pushes
    my_queries.setup(app)  # the employee's own tickets (after console: its ticket policy)
    channel_relay.setup(app)  # Teams and Slack webhooks, relayed unchanged to Rasa's channels
    return app
