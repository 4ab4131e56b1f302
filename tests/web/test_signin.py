"""Development sign-in, sign-out, the chat page and the redirects around them."""
from __future__ import annotations

import re
import time

import pytest

from bot.web import session_tokens
from bot.web.session_cookie import COOKIE_NAME

from .conftest import DEMO_NAMES, DEMO_SUBJECTS, cookie_header

pytestmark = pytest.mark.asyncio


def _set_cookie_header(response) -> str:
    values = response.headers.getall("Set-Cookie", [])
    assert len(values) == 1, values
    return values[0]


async def test_signin_page_lists_the_five_demo_employees_as_post_buttons(client):
    response = await client.get("/signin")
    assert response.status == 200
    page = await response.text()
    for subject, name in zip(DEMO_SUBJECTS, DEMO_NAMES):
        assert f'name="subject" value="{subject}"' in page
        assert name in page
    assert page.count('type="submit" name="subject"') == 5
    assert re.search(r'<form method="post" action="/signin"', page)
    assert "Development sign-in" in page
    assert 'lang="en-GB"' in page


async def test_signing_in_sets_an_httponly_strict_cookie_and_redirects_to_chat(client, settings):
    response = await client.post("/signin", data={"subject": "alice.hughes"},
                                 allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/chat"
    cookie = _set_cookie_header(response)
    assert cookie.startswith(f"{COOKIE_NAME}=")
    attributes = {part.strip().split("=")[0].lower(): part.strip()
                  for part in cookie.split(";")[1:]}
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "samesite=strict"
    assert attributes["path"] == "Path=/"
    assert attributes["max-age"] == f"Max-Age={settings.widget_token_ttl_seconds}"
    assert "secure" not in attributes  # plain HTTP in tests; see the cookie_secure test

    token = response.cookies[COOKIE_NAME].value
    assert session_tokens.verify(settings, token).subject == "alice.hughes"


async def test_secure_cookie_when_asked(make_client, settings):
    client = await make_client(settings, cookie_secure=True)
    response = await client.post("/signin", data={"subject": "ben.okafor"},
                                 allow_redirects=False)
    assert response.status == 303
    assert "secure" in _set_cookie_header(response).lower().replace(" ", "").split(";")


async def test_after_signing_in_the_chat_page_greets_the_employee(client):
    response = await client.post("/signin", data={"subject": "alice.hughes"})
    assert response.status == 200
    assert str(response.url.path) == "/chat"
    page = await response.text()
    assert "Signed in as <strong>Alice</strong>" in page


@pytest.mark.parametrize("subject", ["mallory", "", "ALICE.HUGHES", "alice.hughes "])
async def test_unknown_subject_is_refused(client, subject):
    response = await client.post("/signin", data={"subject": subject}, allow_redirects=False)
    assert response.status == 400
    assert "Set-Cookie" not in response.headers


async def test_missing_subject_is_refused(client):
    response = await client.post("/signin", data={}, allow_redirects=False)
    assert response.status == 400
    assert "Set-Cookie" not in response.headers


async def test_subject_of_another_issuer_is_refused(make_client, make_settings):
    client = await make_client(make_settings(widget_token_issuer="other-intranet"))
    page = await (await client.get("/signin")).text()
    assert "alice.hughes" not in page
    response = await client.post("/signin", data={"subject": "alice.hughes"},
                                 allow_redirects=False)
    assert response.status == 400


async def test_dev_signin_disabled_is_404_on_get_and_post(make_client, make_settings):
    client = await make_client(make_settings(dev_signin_enabled=False))
    response = await client.get("/signin")
    assert response.status == 404
    page = await response.text()
    assert "intranet" in page
    assert "alice.hughes" not in page
    response = await client.post("/signin", data={"subject": "alice.hughes"},
                                 allow_redirects=False)
    assert response.status == 404
    assert "Set-Cookie" not in response.headers


async def test_chat_without_cookie_redirects_to_signin(client):
    response = await client.get("/chat", allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/signin"


async def test_chat_with_an_expired_cookie_redirects_to_signin(client, settings):
    old = session_tokens.mint(settings, "alice.hughes", now=time.time() - 7200)
    response = await client.get("/chat", headers=cookie_header(old), allow_redirects=False)
    assert response.status == 302
    assert response.headers["Location"] == "/signin"


async def test_root_redirects_by_session(client, settings):
    response = await client.get("/", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (302, "/signin")
    token = session_tokens.mint(settings, "alice.hughes")
    response = await client.get("/", headers=cookie_header(token), allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (302, "/chat")


async def test_chat_shows_the_subject_when_the_directory_does_not_know_it(client, settings):
    token = session_tokens.mint(settings, "nobody.known")
    response = await client.get("/chat", headers=cookie_header(token))
    assert response.status == 200
    assert "Signed in as <strong>nobody.known</strong>" in await response.text()


async def test_chat_page_escapes_the_subject(client, settings):
    token = session_tokens.mint(settings, "<script>alert(1)</script>")
    page = await (await client.get("/chat", headers=cookie_header(token))).text()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


async def test_signout_clears_the_cookie_and_goes_to_signin(client, settings):
    await client.post("/signin", data={"subject": "alice.hughes"}, allow_redirects=False)
    assert (await client.get("/chat", allow_redirects=False)).status == 200
    response = await client.post("/signout", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/signin"
    cookie = _set_cookie_header(response).lower()
    assert cookie.startswith(f"{COOKIE_NAME}=;") or cookie.startswith(f'{COOKIE_NAME}="";')
    assert "max-age=0" in cookie
    assert (await client.get("/chat", allow_redirects=False)).status == 302


async def test_chat_page_is_accessible_markup_without_inline_script(client, settings):
    token = session_tokens.mint(settings, "alice.hughes")
    page = await (await client.get("/chat", headers=cookie_header(token))).text()
    assert '<html lang="en-GB">' in page
    assert 'role="log"' in page and 'aria-live="polite"' in page
    assert '<label for="message"' in page and 'id="message"' in page
    assert re.search(r'<button id="send" type="submit"[^>]*>Send</button>', page)
    assert 'action="/signout"' in page
    assert 'href="#main"' in page and 'id="main"' in page
    scripts = re.findall(r"<script[^>]*>(.*?)</script>", page, flags=re.S)
    assert scripts == [""], "only the external chat.js, no inline script"
    assert '<script src="/static/chat.js" defer></script>' in page
    assert "style=" not in page
    assert not re.search(r"<[^>]+\son[a-z]+=", page), "no inline event handlers"


async def test_static_files_are_served_with_their_types(client):
    js = await client.get("/static/chat.js")
    assert js.status == 200
    assert js.content_type in ("text/javascript", "application/javascript")
    assert "/api/messages" in await js.text()
    css = await client.get("/static/chat.css")
    assert css.status == 200 and css.content_type == "text/css"
    assert (await client.get("/static/")).status in (403, 404)
    for sneaky in ("/static/%2e%2e/app.py", "/static/..%2fapp.py"):
        response = await client.get(sneaky)
        assert response.status in (403, 404), sneaky
        assert "create_app" not in await response.text()
