"""Security headers on every response; no caching of pages and API answers."""
from __future__ import annotations

import pytest

from bot.web import session_tokens

from .conftest import cookie_header

pytestmark = pytest.mark.asyncio

CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"


def _assert_security_headers(response) -> None:
    assert response.headers["Content-Security-Policy"] == CSP
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "same-origin"


@pytest.mark.parametrize("method, path, status", [
    ("GET", "/signin", 200),
    ("GET", "/chat", 302),
    ("GET", "/", 302),
    ("POST", "/api/messages", 401),
    ("GET", "/healthz", 200),
    ("GET", "/no-such-page", 404),
    ("POST", "/signin", 400),
    ("POST", "/signout", 303),
])
async def test_pages_api_and_errors_have_security_headers_and_no_store(client, method, path,
                                                                       status):
    response = await client.request(method, path, allow_redirects=False)
    assert response.status == status
    _assert_security_headers(response)
    assert response.headers["Cache-Control"] == "no-store"


async def test_chat_page_and_api_answer_have_security_headers(client, settings):
    token = session_tokens.mint(settings, "alice.hughes")
    page = await client.get("/chat", headers=cookie_header(token))
    assert page.status == 200
    _assert_security_headers(page)
    assert page.headers["Cache-Control"] == "no-store"
    answer = await client.post("/api/messages", json={"text": "hi"}, headers=cookie_header(token))
    assert answer.status == 200
    _assert_security_headers(answer)
    assert answer.headers["Cache-Control"] == "no-store"


async def test_cross_origin_refusal_has_security_headers(client):
    response = await client.post("/api/messages", json={"text": "hi"},
                                 headers={"Origin": "https://evil.example"})
    assert response.status == 403
    _assert_security_headers(response)


async def test_static_files_have_security_headers_and_may_be_cached(client):
    response = await client.get("/static/chat.css")
    assert response.status == 200
    _assert_security_headers(response)
    assert "no-store" not in response.headers.get("Cache-Control", "")


async def test_disabled_signin_404_page_has_security_headers(make_client, make_settings):
    client = await make_client(make_settings(dev_signin_enabled=False))
    response = await client.get("/signin")
    assert response.status == 404
    _assert_security_headers(response)
