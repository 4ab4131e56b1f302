"""Console sign-in with Entra ID (issue 24, step 2): the account linked to the person, the roles
their Entra app roles grant for the session, local passwords only as a fallback, and sign-out.
"""
from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import select

from bot.handoff import accounts
from bot.handoff.models import Agent, AgentSession
from bot.roles import Role
from bot.signin.roles import DEFAULT_MAP, granted_roles, role_map
from bot.storage.models import AuditEvent
from bot.web.console.auth import COOKIE_NAME as AGENT_COOKIE
from tests.entra_fake import TENANT_ID

from .conftest import AGENT_PASSWORD
from .entra_support import (
    entra,  # noqa: F401  (fixture)
    entra_certificates,  # noqa: F401  (fixture)
    entra_settings,
    finish,
    start_flow,
)

pytestmark = pytest.mark.asyncio

SUPERVISOR_OID = "44444444-aaaa-4bbb-8ccc-000000000004"
EDITOR_OID = "55555555-aaaa-4bbb-8ccc-000000000005"
NO_ROLE_OID = "66666666-aaaa-4bbb-8ccc-000000000006"
UNLINKED_OID = "77777777-aaaa-4bbb-8ccc-000000000007"


@pytest.fixture
def console_accounts(database):  # noqa: ANN001, ANN201
    """Accounts linked to Entra users (no passwords), added once per module database."""
    with database.unit_of_work() as session:
        if session.scalar(select(Agent.id).where(Agent.username == "entra.supervisor")):
            return
        accounts.create_agent(session, "entra.supervisor", "Sue Visor", None, "hr,payroll",
                              roles="agent", entra=(TENANT_ID, SUPERVISOR_OID))
        accounts.create_agent(session, "entra.editor", "Ed Itor", None, "", roles="knowledge_editor",
                              entra=(TENANT_ID, EDITOR_OID))
        accounts.create_agent(session, "entra.norole", "No Role", None, "hr",
                              entra=(TENANT_ID.upper(), NO_ROLE_OID))


@pytest.fixture
async def console_client(make_client, settings, entra, entra_certificates,  # noqa: F811
                         console_accounts):
    entra.add_user("supervisor", SUPERVISOR_OID, "Sue Visor", ["Helpdesk.Supervisor"])
    entra.add_user("editor", EDITOR_OID, "Ed Itor", ["Helpdesk.KnowledgeEditor", "Other.Role"])
    entra.add_user("norole", NO_ROLE_OID, "No Role", ["Other.Role"])
    entra.add_user("unlinked", UNLINKED_OID, "Un Linked", ["Helpdesk.Admin"])
    production = dataclasses.replace(entra_settings(settings, entra, entra_certificates[0]),
                                     dev_signin_enabled=False, console_password_signin=False)
    return await make_client(production)


def _agent_cookie(response) -> str | None:  # noqa: ANN001
    morsel = response.cookies.get(AGENT_COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


async def _sign_in(client, ca, user):  # noqa: ANN001, ANN202
    return await finish(client, await start_flow(client, ca, user,
                                                 start_path="/console/auth/signin"))


async def test_a_supervisor_signs_in_with_the_roles_entra_grants(
        console_client, entra_certificates, database):  # noqa: F811
    response = await _sign_in(console_client, entra_certificates[0], "supervisor")
    assert response.status == 200, await response.text()
    assert 'http-equiv="refresh" content="0;url=/console"' in await response.text()
    cookie = [c for c in response.headers.getall("Set-Cookie") if c.startswith(AGENT_COOKIE)]
    assert cookie and "Path=/console" in cookie[0] and "SameSite=Strict" in cookie[0]
    # The account's own roles say "agent"; the session holds what Entra ID granted.
    insight = await console_client.get("/console/insight", allow_redirects=False)
    assert insight.status == 200
    queue = await console_client.get("/console")
    assert queue.status == 200 and "Conversations" in await queue.text()
    with database.unit_of_work() as session:
        granted = session.scalars(select(AgentSession.granted_roles).join(Agent).where(
            Agent.username == "entra.supervisor")).all()
        reasons = session.scalars(select(AuditEvent.reason).where(
            AuditEvent.actor_principal == "console:helpdesk:entra.supervisor",
            AuditEvent.action == "sign_in")).all()
    assert "supervisor" in granted
    assert "Entra ID: roles supervisor" in reasons


async def test_a_knowledge_editor_gets_only_the_knowledge_base(
        console_client, entra_certificates):  # noqa: F811
    response = await _sign_in(console_client, entra_certificates[0], "editor")
    assert response.status == 200
    assert "url=/console/knowledge" in await response.text()
    assert (await console_client.get("/console/knowledge")).status == 200
    assert (await console_client.get("/console/insight")).status == 403
    assert (await console_client.get("/console/tickets")).status == 403


@pytest.mark.parametrize("user, title", [
    ("unlinked", "Your work account is not a console account"),
    ("norole", "You do not have a console role"),
])
async def test_refusals_are_clear_pages_without_a_session(
        console_client, entra_certificates, database, user, title):  # noqa: F811
    response = await _sign_in(console_client, entra_certificates[0], user)
    assert response.status == 403
    assert title in await response.text()
    assert _agent_cookie(response) is None


async def test_passwords_are_off_in_production_settings(console_client):
    page = await (await console_client.get("/console/signin")).text()
    assert 'href="/console/auth/signin"' in page
    assert 'type="password"' not in page
    refused = await console_client.post("/console/signin", data={
        "username": "sam.hr", "password": AGENT_PASSWORD}, allow_redirects=False)
    assert refused.status == 403
    assert _agent_cookie(refused) is None


async def test_passwords_remain_as_the_development_fallback(client):
    page = await (await client.get("/console/signin")).text()
    assert 'type="password"' in page


async def test_sign_out_ends_the_console_session(console_client, entra_certificates):  # noqa: F811
    response = await _sign_in(console_client, entra_certificates[0], "supervisor")
    token = _agent_cookie(response)
    page = await (await console_client.get("/console")).text()
    csrf = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    out = await console_client.post("/console/signout", data={"csrf_token": csrf},
                                    allow_redirects=False)
    assert out.status == 303
    replay = await console_client.get("/console", headers={"Cookie": f"{AGENT_COOKIE}={token}"},
                                      allow_redirects=False)
    assert replay.status == 302 and replay.headers["Location"] == "/console/signin"


async def test_role_map_defaults_and_overrides() -> None:
    assert granted_roles(["Helpdesk.Admin", "x"], role_map()) == {Role.ADMIN}
    custom = role_map("HR.Agents=agent, Audit=security_auditor")
    assert custom["HR.Agents"] is Role.AGENT and custom["Audit"] is Role.SECURITY_AUDITOR
    assert set(DEFAULT_MAP.values()) == set(Role)
    with pytest.raises(ValueError):
        role_map("Helpdesk.Agent=superuser")
    with pytest.raises(ValueError):
        role_map("no-equals-sign")


async def test_an_entra_only_account_has_no_password(database) -> None:  # noqa: ANN001
    with database.unit_of_work() as session:
        stored = session.scalar(select(Agent.password_hash).where(
            Agent.username == "entra.norole"))
    if stored is None:
        pytest.skip("accounts are made by the console_accounts fixture")
    assert stored == accounts.NO_PASSWORD
    assert accounts._verify(stored, "") is False  # noqa: SLF001
