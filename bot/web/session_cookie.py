"""The `hd_session` cookie that carries the widget session token in the browser."""
from __future__ import annotations

from aiohttp import web

from . import session_tokens
from .keys import COOKIE_SECURE, SETTINGS
from .session_tokens import Claims, InvalidSessionToken

COOKIE_NAME = "hd_session"


def session_token(request: web.Request) -> str | None:
    return request.cookies.get(COOKIE_NAME) or None


def current_claims(request: web.Request) -> Claims | None:
    """The verified claims of the request's session cookie, or None (absent, invalid, expired)."""
    token = session_token(request)
    if token is None:
        return None
    try:
        return session_tokens.verify(request.app[SETTINGS], token)
    except InvalidSessionToken:
        return None


def set_session_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        COOKIE_NAME,
        token,
        max_age=request.app[SETTINGS].widget_token_ttl_seconds,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.app.get(COOKIE_SECURE, False),
    )


def clear_session_cookie(request: web.Request, response: web.StreamResponse) -> None:
    response.del_cookie(
        COOKIE_NAME,
        path="/",
        httponly=True,
        samesite="Strict",
        secure=request.app.get(COOKIE_SECURE, False),
    )
