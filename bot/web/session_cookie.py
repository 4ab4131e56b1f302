"""The `hd_session` cookie that carries the widget session token in the browser."""
from __future__ import annotations

import asyncio

from aiohttp import web

from ..signin import sessions
from . import session_tokens
from .keys import COOKIE_SECURE, DATABASE, SETTINGS
from .session_tokens import Claims, InvalidSessionToken

COOKIE_NAME = "hd_session"


def session_token(request: web.Request) -> str | None:
    return request.cookies.get(COOKIE_NAME) or None


def current_claims(request: web.Request) -> Claims | None:
    """The verified claims of the request's session cookie, or None (absent, invalid, expired).

    Signature and times only: use `signed_in` wherever the request acts for the employee, so
    that a signed-out token is refused too."""
    token = session_token(request)
    if token is None:
        return None
    try:
        return session_tokens.verify(request.app[SETTINGS], token)
    except InvalidSessionToken:
        return None


async def signed_in(request: web.Request) -> Claims | None:
    """The claims of a genuine, current session that has not been signed out, or None."""
    claims = current_claims(request)
    if claims is None:
        return None
    if await asyncio.to_thread(sessions.is_revoked, request.app[DATABASE], claims.token_id):
        return None
    return claims


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
