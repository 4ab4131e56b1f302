"""Response security headers and the same-origin check on state-changing requests."""
from __future__ import annotations

import ipaddress
import logging
from collections.abc import Awaitable, Callable
from functools import lru_cache

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from yarl import URL

from .keys import COOKIE_SECURE, FRAME_ANCESTORS, SETTINGS

log = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
# The widget's frame page (bot/web/widget.py): framable by the allowed intranet origins only.
FRAMED_POLICY = "default-src 'self'; frame-ancestors {origins}; base-uri 'none'; form-action 'self'"
HSTS = "max-age=31536000; includeSubDomains"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Server-to-server: Microsoft's and Slack's servers POST here (channel_relay.py), no browser is
# involved, and Rasa's channels verify each request's JWT or signature themselves.
SERVER_TO_SERVER_PATHS = frozenset({"/webhooks/msteams/webhook", "/webhooks/slack/webhook"})
STATIC_PREFIX = "/static/"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare` hook: runs for every response, errors and static files included."""
    headers = response.headers
    framers = request.get(FRAME_ANCESTORS)
    headers["Content-Security-Policy"] = (
        FRAMED_POLICY.format(origins=" ".join(sorted(framers))) if framers
        else CONTENT_SECURITY_POLICY)
    headers["X-Content-Type-Options"] = "nosniff"
    # same-origin, not no-referrer: under no-referrer browsers send "Origin: null" with form
    # posts, which the Origin check must refuse. Nothing leaks to other sites either way.
    headers["Referrer-Policy"] = "same-origin"
    if request.app.get(COOKIE_SECURE, False):  # served over HTTPS: browsers keep to it
        headers["Strict-Transport-Security"] = HSTS
    # Pages and API answers are per-user: never store them. Static files may be cached.
    if not request.path.startswith(STATIC_PREFIX):
        headers["Cache-Control"] = "no-store"


def from_trusted_proxy(request: web.Request) -> bool:
    """Whether the peer is one of the reverse proxies named in WEB_TRUSTED_PROXIES: only then
    are its X-Forwarded-For and X-Forwarded-Proto headers believed."""
    return is_trusted_proxy(request.remote or "", request.app[SETTINGS].trusted_proxies)


@lru_cache(maxsize=16)
def _networks(entries: frozenset[str]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def is_trusted_proxy(peer: str, entries: frozenset[str]) -> bool:
    """The peer's address is one of the entries, or inside one of their networks (an ingress
    controller's pods in Kubernetes: their addresses change, their network does not)."""
    if not entries:
        return False
    try:
        address = ipaddress.ip_address(peer)
    except ValueError:  # a Unix socket, or no peer at all
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # an IPv4 peer seen through a dual-stack socket
    return any(address in network for network in _networks(entries))


def client_address(request: web.Request) -> str:
    """The client's address: the peer, or behind a trusted proxy the address the proxy saw
    (the last X-Forwarded-For entry, the one that proxy appended)."""
    peer = request.remote or "unknown"
    if from_trusted_proxy(request):
        forwarded = request.headers.get("X-Forwarded-For", "").split(",")[-1].strip()
        if forwarded and len(forwarded) <= 64:
            return forwarded
    return peer


def _origin_key(url: URL) -> tuple[str, str, int | None]:
    return ((url.scheme or "").lower(), (url.host or "").lower(), url.port)


def expected_origin(request: web.Request) -> URL:
    """This request's own origin. Behind TLS (secure cookies) the browser's origin is https;
    otherwise the scheme a trusted proxy forwarded, else the connection's own."""
    scheme = request.scheme
    if request.app.get(COOKIE_SECURE, False):
        scheme = "https"
    elif from_trusted_proxy(request):
        forwarded = request.headers.get("X-Forwarded-Proto", "").strip().lower()
        scheme = forwarded if forwarded in ("http", "https") else scheme
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


class MalformedHttpFilter(logging.Filter):
    """aiohttp logs a request it cannot even parse (bad bytes in the URL or headers, a broken
    chunked body) with a full stack trace, though it answers 400: the client's mistake, not
    ours. Such records keep their one-line reason at INFO and lose the trace; any other error
    keeps everything."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if isinstance(error, HttpProcessingError) and (error.code or 400) < 500:
            record.exc_info, record.exc_text = None, None
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.msg = f"malformed request refused: {type(error).__name__} {error.code}"
            record.args = ()
        return True


_MALFORMED_HTTP_FILTER = MalformedHttpFilter()


def quiet_malformed_requests() -> None:
    """Install the filter on aiohttp's server logger (once per process)."""
    server_log = logging.getLogger("aiohttp.server")
    if _MALFORMED_HTTP_FILTER not in server_log.filters:
        server_log.addFilter(_MALFORMED_HTTP_FILTER)
