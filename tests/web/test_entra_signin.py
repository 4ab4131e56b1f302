"""Employee sign-in with Entra ID against a local fake (HTTPS, discovery, JWKS, token endpoint):
the whole authorisation code flow with PKCE, the session it opens, one person = one employee
with Teams, the unknown person's page, key rotation, and sign-out that really ends the session.
"""
from __future__ import annotations

import dataclasses
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from bot.identity import Principal, find_employee
from bot.signin import sessions
from bot.storage.models import AuditEvent as AuditRow
from bot.web import session_tokens
from bot.web.keys import ENTRA, SETTINGS
from bot.web.session_cookie import COOKIE_NAME

from .entra_support import (
    ALICE_OID,
    REDIRECT_URI,
    entra,  # noqa: F401  (fixture)
    entra_certificates,  # noqa: F401  (fixture)
    entra_settings,
    finish,
    link_entra_users,
    start_flow,
)

pytestmark = pytest.mark.asyncio


@pytest.fixture
async def entra_client(make_client, settings, entra, entra_certificates, database):  # noqa: F811
    link_entra_users(database)
    return await make_client(entra_settings(settings, entra, entra_certificates[0]))


def _session_token(response) -> str | None:  # noqa: ANN001
    morsel = response.cookies.get(COOKIE_NAME)
    return morsel.value if morsel is not None and morsel.value else None


async def test_the_authorisation_request_is_code_flow_with_pkce_nonce_and_state(
        entra_client, entra):  # noqa: F811
    started = await entra_client.get("/auth/signin", allow_redirects=False)
    assert started.status == 303
    location = urlsplit(started.headers["Location"])
    query = {k: v[0] for k, v in parse_qs(location.query).items()}
    assert f"{location.scheme}://{location.netloc}" == entra.base_url
    assert location.path == f"/{entra.tenant_id}/oauth2/v2.0/authorize"
    assert query["response_type"] == "code"
    assert query["client_id"] == entra.client_id
    assert query["redirect_uri"] == REDIRECT_URI
    assert query["code_challenge_method"] == "S256" and len(query["code_challenge"]) >= 43
    assert len(query["state"]) >= 16 and len(query["nonce"]) >= 16
    assert "openid" in query["scope"].split() and "offline_access" not in query["scope"]
    assert query.get("response_mode") == "query"
    binding = started.headers.getall("Set-Cookie")
    assert any(c.startswith("hd_oidc=") and "HttpOnly" in c and "SameSite=Lax" in c
               and "Path=/auth" in c for c in binding), binding
    # Nothing secret in the URL: the PKCE verifier stays on the server.
    assert "code_verifier" not in started.headers["Location"]


async def test_signing_in_opens_a_session_for_the_employee_teams_knows(
        entra_client, entra, entra_certificates, database, settings, fake_rasa):  # noqa: F811
    flow = await start_flow(entra_client, entra_certificates[0], "alice")
    response = await finish(entra_client, flow)
    assert response.status == 200, await response.text()
    page = await response.text()
    assert 'http-equiv="refresh" content="0;url=/chat"' in page
    token = _session_token(response)
    assert token is not None
    claims = session_tokens.verify(entra_client.server.app[SETTINGS], token)
    assert claims.subject == ALICE_OID
    assert claims.tenant == f"entra:{entra.tenant_id}"
    # The principal is the one Teams' rows name: the same employee as in Teams.
    with database.unit_of_work() as session:
        employee = find_employee(session, claims.principal)
        teams = find_employee(session, Principal("msteams", entra.tenant_id, ALICE_OID))
    assert employee is not None and employee == teams and employee.given_name == "Alice"
    assert sessions.live_count(database, "entra") >= 1
    # The chat page greets her; a message goes to Rasa with the token.
    chat = await entra_client.get("/chat")
    assert chat.status == 200 and "Alice" in await chat.text()
    sent = await entra_client.post("/api/messages", json={"text": "how much leave have I got"})
    assert sent.status == 200
    assert fake_rasa.calls[-1]["authorization"] == f"Bearer {token}"
    # The sign-in is audited, with the principal and no claim values beyond it.
    with database.unit_of_work() as session:
        reasons = session.scalars(select(AuditRow.reason).where(
            AuditRow.action == "sign_in",
            AuditRow.actor_principal == f"widget:entra:{entra.tenant_id}:{ALICE_OID}")).all()
    assert "Entra ID sign-in" in reasons


async def test_a_person_without_an_employee_record_gets_a_clear_page_and_no_session(
        entra_client, entra, entra_certificates, database):  # noqa: F811
    before = sessions.live_count(database)
    flow = await start_flow(entra_client, entra_certificates[0], "stranger")
    response = await finish(entra_client, flow)
    assert response.status == 403
    page = await response.text()
    assert "We could not find your employee record" in page
    assert "contact your HR team" in page
    assert _session_token(response) is None
    assert sessions.live_count(database) == before


async def test_the_callback_is_honoured_once(entra_client, entra, entra_certificates,
                                             database):  # noqa: F811
    flow = await start_flow(entra_client, entra_certificates[0], "ben")
    assert (await finish(entra_client, flow)).status == 200
    count = sessions.live_count(database)
    again = await finish(entra_client, flow)
    assert again.status == 400
    assert "This sign-in has expired" in await again.text()
    assert _session_token(again) is None
    assert sessions.live_count(database) == count


async def test_a_callback_in_another_browser_signs_nobody_in(
        entra_client, make_client, settings, entra, entra_certificates, database):  # noqa: F811
    flow = await start_flow(entra_client, entra_certificates[0], "alice")
    victim = await make_client(entra_settings(settings, entra, entra_certificates[0]))
    count = sessions.live_count(database)
    response = await finish(victim, flow)  # login CSRF: the attacker's callback, no binding
    assert response.status == 400 and _session_token(response) is None
    assert sessions.live_count(database) == count
    # ... and the flow is spent: the browser that started it cannot finish it either.
    assert (await finish(entra_client, flow)).status == 400


async def test_signing_keys_rotate(entra_client, entra, entra_certificates, database):  # noqa: F811
    first = await finish(entra_client, await start_flow(entra_client, entra_certificates[0]))
    assert first.status == 200
    metadata = entra_client.server.app[ENTRA].metadata
    fetched = metadata.fetch_count
    entra.rotate(retire_old=True)  # new key in the JWKS, old one withdrawn, tokens signed anew
    # The cache may refresh for an unknown key once a minute: move its clock on.
    metadata._clock = (lambda base=metadata._clock(): base + 61)  # noqa: SLF001
    second = await finish(entra_client, await start_flow(entra_client, entra_certificates[0]))
    assert second.status == 200, await second.text()
    assert metadata.fetch_count == fetched + 1


async def test_sign_out_ends_the_session_at_the_next_message(
        entra_client, entra, entra_certificates, database, fake_rasa):  # noqa: F811
    response = await finish(entra_client, await start_flow(entra_client, entra_certificates[0]))
    token = _session_token(response)
    assert (await entra_client.post("/api/messages", json={"text": "hello"})).status == 200
    calls = len(fake_rasa.calls)
    out = await entra_client.post("/signout", allow_redirects=False)
    assert out.status == 303
    # The same token, replayed (copied from the browser before sign-out), is refused.
    replay = await entra_client.post("/api/messages", json={"text": "hello again"},
                                     headers={"Cookie": f"{COOKIE_NAME}={token}"})
    assert replay.status == 401
    assert len(fake_rasa.calls) == calls  # never reached Rasa
    chat = await entra_client.get("/chat", headers={"Cookie": f"{COOKIE_NAME}={token}"},
                                  allow_redirects=False)
    assert chat.status == 302 and chat.headers["Location"] == "/signin"
    events = await entra_client.get("/api/events", headers={"Cookie": f"{COOKIE_NAME}={token}"})
    assert events.status == 401


async def test_sign_out_of_a_development_session_is_revoked_too(client, database, fake_rasa):
    signed = await client.post("/signin", data={"subject": "alice.hughes"}, allow_redirects=False)
    token = signed.cookies[COOKIE_NAME].value
    await client.post("/signout", allow_redirects=False)
    replay = await client.post("/api/messages", json={"text": "hello"},
                               headers={"Cookie": f"{COOKIE_NAME}={token}"})
    assert replay.status == 401


async def test_an_intranet_token_can_be_signed_out(client, settings, database):
    token = session_tokens.mint(settings, "ben.okafor")  # minted elsewhere: no session row
    headers = {"Cookie": f"{COOKIE_NAME}={token}"}
    assert (await client.get("/chat", headers=headers, allow_redirects=False)).status == 200
    await client.post("/signout", headers=headers, allow_redirects=False)
    assert (await client.get("/chat", headers=headers, allow_redirects=False)).status == 302


async def test_signin_page_offers_the_work_account_without_the_dev_page(
        make_client, settings, entra, entra_certificates):  # noqa: F811
    production = entra_settings(settings, entra, entra_certificates[0])
    client = await make_client(dataclasses.replace(production, dev_signin_enabled=False))
    page = await (await client.get("/signin")).text()
    assert 'href="/auth/signin"' in page and "Sign in with your work account" in page
    assert "demo employee" not in page
    dev = await client.post("/signin", data={"subject": "alice.hughes"}, allow_redirects=False)
    assert dev.status == 404


async def test_entra_off_means_no_redirect(client):
    response = await client.get("/auth/signin", allow_redirects=False)
    assert response.status == 404
    assert (await client.get("/auth/callback?state=x&code=y")).status == 404


async def test_provider_down_is_a_503_page_not_an_error(make_client, settings, entra,
                                                        entra_certificates):  # noqa: F811
    configured = entra_settings(settings, entra, entra_certificates[0])
    await entra.stop()
    client = await make_client(configured)
    response = await client.get("/auth/signin", allow_redirects=False)
    assert response.status == 503
    assert "Sign-in is not available right now" in await response.text()


async def test_a_token_of_an_entra_session_for_another_tenant_is_refused(client, settings):
    ours = dataclasses.replace(settings, entra_tenant_id="8d3f1a52-6c1e-4b8f-9d2a-0e5c7b4f1a23")
    token = session_tokens.mint(ours, ALICE_OID,
                                entra_tenant="0b1c2d3e-4f50-4617-8a9b-c0d1e2f3a4b5")
    with pytest.raises(session_tokens.InvalidSessionToken):
        session_tokens.verify(ours, token)
    # No tenant configured: no Entra session token is accepted at all.
    with pytest.raises(session_tokens.InvalidSessionToken):
        session_tokens.verify(settings, session_tokens.mint(
            ours, ALICE_OID, entra_tenant="8d3f1a52-6c1e-4b8f-9d2a-0e5c7b4f1a23"))
