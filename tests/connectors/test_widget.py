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

from .conftest import AUDIENCE, ISSUER, SECRET, ChannelServer, signed_principal


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


def test_from_credentials_needs_a_principal_key() -> None:
    with pytest.raises(ValueError, match="principal_key"):
        WidgetInput.from_credentials({"token_secret": SECRET})
    with pytest.raises(ValueError, match="principal_key"):
        WidgetInput.from_credentials({"token_secret": SECRET, "principal_key": "short"})


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
    assert signed_principal(message) == {
        "channel": "widget", "tenant": ISSUER, "subject": "alice.hughes"}


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
    assert post(server, token, raw=b"{not json") == (400, {"error": "body is not valid UTF-8 JSON"})
    assert post(server, token, {"text": ""}) == (400, {"error": "text is required"})
    assert server.agent.messages == []


def test_oversized_bodies_get_413(server: ChannelServer) -> None:
    status, _ = post(server, make_token(SECRET), {"text": "hi", "pad": "x" * 20_000})
    assert status == 413
    assert server.agent.messages == []


def test_a_body_that_is_not_utf8_or_is_nested_too_deep_is_a_400(server: ChannelServer) -> None:
    """Both were a 500 (UnicodeDecodeError, RecursionError) once the token was genuine."""
    token = make_token(SECRET)
    for raw in (b"\xff\xfe{}", b"\x00" * 9, b"[" * 8000 + b"]" * 8000):
        assert post(server, token, raw=raw) == (400, {"error": "body is not valid UTF-8 JSON"})


# --- sessions opened by Entra ID sign-in (the web app mints them; issue 24) -------------------

ENTRA_TENANT = "8d3f1a52-6c1e-4b8f-9d2a-0e5c7b4f1a23"
OBJECT_ID = "11111111-aaaa-4bbb-8ccc-000000000001"


def test_an_entra_session_names_the_entra_user_of_the_configured_tenant() -> None:
    token = make_token(SECRET, sub=OBJECT_ID, idp="entra", tid=ENTRA_TENANT)
    session = verify_session_token(token, SECRET, ISSUER, AUDIENCE, entra_tenant=ENTRA_TENANT)
    assert (session.principal_tenant, session.subject) == (f"entra:{ENTRA_TENANT}", OBJECT_ID)
    # A different conversation from the intranet identity of the same subject string.
    assert conversation_id("widget", session.principal_tenant, OBJECT_ID) != \
        conversation_id("widget", ISSUER, OBJECT_ID)


@pytest.mark.parametrize("claims, configured", [
    ({"idp": "entra", "tid": "0b1c2d3e-4f50-4617-8a9b-c0d1e2f3a4b5"}, ENTRA_TENANT),
    ({"idp": "entra", "tid": ENTRA_TENANT}, ""),  # no tenant configured: none accepted
    ({"idp": "entra"}, ENTRA_TENANT),
    ({"idp": "entra", "tid": 7}, ENTRA_TENANT),
    ({"idp": "google", "tid": ENTRA_TENANT}, ENTRA_TENANT),
    ({"idp": None, "tid": ENTRA_TENANT}, ENTRA_TENANT),
])
def test_other_identity_providers_and_tenants_are_refused(claims: dict, configured: str) -> None:
    token = make_token(SECRET, sub=OBJECT_ID, **claims)
    with pytest.raises(InvalidToken):
        verify_session_token(token, SECRET, ISSUER, AUDIENCE, entra_tenant=configured)


def test_from_credentials_reads_the_entra_tenant() -> None:
    channel = WidgetInput.from_credentials({"token_secret": SECRET, "principal_key": "k" * 40,
                                            "entra_tenant_id": ENTRA_TENANT.upper()})
    assert channel.entra_tenant == ENTRA_TENANT


# --- a message sent again (issue 27): answered from the conversation, never handled twice -------

def test_retry_is_read_and_needs_a_message_id() -> None:
    assert parse_incoming({"text": "hi", "message_id": "m-1", "retry": True}).retry is True
    assert parse_incoming({"text": "hi", "message_id": "m-1"}).retry is False
    for body in ({"text": "hi", "retry": True}, {"text": "hi", "message_id": "m-1", "retry": 1},
                 {"text": "hi", "message_id": "m-1", "retry": "true"}):
        with pytest.raises(InvalidMessage):
            parse_incoming(body)


def _conversation_events() -> list:
    from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

    return [
        UserUttered("hello", message_id="m-1"), ActionExecuted("utter_greet"),
        BotUttered("Hello!"), ActionExecuted("action_listen"),
        UserUttered("yes, go ahead", message_id="m-2"), ActionExecuted("action_submit"),
        BotUttered("Done. Your query is logged as PAY-7.",
                   {"buttons": [{"title": "Thanks", "payload": "/thank"}]}),
        SlotSet("kb_topic", None), BotUttered("Anything else?"),
        ActionExecuted("action_listen"),
        UserUttered("thanks", message_id="m-3"),
    ]


def test_the_replies_to_a_handled_message_are_found_by_its_id() -> None:
    events = _conversation_events()
    assert widget.replies_to(events, "m-2", "c") == [
        {"recipient_id": "c", "text": "Done. Your query is logged as PAY-7.",
         "buttons": [{"title": "Thanks", "payload": "/thank"}]},
        {"recipient_id": "c", "text": "Anything else?"}]
    assert widget.replies_to(events, "m-1", "c") == [{"recipient_id": "c", "text": "Hello!"}]
    assert widget.replies_to(events, "m-3", "c") == []  # handled, nothing said (yet)
    assert widget.replies_to(events, "m-4", "c") is None  # never handled: handle it


async def test_answered_before_reads_the_stored_conversation_under_its_lock() -> None:
    from types import SimpleNamespace

    from rasa.core.lock_store import InMemoryLockStore
    from rasa.core.tracker_store import InMemoryTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    store = InMemoryTrackerStore(Domain.empty())
    await store.save(DialogueStateTracker.from_events("c", _conversation_events()))
    locks = InMemoryLockStore()
    agent = SimpleNamespace(lock_store=locks, tracker_store=store)
    assert await widget.answered_before(agent, "c", "m-1") == [
        {"recipient_id": "c", "text": "Hello!"}]
    assert await widget.answered_before(agent, "c", "m-9") is None
    assert await widget.answered_before(agent, "nobody", "m-1") is None
    assert await widget.answered_before(SimpleNamespace(), "c", "m-1") is None
    assert locks.get_lock("c") is None or locks.get_lock("c").is_locked(0) is False
