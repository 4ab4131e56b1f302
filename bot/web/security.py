"""Response security headers and the same-origin check on state-changing requests."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web
from yarl import URL

from .keys import COOKIE_SECURE

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Server-to-server: Microsoft's and Slack's servers POST here (channel_relay.py), no browser is
# involved, and Rasa's channels verify each request's JWT or signature themselves.
SERVER_TO_SERVER_PATHS = frozenset({"/webhooks/msteams/webhook", "/webhooks/slack/webhook"})
STATIC_PREFIX = "/static/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare` hook: runs for every response, errors and static files included."""
    headers = response.headers
    headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    headers["X-Content-Type-Options"] = "nosniff"
    # same-origin, not no-referrer: under no-referrer browsers send "Origin: null" with form
    # posts, which the Origin check must refuse. Nothing leaks to other sites either way.
    headers["Referrer-Policy"] = "same-origin"
    # Pages and API answers are per-user: never store them. Static files may be cached.
    if not request.path.startswith(STATIC_PREFIX):
        headers["Cache-Control"] = "no-store"


def _origin_key(url: URL) -> tuple[str, str, int | None]:
    return ((url.scheme or "").lower(), (url.host or "").lower(), url.port)


def expected_origin(request: web.Request) -> URL:
    """This request's own origin. Behind TLS (secure cookies) the browser's origin is https."""
    scheme = "https" if request.app.get(COOKIE_SECURE, False) else request.scheme
    return URL.build(scheme=scheme, authority=request.host)


def origin_allowed(request: web.Request) -> bool:
    """True unless the request carries an Origin header naming another origin."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    try:
        claimed = URL(origin.strip())
    except (ValueError, TypeError):
        return False
    if not claimed.is_absolute() or claimed.path not in ("", "/"):
        return False  # "null", garbage, or not an origin at all
    try:
        own = expected_origin(request)
    except (ValueError, TypeError):
        return False
    return _origin_key(claimed) == _origin_key(own)


@web.middleware
async def origin_check(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Refuse cross-origin POSTs (CSRF defence, together with SameSite=Strict cookies)."""
    if (request.method not in SAFE_METHODS and request.path not in SERVER_TO_SERVER_PATHS
            and not origin_allowed(request)):
        log.info("request refused: cross-origin %s %s", request.method, request.path)
        if request.path.startswith("/api/"):
            return web.json_response({"error": "cross-origin request refused"}, status=403)
        return web.Response(text="Cross-origin request refused.", status=403)
    return await handler(request)
