"""POST /api/messages: the verified proxy from the browser to Rasa's widget channel."""
from __future__ import annotations

import json
import re
import time

import jwt
import pytest
from aiohttp import web

from bot.web import session_tokens
from bot.web.api import ASSISTANT_UNAVAILABLE, SESSION_EXPIRED

from .conftest import OTHER_SECRET, FakeRasa, b64url, cookie_header

pytestmark = pytest.mark.asyncio

JSON = {"Content-Type": "application/json"}


def _headers(token: str, **extra: str) -> dict[str, str]:
    return {**JSON, **cookie_header(token), **extra}


@pytest.fixture
def token(settings) -> str:
    return session_tokens.mint(settings, "alice.hughes")


async def test_message_reaches_rasa_with_the_same_token_and_the_answer_reaches_the_browser(
    client, fake_rasa, token
):
    text = "How much annual leave do I have left? £ — ünïcødé ✓"
    response = await client.post("/api/messages", json={"text": text},
                                 headers=cookie_header(token))
    assert response.status == 200
    assert response.content_type == "application/json"
    body = await response.json()

    assert len(fake_rasa.calls) == 1
    call = fake_rasa.calls[0]
    assert call["authorization"] == f"Bearer {token}"
    assert call["content_type"] == "application/json"
    assert call["body"]["text"] == text
    assert re.fullmatch(r"[0-9a-f]{32}", call["body"]["message_id"])
    assert set(call["body"]) == {"text", "message_id"}
    assert call["cookie"] is None, "the browser's cookie is not forwarded"

    assert body == {"messages": [
        {"text": "You have 12.5 days of annual leave left."},
        {
            "text": "Anything else?",
            "buttons": [
                {"title": "Book leave", "payload": "/book_leave"},
                {"title": "No, thanks", "payload": "/goodbye"},
            ],
        },
    ]}
    assert "recipient_id" not in await response.text()


async def test_every_message_gets_a_new_message_id(client, fake_rasa, token):
    for _ in range(2):
        response = await client.post("/api/messages", json={"text": "hello"},
                                     headers=cookie_header(token))
        assert response.status == 200
    ids = [call["body"]["message_id"] for call in fake_rasa.calls]
    assert len(set(ids)) == 2


async def test_signing_in_through_the_page_then_sending_works(client, fake_rasa, settings):
    await client.post("/signin", data={"subject": "ben.okafor"}, allow_redirects=False)
    response = await client.post("/api/messages", json={"text": "hi"})
    assert response.status == 200
    forwarded = fake_rasa.calls[0]["authorization"].removeprefix("Bearer ")
    assert session_tokens.verify(settings, forwarded).subject == "ben.okafor"


async def test_text_is_stripped_before_forwarding(client, fake_rasa, token):
    response = await client.post("/api/messages", json={"text": "  hello there \n"},
                                 headers=cookie_header(token))
    assert response.status == 200
    assert fake_rasa.calls[0]["body"]["text"] == "hello there"


async def test_rasa_message_fields_are_filtered(client, fake_rasa, token):
    fake_rasa.reply = [
        {"recipient_id": "x", "text": "hi", "image": "https://example.org/a.png",
         "custom": {"kind": "handoff"}, "attachment": {"a": 1}},
        {"recipient_id": "x"},
        "not an object",
        {"buttons": [{"title": "ok", "payload": "/ok", "extra": 1}, {"title": 3}, "junk"]},
    ]
    response = await client.post("/api/messages", json={"text": "hi"},
                                 headers=cookie_header(token))
    assert await response.json() == {"messages": [
        {"text": "hi", "image": "https://example.org/a.png", "custom": {"kind": "handoff"}},
        {"buttons": [{"title": "ok", "payload": "/ok"}]},
    ]}


async def test_empty_answer_from_rasa_is_an_empty_list(client, fake_rasa, token):
    fake_rasa.reply = []
    response = await client.post("/api/messages", json={"text": "hi"},
                                 headers=cookie_header(token))
    assert response.status == 200
    assert await response.json() == {"messages": []}


# --- sessions that must not reach Rasa --------------------------------------------------


def _flip_signature_character(token: str) -> str:
    header, payload, signature = token.split(".")
    middle = len(signature) // 2  # not the last character: its low bits are padding
    flipped = "A" if signature[middle] != "A" else "B"
    return f"{header}.{payload}.{signature[:middle]}{flipped}{signature[middle + 1:]}"


def _bad_tokens(settings):
    good = session_tokens.mint(settings, "alice.hughes")
    header, _payload, signature = good.split(".")
    now = int(time.time())
    claims = {"iss": settings.widget_token_issuer, "aud": settings.widget_token_audience,
              "sub": "alice.hughes", "iat": now, "nbf": now, "exp": now + 600}
    return {
        "tampered signature": _flip_signature_character(good),
        "other secret": jwt.encode(claims, OTHER_SECRET, algorithm="HS256"),
        "swapped subject": f"{header}.{b64url({**claims, 'sub': 'ben.okafor'})}.{signature}",
        "expired": session_tokens.mint(settings, "alice.hughes",
                                       now=time.time() - settings.widget_token_ttl_seconds - 60),
        "alg none": f"{b64url({'alg': 'none', 'typ': 'JWT'})}.{b64url(claims)}.",
        "HS512": jwt.encode(claims, settings.widget_token_secret, algorithm="HS512"),
        "garbage": "not-a-token",
    }


@pytest.mark.parametrize("kind", ["tampered signature", "other secret", "swapped subject",
                                  "expired", "alg none", "HS512", "garbage"])
async def test_bad_session_is_401_and_nothing_reaches_rasa(client, fake_rasa, settings, kind):
    bad = _bad_tokens(settings)[kind]
    response = await client.post("/api/messages", json={"text": "hello"},
                                 headers=cookie_header(bad))
    assert response.status == 401
    assert await response.json() == {"error": SESSION_EXPIRED}
    assert fake_rasa.calls == []


async def test_missing_cookie_is_401(client, fake_rasa):
    response = await client.post("/api/messages", json={"text": "hello"})
    assert response.status == 401
    assert await response.json() == {"error": SESSION_EXPIRED}
    assert fake_rasa.calls == []


# --- request checks ----------------------------------------------------------------------


async def test_cross_origin_post_is_403(client, fake_rasa, token):
    response = await client.post("/api/messages", json={"text": "hello"},
                                 headers=_headers(token, Origin="https://evil.example"))
    assert response.status == 403
    assert fake_rasa.calls == []


@pytest.mark.parametrize("origin", ["null", "http://127.0.0.1", "https://{host}",
                                    "http://{host}.evil.example", "http://{host}/path"])
async def test_near_miss_origins_are_403(client, fake_rasa, token, origin):
    host = f"{client.server.host}:{client.server.port}"
    response = await client.post("/api/messages", json={"text": "hello"},
                                 headers=_headers(token, Origin=origin.format(host=host)))
    assert response.status == 403
    assert fake_rasa.calls == []


async def test_same_origin_post_is_accepted(client, fake_rasa, token):
    own = f"http://{client.server.host}:{client.server.port}"
    for origin in (own, own.upper().replace("HTTP", "http")):
        response = await client.post("/api/messages", json={"text": "hello"},
                                     headers=_headers(token, Origin=origin))
        assert response.status == 200
    assert len(fake_rasa.calls) == 2


async def test_cross_origin_signin_and_signout_are_403(client):
    evil = {"Origin": "https://evil.example"}
    response = await client.post("/signin", data={"subject": "alice.hughes"}, headers=evil,
                                 allow_redirects=False)
    assert response.status == 403
    assert "Set-Cookie" not in response.headers
    response = await client.post("/signout", headers=evil, allow_redirects=False)
    assert response.status == 403


async def test_secure_mode_expects_an_https_origin(make_client, settings, fake_rasa, token):
    client = await make_client(settings, cookie_secure=True)
    host = f"{client.server.host}:{client.server.port}"
    plain = await client.post("/api/messages", json={"text": "hi"},
                              headers=_headers(token, Origin=f"http://{host}"))
    assert plain.status == 403
    tls = await client.post("/api/messages", json={"text": "hi"},
                            headers=_headers(token, Origin=f"https://{host}"))
    assert tls.status == 200


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
async def test_non_json_is_415(client, fake_rasa, token, content_type):
    response = await client.post("/api/messages", data='{"text": "hello"}',
                                 headers={**cookie_header(token), "Content-Type": content_type})
    assert response.status == 415
    assert "error" in await response.json()
    assert fake_rasa.calls == []


@pytest.mark.parametrize("raw", ["{not json", "", "[1, 2]", '"hello"', '{"text": 5}',
                                 '{"message": "hello"}', '{"text": null}'])
async def test_malformed_json_is_400(client, fake_rasa, token, raw):
    response = await client.post("/api/messages", data=raw, headers=_headers(token))
    assert response.status == 400
    assert "error" in await response.json()
    assert fake_rasa.calls == []


@pytest.mark.parametrize("charset, raw", [("no-such-charset", b'{"text": "hello"}'),
                                          ("utf-8", b'{"text": "\xff\xfe"}'),
                                          ("ascii", '{"text": "caf\u00e9"}'.encode())])
async def test_a_body_its_charset_cannot_decode_is_400(client, fake_rasa, token, charset, raw):
    """aiohttp raises LookupError for an unknown charset (found by the fuzz test as a 500)."""
    response = await client.post("/api/messages", data=raw, headers={
        **cookie_header(token), "Content-Type": f"application/json; charset={charset}"})
    assert response.status == 400
    assert "not valid JSON" in (await response.json())["error"]
    assert fake_rasa.calls == []


@pytest.mark.parametrize("text", ["", "   ", "\n\t ", "x" * 2001])
async def test_empty_or_too_long_text_is_400_with_a_clear_message(client, fake_rasa, token, text):
    response = await client.post("/api/messages", json={"text": text},
                                 headers=cookie_header(token))
    assert response.status == 400
    assert "1 to 2000 characters" in (await response.json())["error"]
    assert fake_rasa.calls == []


@pytest.mark.parametrize("character", ["a", "é", "😀", "\u0001", '"'])
async def test_2000_characters_of_any_kind_fit_the_channel_body_limit(client, fake_rasa, token,
                                                                     character):
    text = "x" + character * 1998 + "x"
    response = await client.post("/api/messages", json={"text": text},
                                 headers=cookie_header(token))
    assert response.status == 200
    assert fake_rasa.calls[0]["body"]["text"] == text
    assert fake_rasa.calls[0]["body_bytes"] <= FakeRasa.max_body_bytes


async def test_huge_body_is_refused_before_parsing(client, fake_rasa, token):
    response = await client.post("/api/messages", data='{"text": "' + "x" * 200_000 + '"}',
                                 headers=_headers(token))
    assert response.status == 413
    assert fake_rasa.calls == []


async def test_get_is_not_allowed(client, token):
    response = await client.get("/api/messages", headers=cookie_header(token))
    assert response.status == 405


# --- Rasa failures -----------------------------------------------------------------------


async def test_rasa_down_is_502_with_a_friendly_message(make_client, make_settings,
                                                        closed_port_url):
    settings = make_settings(rasa_url=closed_port_url)
    client = await make_client(settings)
    token = session_tokens.mint(settings, "alice.hughes")
    response = await client.post("/api/messages", json={"text": "hello"},
                                 headers=cookie_header(token))
    assert response.status == 502
    assert await response.json() == {"error": ASSISTANT_UNAVAILABLE}
    assert ASSISTANT_UNAVAILABLE == (
        "The assistant is not available right now. Please try again in a minute."
    )


@pytest.mark.parametrize("status", [500, 502, 503, 404])
async def test_rasa_error_status_is_502(client, fake_rasa, token, status):
    fake_rasa.status = status
    response = await client.post("/api/messages", json={"text": "hello"},
                                 headers=cookie_header(token))
    assert response.status == 502
    assert await response.json() == {"error": ASSISTANT_UNAVAILABLE}


async def test_rasa_answering_something_else_than_a_list_is_502(client, fake_rasa, token):
    fake_rasa.reply = {"text": "not a list"}
    response = await client.post("/api/messages", json={"text": "hello"},
                                 headers=cookie_header(token))
    assert response.status == 502


async def test_rasa_refusing_the_token_is_401(client, fake_rasa, token):
    fake_rasa.status = 401
    response = await client.post("/api/messages", json={"text": "hello"},
                                 headers=cookie_header(token))
    assert response.status == 401
    assert await response.json() == {"error": SESSION_EXPIRED}
    assert len(fake_rasa.calls) == 1


@pytest.mark.parametrize("status", [400, 413])
async def test_rasa_refusing_the_body_is_400(client, fake_rasa, token, status):
    fake_rasa.status = status
    response = await client.post("/api/messages", json={"text": "hello"},
                                 headers=cookie_header(token))
    assert response.status == 400
    assert "error" in await response.json()


# --- a message sent again: one id, marked as a retry (issue 27) ----------------------------------


async def test_the_pages_message_id_and_retry_flag_reach_rasa(client, fake_rasa, token):
    for body in ({"text": "hello", "message_id": "page-0001"},
                 {"text": "hello", "message_id": "page-0001", "retry": True}):
        response = await client.post("/api/messages", json=body, headers=cookie_header(token))
        assert response.status == 200
    assert [call["body"] for call in fake_rasa.calls] == [
        {"text": "hello", "message_id": "page-0001"},
        {"text": "hello", "message_id": "page-0001", "retry": True}]


@pytest.mark.parametrize("extra", [
    {"message_id": "short"}, {"message_id": "../../etc/passwd"}, {"message_id": 12345678},
    {"message_id": "x" * 65}, {"retry": "yes"}, {"retry": True},
    {"message_id": "page-0001", "retry": 1}])
async def test_a_malformed_message_id_or_retry_flag_is_400(client, fake_rasa, token, extra):
    response = await client.post("/api/messages", json={"text": "hello", **extra},
                                 headers=cookie_header(token))
    assert response.status == 400
    assert fake_rasa.calls == []


class FailingFirst:
    """Rasa's widget channel answering `status` to the first `failures` calls, then 200."""

    def __init__(self, fake_rasa, status: int, failures: int) -> None:
        self.fake, self.status, self.left = fake_rasa, status, failures

    async def __call__(self, request):
        raw = await request.read()
        self.fake.calls.append({"body": json.loads(raw)})
        if self.left:
            self.left -= 1
            return web.json_response({"error": "down"}, status=self.status)
        return web.json_response([{"recipient_id": "x", "text": "Hello!"}])


@pytest.mark.parametrize("status", [500, 502, 503])
async def test_a_5xx_is_sent_again_with_the_same_id_as_a_retry_and_answered(
        make_client, make_settings, aiohttp_server, monkeypatch, status):
    from bot.web import api

    monkeypatch.setattr(api, "RETRY_SECONDS", 10.0)
    fake = FakeRasa()
    failing = FailingFirst(fake, status, failures=2)
    app = web.Application()
    app.router.add_post("/webhooks/widget/webhook", failing)
    server = await aiohttp_server(app)
    settings = make_settings(rasa_url=str(server.make_url("/")).rstrip("/"))
    client = await make_client(settings)
    token = session_tokens.mint(settings, "alice.hughes")
    response = await client.post("/api/messages", json={"text": "hi", "message_id": "page-0002"},
                                 headers=cookie_header(token))
    assert response.status == 200
    assert (await response.json())["messages"] == [{"text": "Hello!"}]
    assert [call["body"] for call in fake.calls] == [
        {"text": "hi", "message_id": "page-0002"},
        {"text": "hi", "message_id": "page-0002", "retry": True},
        {"text": "hi", "message_id": "page-0002", "retry": True}]


async def test_rasa_refusing_connections_is_retried_then_502(make_client, make_settings,
                                                            closed_port_url, monkeypatch):
    from bot.web import api

    from bot.web.rasa_client import RasaClient

    attempts = []

    real_send = RasaClient.send

    async def counting_send(self, *args, **kwargs):
        attempts.append(kwargs.get("retry"))
        return await real_send(self, *args, **kwargs)

    monkeypatch.setattr(RasaClient, "send", counting_send)
    monkeypatch.setattr(api, "RETRY_SECONDS", 1.0)
    settings = make_settings(rasa_url=closed_port_url)
    client = await make_client(settings)
    token = session_tokens.mint(settings, "alice.hughes")
    began = time.monotonic()
    response = await client.post("/api/messages", json={"text": "hello"},
                                 headers=cookie_header(token))
    assert response.status == 502
    assert await response.json() == {"error": ASSISTANT_UNAVAILABLE}
    assert time.monotonic() - began < 5
    assert attempts[0] is False and len(attempts) >= 2 and all(attempts[1:])


async def test_a_rasa_timeout_is_not_sent_again(client, fake_rasa, token, monkeypatch):
    from bot.web.rasa_client import RasaClient, RasaUnavailable

    attempts = []

    async def timing_out(self, *args, **kwargs):
        attempts.append(1)
        raise RasaUnavailable("TimeoutError", retryable=False)

    monkeypatch.setattr(RasaClient, "send", timing_out)
    response = await client.post("/api/messages", json={"text": "hello"},
                                 headers=cookie_header(token))
    assert response.status == 502 and attempts == [1]
