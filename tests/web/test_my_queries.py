""""My queries" (issue 24, step 4): the employee's own tickets beside the chat, with the same
rules and audit as the chat; someone else's reference looks exactly like one that does not
exist; one person signed in with Entra ID and in Teams sees the same tickets."""
from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from bot.identity import Principal
from bot.storage.models import AuditEvent
from bot.tickets.agent import AgentRef, add_comment, change_status
from bot.tickets.enums import ServiceLine, TicketStatus, Visibility
from bot.tickets.requester import NewTicket, raise_ticket
from bot.tickets.sla import policy_from_settings
from bot.web import session_tokens
from tests.entra_fake import TENANT_ID

from .conftest import cookie_header
from .entra_support import ALICE_OID, link_entra_users

pytestmark = pytest.mark.asyncio

AGENT = AgentRef("sam.hr")
ISSUER = "helpdesk-intranet"


def _raise(database, settings, subject: str, text: str,  # noqa: ANN001
           principal: Principal | None = None, now: dt.datetime | None = None) -> str:
    who = principal or Principal("widget", ISSUER, subject)
    raised = raise_ticket(database, who, NewTicket(ServiceLine.HR, text, channel="widget"),
                          policy_from_settings(settings), now=now)
    return raised.summary.reference


def _as(settings, subject: str) -> dict[str, str]:  # noqa: ANN001
    return cookie_header(session_tokens.mint(settings, subject))


async def test_the_list_shows_the_employees_own_open_tickets(client, database, settings):
    mine = _raise(database, settings, "alice.hughes", "My overtime for March is missing.")
    theirs = _raise(database, settings, "ben.okafor", "Ben's private query about his pay.")
    page = await (await client.get("/queries", headers=_as(settings, "alice.hughes"))).text()
    assert f'href="/queries/{mine}"' in page and "overtime" in page.lower()
    assert theirs not in page and "Ben's private" not in page


async def test_someone_elses_reference_looks_exactly_like_a_missing_one(client, database,
                                                                       settings):
    theirs = _raise(database, settings, "ben.okafor", "Ben's query about his pension.")
    headers = _as(settings, "alice.hughes")
    other = await client.get(f"/queries/{theirs}", headers=headers)
    missing = await client.get("/queries/HR-999999", headers=headers)
    assert other.status == missing.status == 404
    assert (await other.text()).replace(theirs, "X") == (await missing.text()).replace(
        "HR-999999", "X")
    for action in ("comment", "close", "reopen"):
        changed = await client.post(f"/queries/{theirs}/{action}", data={"comment": "hello"},
                                    headers=headers)
        absent = await client.post(f"/queries/HR-999999/{action}", data={"comment": "hello"},
                                   headers=headers)
        assert changed.status == absent.status == 404
    with database.unit_of_work() as session:  # the audit trail knows which it was
        reasons = session.scalars(select(AuditEvent.reason).where(
            AuditEvent.record_type == "ticket", AuditEvent.outcome == "refused",
            AuditEvent.actor_principal == f"widget:{ISSUER}:alice.hughes")).all()
    assert "not the requester" in reasons and "not found" in reasons


async def test_detail_comment_close_and_reopen_with_the_chats_rules(client, database, settings):
    reference = _raise(database, settings, "alice.hughes", "My flexi balance looks wrong.")
    policy = policy_from_settings(settings)
    add_comment(database, AGENT, reference, "Could you tell us which week?", Visibility.PUBLIC,
                policy)
    add_comment(database, AGENT, reference, "INTERNAL: check the timesheet", Visibility.INTERNAL,
                policy)
    headers = _as(settings, "alice.hughes")
    page = await (await client.get(f"/queries/{reference}", headers=headers)).text()
    assert "My flexi balance looks wrong." in page
    assert "Could you tell us which week?" in page
    assert "INTERNAL" not in page and "sam.hr" not in page  # no notes, no agent names
    assert "Raised by you" in page and "Comment from the helpdesk" in page
    assert re.search(r"due <time", page)

    added = await client.post(f"/queries/{reference}/comment",
                              data={"comment": "The week of 3 March."}, headers=headers,
                              allow_redirects=False)
    assert added.status == 303
    page = await (await client.get(f"/queries/{reference}", headers=headers)).text()
    assert "The week of 3 March." in page and "Comment from you" in page
    empty = await client.post(f"/queries/{reference}/comment", data={"comment": " "},
                              headers=headers)
    assert empty.status == 400

    closed = await client.post(f"/queries/{reference}/close", headers=headers,
                               allow_redirects=False)
    assert closed.status == 303
    page = await (await client.get(f"/queries/{reference}", headers=headers)).text()
    assert "Closed" in page and "Reopen this query" in page and "Add a comment" not in page
    again = await client.post(f"/queries/{reference}/close", headers=headers)
    assert again.status == 409  # the lifecycle refuses it, as in chat
    reopened = await client.post(f"/queries/{reference}/reopen", headers=headers,
                                 allow_redirects=False)
    assert reopened.status == 303
    with database.unit_of_work() as session:
        actions = session.scalars(select(AuditEvent.action).where(
            AuditEvent.record_type == "ticket", AuditEvent.outcome == "allowed",
            AuditEvent.actor_principal == f"widget:{ISSUER}:alice.hughes")).all()
    assert {"comment", "close", "reopen"} <= set(actions)


async def test_the_reopen_window_is_the_chats(make_client, database, settings):
    """Resolved ten calendar days ago with a window of one working day: closed to reopening at
    whatever time of day the test runs (a window of 0 working days ends at today's close)."""
    short = dataclasses.replace(settings, ticket_reopen_working_days=1)
    client = await make_client(short)
    then = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=10)
    reference = _raise(database, settings, "alice.hughes", "Expenses claim for travel query.",
                       now=then)
    change_status(database, AGENT, reference, TicketStatus.RESOLVED, policy_from_settings(short),
                  now=then + dt.timedelta(hours=1))
    headers = _as(settings, "alice.hughes")
    page = await (await client.get(f"/queries/{reference}", headers=headers)).text()
    assert "Resolved" in page and "Reopen this query" not in page
    refused = await client.post(f"/queries/{reference}/reopen", headers=headers)
    assert refused.status == 409
    assert "can no longer be reopened" in await refused.text()


async def test_a_cross_site_post_is_refused(client, database, settings):
    reference = _raise(database, settings, "alice.hughes", "A query someone tries to close.")
    forged = await client.post(f"/queries/{reference}/close",
                               headers={**_as(settings, "alice.hughes"),
                                        "Origin": "https://evil.example.com"})
    assert forged.status == 403


async def test_signed_out_means_the_sign_in_page(client):
    response = await client.get("/queries", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/signin"


async def test_one_person_in_teams_and_on_the_web_sees_the_same_queries(
        make_client, database, settings):
    """A ticket raised in Teams (msteams, tid, oid) is on the My queries page of the same person
    signed in with Entra ID (widget, entra:tid, oid)."""
    link_entra_users(database)
    entra = dataclasses.replace(settings, entra_tenant_id=TENANT_ID, entra_client_id="app",
                                entra_client_secret="not-used-here",
                                entra_redirect_uri="http://127.0.0.1/auth/callback")
    from_teams = _raise(database, settings, "", "Raised in Teams about my pension.",
                        Principal("msteams", TENANT_ID, ALICE_OID))
    token = session_tokens.mint(entra, ALICE_OID, entra_tenant=TENANT_ID)
    client = await make_client(entra)
    page = await (await client.get("/queries", headers=cookie_header(token))).text()
    assert f'href="/queries/{from_teams}"' in page
    with database.unit_of_work() as session:
        count = session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.actor_principal == f"widget:entra:{TENANT_ID}:{ALICE_OID}"))
    assert count >= 1


async def test_a_ticket_raised_on_the_web_is_listed_in_teams(database, settings):
    """The other direction: raised by the Entra-signed-in web session, listed for the Teams
    principal of the same person (what the chat's "my open queries" reads)."""
    from bot.tickets.requester import my_tickets
    link_entra_users(database)
    web = Principal("widget", f"entra:{TENANT_ID}", ALICE_OID)
    reference = _raise(database, settings, "", "Raised on the web about my payslip.", web)
    listed = my_tickets(database, Principal("msteams", TENANT_ID, ALICE_OID))
    assert reference in [t.reference for t in listed]


async def test_the_employee_opts_out_of_email_and_back_in(client, database, settings):
    from bot.email_notices.service import is_opted_out
    from bot.identity import find_employee
    headers = _as(settings, "fatima.rahman")
    page = await (await client.get("/queries", headers=headers)).text()
    assert "E-mails are <strong>on</strong>" in page and "Stop these e-mails" in page
    off = await client.post("/queries/email", data={"choice": "off"}, headers=headers,
                            allow_redirects=False)
    assert off.status == 303
    with database.unit_of_work() as session:
        fatima = find_employee(session, Principal("widget", ISSUER, "fatima.rahman")).id
    assert is_opted_out(database, fatima)
    page = await (await client.get("/queries", headers=headers)).text()
    assert "E-mails are <strong>off</strong>" in page
    await client.post("/queries/email", data={"choice": "on"}, headers=headers)
    assert not is_opted_out(database, fatima)
    assert (await client.post("/queries/email", data={"choice": "maybe"},
                              headers=headers)).status == 400


async def test_the_chat_says_what_it_showed(client, database, settings):
    from sqlalchemy import select as query

    from bot.email_notices.models import ChatView
    from bot.handoff.widget_push import widget_conversation_id
    headers = _as(settings, "daniel.evans")
    assert (await client.post("/api/seen")).status == 401
    assert (await client.post("/api/seen", headers=headers)).status == 200
    conversation = widget_conversation_id(ISSUER, "daniel.evans")
    with database.unit_of_work() as session:
        assert session.scalar(query(ChatView).where(
            ChatView.conversation_id == conversation)) is not None
