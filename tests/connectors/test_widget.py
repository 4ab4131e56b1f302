"""The web-widget channel: only a valid signed session token makes a message."""
from __future__ import annotations

import time
import json
import urllib.error
import urllib.request

import jwt
import pytest

from connectors import widget
from connectors.principal import conversation_id
from connectors.widget import (
    LEEWAY_SECONDS,
    InvalidMessage,
    InvalidToken,
    WidgetInput,
    bearer_token,
    parse_incoming,
    verify_session_token,
)

from .conftest import AUDIENCE, ISSUER, SECRET, ChannelServer


def make_token(secret: str, *, algorithm: str = "HS256", drop: tuple[str, ...] = (),
               **overrides: object) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": "alice.hughes", "iat": now, "nbf": now,
              "exp": now + 600, "jti": "x"}
    claims.update(overrides)
    for name in drop:
        claims.pop(name)
    return jwt.encode(claims, secret, algorithm=algorithm)


def unsigned_token() -> str:
    header = jwt.utils.base64url_encode(b'{"alg":"none","typ":"JWT"}').decode()
    now = int(time.time())
    body = jwt.utils.base64url_encode(
        f'{{"iss":"{ISSUER}","aud":"{AUDIENCE}","sub":"alice.hughes","iat":{now},'
        f'"nbf":{now},"exp":{now + 600}}}'.encode()
    ).decode()
    return f"{header}.{body}."


# --- pure functions ---------------------------------------------------------------------------

def test_a_valid_token_gives_its_issuer_and_subject() -> None:
    session = verify_session_token(make_token(SECRET), SECRET, ISSUER, AUDIENCE)
    assert (session.issuer, session.subject) == (ISSUER, "alice.hughes")


def forged_tokens(secret: str) -> dict[str, str]:
    valid = make_token(secret)
    head, body, signature = valid.split(".")
    flipped = signature[:-2] + ("A" if signature[-2] != "A" else "B") + signature[-1]
    return {
        "tampered signature": f"{head}.{body}.{flipped}",
        "tampered body": f"{head}.{make_token(secret, sub='ben.okafor').split('.')[1]}.{signature}",
        "other secret": make_token("x" * 48),
        "expired": make_token(secret, exp=int(time.time()) - 3600),
        "not yet valid": make_token(secret, nbf=int(time.time()) + 3600),
        "issued in the future": make_token(secret, iat=int(time.time()) + 3600),
        "NaN expiry": make_token(secret, exp=float("nan")),
        "boolean not-before": make_token(secret, nbf=True),
        "wrong issuer": make_token(secret, iss="somebody-else"),
        "wrong audience": make_token(secret, aud="another-app"),
        "HS512": make_token(secret, algorithm="HS512"),
        "alg none": unsigned_token(),
        "no exp": make_token(secret, drop=("exp",)),
        "no sub": make_token(secret, drop=("sub",)),
        "no iss": make_token(secret, drop=("iss",)),
        "no aud": make_token(secret, drop=("aud",)),
        "empty sub": make_token(secret, sub=""),
        "numeric sub": make_token(secret, sub=12),
        "garbage": "not-a-jwt",
    }


@pytest.mark.parametrize("case", list(forged_tokens(SECRET)))
def test_forged_tokens_are_refused(case: str) -> None:
    with pytest.raises(InvalidToken):
        verify_session_token(forged_tokens(SECRET)[case], SECRET, ISSUER, AUDIENCE)


@pytest.mark.parametrize("header", [None, "", "Bearer", "Bearer   ", "Basic abc", "token abc"])
def test_missing_or_foreign_authorization_is_refused(header: str | None) -> None:
    with pytest.raises(InvalidToken):
        bearer_token(header)


@pytest.mark.parametrize(
    "body",
    [None, [], "hi", {}, {"text": ""}, {"text": "   "}, {"text": 5}, {"text": "x" * 2001},
     {"text": "hi", "message_id": "../../etc"}, {"text": "hi", "message_id": 7}],
)
def test_malformed_bodies_are_refused(body: object) -> None:
    with pytest.raises(InvalidMessage):
        parse_incoming(body)


def test_text_is_trimmed_and_message_id_kept() -> None:
    message = parse_incoming({"text": "  how much leave?  ", "message_id": "ab12-cd"})
    assert (message.text, message.message_id) == ("how much leave?", "ab12-cd")


def test_from_credentials_refuses_a_short_secret() -> None:
    with pytest.raises(ValueError):
        WidgetInput.from_credentials({"token_secret": "short"})


# --- the verified-token cache: the signature once per token, the clock at every call -----------

def counting_decodes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    decoded: list[str] = []
    real_decode = widget.jwt.decode

    def counting_decode(token: str, *args: object, **kwargs: object) -> object:
        decoded.append(token)
        return real_decode(token, *args, **kwargs)

    monkeypatch.setattr(widget.jwt, "decode", counting_decode)
    return decoded


def test_a_token_is_decoded_once_however_often_it_is_verified(
        monkeypatch: pytest.MonkeyPatch) -> None:
    decoded = counting_decodes(monkeypatch)
    token, other = make_token(SECRET, jti="once"), make_token(SECRET, jti="other")
    for _ in range(5):
        assert verify_session_token(token, SECRET, ISSUER, AUDIENCE).subject == "alice.hughes"
    verify_session_token(other, SECRET, ISSUER, AUDIENCE)
    assert decoded == [token, other]


def test_a_kept_token_still_expires() -> None:
    token = make_token(SECRET, jti="expires")
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    verify_session_token(token, SECRET, ISSUER, AUDIENCE)
    verify_session_token(token, SECRET, ISSUER, AUDIENCE, now=expires_at + LEEWAY_SECONDS - 1)
    with pytest.raises(InvalidToken, match="window"):
        verify_session_token(token, SECRET, ISSUER, AUDIENCE, now=expires_at + LEEWAY_SECONDS)


def test_a_token_refused_as_too_early_is_accepted_once_valid() -> None:
    later = int(time.time()) + 3600
    token = make_token(SECRET, iat=later, nbf=later, exp=later + 600, jti="early")
    with pytest.raises(InvalidToken):
        verify_session_token(token, SECRET, ISSUER, AUDIENCE)
    assert verify_session_token(token, SECRET, ISSUER, AUDIENCE, now=later).subject \
        == "alice.hughes"


def test_a_kept_token_is_checked_again_against_another_secret_issuer_or_audience() -> None:
    token = make_token(SECRET, jti="kept")
    verify_session_token(token, SECRET, ISSUER, AUDIENCE)
    for secret, issuer, audience in [("y" * 48, ISSUER, AUDIENCE), (SECRET, "other", AUDIENCE),
                                     (SECRET, ISSUER, "other")]:
        with pytest.raises(InvalidToken):
            verify_session_token(token, secret, issuer, audience)


def test_refused_tokens_are_not_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    decoded = counting_decodes(monkeypatch)
    forged = make_token("x" * 48, jti="forged")
    for _ in range(3):
        with pytest.raises(InvalidToken):
            verify_session_token(forged, SECRET, ISSUER, AUDIENCE)
    assert decoded == [forged] * 3


# --- over HTTP --------------------------------------------------------------------------------

def post(server: ChannelServer, token: str | None, body: object = None,
         raw: bytes | None = None) -> tuple[int, object]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(f"{server.base_url}/widget/webhook", data=data,
                                     headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_a_verified_message_reaches_the_agent_with_the_principal(server: ChannelServer) -> None:
    status, body = post(server, make_token(SECRET),
                        {"text": "leave balance", "message_id": "m1", "sender": "ben.okafor",
                         "metadata": {"principal": {"channel": "widget", "tenant": ISSUER,
                                                    "subject": "ben.okafor"}}})
    assert status == 200
    assert body == [{"recipient_id": conversation_id("widget", ISSUER, "alice.hughes"),
                     "text": "reply"}]
    [message] = server.agent.messages
    assert message.text == "leave balance"
    assert message.message_id == "m1"
    assert message.input_channel == "widget"
    # The client's own "sender" and "metadata" are ignored: identity comes from the token.
    assert message.sender_id == conversation_id("widget", ISSUER, "alice.hughes")
    assert message.metadata == {
        "principal": {"channel": "widget", "tenant": ISSUER, "subject": "alice.hughes"}
    }


def test_two_employees_get_two_conversations(server: ChannelServer) -> None:
    post(server, make_token(SECRET), {"text": "hi"})
    post(server, make_token(SECRET, sub="ben.okafor"), {"text": "hi"})
    first, second = server.agent.messages
    assert first.sender_id != second.sender_id
    assert "alice" not in first.sender_id  # opaque in logs and URLs


@pytest.mark.parametrize("case", list(forged_tokens(SECRET)) + ["missing"])
def test_forged_requests_get_401_and_never_reach_the_agent(server: ChannelServer,
                                                          case: str) -> None:
    token = None if case == "missing" else forged_tokens(SECRET)[case]
    status, body = post(server, token, {"text": "leave balance"})
    assert (status, body) == (401, {"error": "invalid or expired session"})
    assert server.agent.messages == []


def test_the_token_is_checked_before_the_body(server: ChannelServer) -> None:
    assert post(server, None, raw=b"{not json")[0] == 401
    assert server.agent.messages == []


def test_bad_bodies_get_400(server: ChannelServer) -> None:
    token = make_token(SECRET)
    assert post(server, token, raw=b"{not json") == (400, {"error": "body is not valid JSON"})
    assert post(server, token, {"text": ""}) == (400, {"error": "text is required"})
    assert server.agent.messages == []


def test_oversized_bodies_get_413(server: ChannelServer) -> None:
    status, _ = post(server, make_token(SECRET), {"text": "hi", "pad": "x" * 20_000})
    assert status == 413
    assert server.agent.messages == []
