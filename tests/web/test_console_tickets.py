"""The console's ticket pages over HTTP: the list and every filter, one ticket, the forms
(status, assign, priority, comment), what a refusal looks like, authentication and CSRF, and
what reaches the employee (the outbox and the requester's own view).

Each test raises its own tickets with a unique word in the description and searches for it,
so tests sharing the module's database do not see each other's tickets.
"""
from __future__ import annotations

import datetime as dt
import html
import re
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient
from sqlalchemy import create_engine, select

from bot.config import Settings
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.handoff import accounts
from bot.handoff.feed import tracker_events
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import AuditEvent
from bot.tickets.agent import AgentRef, assign, change_status, flag_breaches
from bot.tickets.models import (
    NotificationState,
    Priority,
    ServiceLine,
    Ticket,
    TicketNotification,
    TicketStatus,
)
from bot.tickets.notifications import claim_for_conversation
from bot.tickets.requester import NewTicket, add_my_comment, my_ticket, raise_ticket
from bot.tickets.sla import policy_from_settings
from bot.web.app import create_app

from .conftest import AGENT_PASSWORD as PASSWORD
from .conftest import SECRET, console_sign_in

POLICY = policy_from_settings(Settings())
ALICE = Principal("widget", DEMO_WIDGET_ISSUER, "alice.hughes")
BEN = Principal("widget", DEMO_WIDGET_ISSUER, "ben.okafor")
SAM = AgentRef("sam.hr")
REFERENCE_LINK = re.compile(r'href="/console/tickets/([A-Z]{2,3}-\d{6})"')


# --- fixtures and helpers -------------------------------------------------------------------

@pytest.fixture
def tracker_db(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = create_engine(url)
    tracker_events.metadata.create_all(engine)
    engine.dispose()
    yield url


@pytest.fixture
def agents(database: Database) -> None:
    with database.unit_of_work() as session:
        existing = set(session.scalars(select(accounts.Agent.username)))
        # Sam works every service line (these tests are about the pages, not the scoping:
        # tests/persistence/test_ticket_scope.py and the test below cover that).
        for username, name, skills in (("sam.hr", "Sam Patel", "hr,payroll,pensions,finance,access"),
                                       ("pat.pay", "Pat Payne", "payroll")):
            if username not in existing:
                accounts.create_agent(session, username, name, PASSWORD, skills)


@pytest_asyncio.fixture
async def console(aiohttp_client: Callable[..., Any], database: Database, tracker_db: str,
                  agents: None) -> TestClient:
    # No Rasa here: the employee is told by the ticket worker, through the outbox.
    settings = Settings(database_url=database.url, widget_token_secret=SECRET,
                        dev_signin_enabled=False, rasa_url="http://127.0.0.1:9",
                        tracker_store_url=tracker_db)
    return await aiohttp_client(create_app(settings, database))


async def sign_in(client: TestClient, username: str = "sam.hr") -> str:
    """Sign in; the session's CSRF token (read from the tickets page)."""
    return await console_sign_in(client, username, page="/console/tickets")


def marker() -> str:
    return "zq" + uuid.uuid4().hex[:10]


def raise_one(db: Database, word: str, who: Principal = ALICE,
              category: ServiceLine = ServiceLine.HR, priority: Priority = Priority.NORMAL,
              conversation: str | None = "", at: dt.datetime | None = None) -> str:
    """A ticket raised by `who` from the chat conversation `conv-<word>` (None: no chat)."""
    if conversation == "":
        conversation = f"conv-{word}"
    new = NewTicket(category, f"Query {word} about my records, please check.", priority,
                    conversation_id=conversation, channel="widget" if conversation else None)
    return raise_ticket(db, who, new, POLICY, now=at).summary.reference


def listed(page: str) -> list[str]:
    return REFERENCE_LINK.findall(page)


async def get_list(client: TestClient, **query: str) -> str:
    response = await client.get("/console/tickets", params=query)
    assert response.status == 200
    return await response.text()


async def post_form(client: TestClient, path: str, csrf: str | None, json: bool = False,
                    **form: str) -> Any:
    data = dict(form)
    if csrf is not None:
        data["csrf_token"] = csrf
    headers = {"Accept": "application/json"} if json else {}
    return await client.post(path, data=data, headers=headers, allow_redirects=False)


def ticket_row(db: Database, reference: str) -> Ticket:
    with db.unit_of_work() as session:
        ticket = session.scalar(select(Ticket).where(Ticket.reference == reference))
        session.expunge(ticket)
        return ticket


def outbox(db: Database, reference: str) -> list[NotificationState]:
    with db.unit_of_work() as session:
        return list(session.scalars(
            select(TicketNotification.state).join(Ticket)
            .where(Ticket.reference == reference).order_by(TicketNotification.id)))


@pytest.fixture
def scenario(database: Database) -> tuple[str, dict[str, str]]:
    """Four tickets that differ in every filtered field, found by one unique word."""
    word = marker()
    made = {
        "hr_open_mine": raise_one(database, word),
        "pay_new_urgent": raise_one(database, word, BEN, ServiceLine.PAYROLL, Priority.URGENT),
        "fin_resolved_pat": raise_one(database, word, ALICE, ServiceLine.FINANCE, Priority.LOW),
        "acc_breached": raise_one(database, word, BEN, ServiceLine.ACCESS, Priority.HIGH,
                                  at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=30)),
    }
    change_status(database, SAM, made["hr_open_mine"], TicketStatus.OPEN, POLICY)
    assign(database, SAM, made["hr_open_mine"], "sam.hr")
    change_status(database, SAM, made["fin_resolved_pat"], TicketStatus.RESOLVED, POLICY)
    assign(database, SAM, made["fin_resolved_pat"], "pat.pay")
    flag_breaches(database, POLICY)
    return word, made


# --- authentication and CSRF ----------------------------------------------------------------

async def test_the_ticket_pages_need_a_signed_in_agent(console: TestClient,
                                                       database: Database) -> None:
    reference = raise_one(database, marker())
    for path in ("/console/tickets", f"/console/tickets/{reference}"):
        page = await console.get(path, allow_redirects=False)
        assert (page.status, page.headers["Location"]) == (302, "/console/signin")
        as_api = await console.get(path, headers={"Accept": "application/json"})
        assert as_api.status == 401
    for name, form in (("status", {"status": "open"}), ("assign", {}),
                       ("priority", {"priority": "urgent"}),
                       ("comment", {"text": "hello there", "visibility": "public"})):
        path = f"/console/tickets/{reference}/{name}"
        refused = await post_form(console, path, None, **form)
        assert (refused.status, refused.headers["Location"]) == (302, "/console/signin")
        assert (await post_form(console, path, None, json=True, **form)).status == 401
    ticket = ticket_row(database, reference)
    assert (ticket.status, ticket.assignee, ticket.priority) == (
        TicketStatus.NEW, None, Priority.NORMAL)
    assert outbox(database, reference) == []


async def test_every_ticket_form_needs_the_csrf_token_and_our_origin(
        console: TestClient, database: Database) -> None:
    csrf = await sign_in(console)
    reference = raise_one(database, marker())
    for name, form in (("status", {"status": "open"}), ("assign", {}),
                       ("priority", {"priority": "urgent"}),
                       ("comment", {"text": "hello there", "visibility": "public"})):
        path = f"/console/tickets/{reference}/{name}"
        for token in (None, "forged"):
            assert (await post_form(console, path, token, **form)).status == 403
        foreign = await console.post(path, data={**form, "csrf_token": csrf},
                                     headers={"Origin": "https://evil.example"})
        assert foreign.status == 403
    ticket = ticket_row(database, reference)
    assert (ticket.status, ticket.assignee, ticket.priority) == (
        TicketStatus.NEW, None, Priority.NORMAL)
    assert outbox(database, reference) == []
    assert my_ticket(database, ALICE, reference).comments == ()


# --- the list ------------------------------------------------------------------------------

async def test_the_list_shows_each_tickets_facts(console: TestClient,
                                                 database: Database) -> None:
    await sign_in(console)
    word = marker()
    reference = raise_one(database, word, BEN, ServiceLine.PAYROLL, Priority.HIGH)
    page = await get_list(console, q=word)
    assert listed(page) == [reference]
    [row] = [r for r in page.split("<tr")[1:] if f"/console/tickets/{reference}" in r]
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td>(.*?)</td>", row)]
    subject = f"Query {word} about my records, please check."
    assert cells[:7] == [reference, subject, "Ben Okafor (E1002)", "Payroll", "High", "New",
                         "Unassigned"]
    assert cells[7].startswith("Due ") and cells[8].startswith("Due ")
    assert cells[9] == "Within target"
    assert '<a href="/console/tickets" aria-current="page">Tickets</a>' in page
    with database.unit_of_work() as session:
        last = session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
        assert (last.actor_principal, last.record_type) == ("console:helpdesk:sam.hr",
                                                            "ticket_list")


@pytest.mark.parametrize("query, expected", [
    ({}, {"hr_open_mine", "pay_new_urgent", "acc_breached"}),  # default: not finished
    ({"status": "all"}, {"hr_open_mine", "pay_new_urgent", "fin_resolved_pat", "acc_breached"}),
    ({"status": "resolved"}, {"fin_resolved_pat"}),
    ({"status": "new"}, {"pay_new_urgent", "acc_breached"}),
    ({"status": "all", "category": "finance"}, {"fin_resolved_pat"}),
    ({"category": "payroll"}, {"pay_new_urgent"}),
    ({"priority": "urgent"}, {"pay_new_urgent"}),
    ({"status": "all", "priority": "low"}, {"fin_resolved_pat"}),
    ({"assignee": "mine"}, {"hr_open_mine"}),
    ({"assignee": "none"}, {"pay_new_urgent", "acc_breached"}),
    ({"status": "all", "assignee": "pat.pay"}, {"fin_resolved_pat"}),
    ({"breached": "1"}, {"acc_breached"}),
    ({"status": "all", "category": "hr", "assignee": "mine", "priority": "normal"},
     {"hr_open_mine"}),
    ({"category": "pensions"}, set()),
])
async def test_each_filter(console: TestClient, scenario: tuple[str, dict[str, str]],
                           query: dict[str, str], expected: set[str]) -> None:
    await sign_in(console)
    word, made = scenario
    page = await get_list(console, q=word, **query)
    assert set(listed(page)) == {made[name] for name in expected}
    if not expected:
        assert "No tickets match these filters" in page
    for name, value in query.items():  # the form shows the choice again
        if name == "breached":
            assert re.search(r'id="filter-breached"[^>]*checked', page)
        else:
            assert f'<option value="{value}" selected>' in page


async def test_search_by_reference_in_any_form_or_subject_word(
        console: TestClient, database: Database) -> None:
    await sign_in(console)
    word = marker()
    reference = raise_one(database, word, BEN, ServiceLine.PAYROLL)
    prefix, number = reference.split("-")
    for query in (reference, reference.lower(), f"{prefix.lower()} {int(number)}",
                  word.upper()):
        page = await get_list(console, q=query, status="all")
        assert reference in listed(page), query
        assert f'value="{html.escape(query)}"' in page  # the search box keeps the words


async def test_unknown_filter_values_are_reported_and_ignored(console: TestClient,
                                                              scenario: tuple) -> None:
    await sign_in(console)
    word, made = scenario
    page = await get_list(console, q=word, status="bogus", category="<b>x</b>", page="-2")
    assert "Unknown status ignored. Unknown category ignored. Unknown page number ignored." \
        in page
    assert "<b>x</b>" not in page
    assert set(listed(page)) == {made["hr_open_mine"], made["pay_new_urgent"],
                                 made["acc_breached"]}


async def test_long_lists_come_in_pages(console: TestClient, database: Database) -> None:
    await sign_in(console)
    word = marker()
    made = {raise_one(database, word) for _ in range(27)}
    first = await get_list(console, q=word)
    second = await get_list(console, q=word, page="2")
    assert len(listed(first)) == 25 and len(listed(second)) == 2
    assert set(listed(first)) | set(listed(second)) == made
    assert f'href="/console/tickets?q={word}&amp;page=2" rel="next">Next page' in first
    assert "Tickets 26 to 27" in second and 'rel="prev">Previous page' in second
    assert 'rel="next"' not in second


# --- one ticket ------------------------------------------------------------------------------

async def test_the_ticket_page_shows_description_comments_and_history(
        console: TestClient, database: Database) -> None:
    csrf = await sign_in(console)
    reference = raise_one(database, marker())
    change_status(database, SAM, reference, TicketStatus.AWAITING_CUSTOMER, POLICY)
    add_my_comment(database, ALICE, reference, "Here is my timesheet", POLICY)
    await post_form(console, f"/console/tickets/{reference}/comment", csrf,
                    text="Timesheet import failed <again>", visibility="internal")
    await post_form(console, f"/console/tickets/{reference}/comment", csrf,
                    text="Thanks, we are fixing it", visibility="public")
    page = await (await console.get(f"/console/tickets/{reference}")).text()
    assert "about my records, please check." in page
    assert 'id="ticket-status-value">Open</dd>' in page  # her comment reopened it
    entries = re.findall(r'<li class="entry entry--(\w+)">(.*?)</li>', page, re.S)
    assert [(kind, re.search(r'class="entry-author">([^<]+)<', body).group(1))
            for kind, body in entries] == [("employee", "Alice Hughes (employee)"),
                                           ("note", "sam.hr"), ("agent", "sam.hr")]
    note = entries[1][1]
    assert "Internal note: never shown to the employee" in note
    assert "Timesheet import failed &lt;again&gt;" in note
    assert "Public: the employee sees this" in entries[2][1]
    history = page.split('id="history-heading"', 1)[1]
    whats = re.findall(r"</td><td>([^<]+)</td><td>", history)
    assert whats == ["Raised", "Status New → Awaiting customer", "Public comment",
                     "Status Awaiting customer → Open", "Internal note", "Public comment"]
    assert "Alice Hughes (employee)" in history
    assert "Sent to the employee&#x27;s chat (widget)" in page


async def test_unknown_or_malformed_references_are_not_found(console: TestClient) -> None:
    await sign_in(console)
    for path in ("/console/tickets/HR-999999", "/console/tickets/not-a-ticket"):
        response = await console.get(path)
        assert response.status == 404
        assert "No such ticket" in await response.text()


async def test_the_status_form_offers_only_the_moves_the_lifecycle_allows(
        console: TestClient, database: Database) -> None:
    await sign_in(console)
    reference = raise_one(database, marker())
    change_status(database, SAM, reference, TicketStatus.CLOSED, POLICY)
    page = await (await console.get(f"/console/tickets/{reference}")).text()
    select_html = page.split('id="ticket-status"', 1)[1].split("</select>", 1)[0]
    assert re.findall(r'<option value="(\w*)"', select_html) == ["", "open"]


# --- changing it ----------------------------------------------------------------------------

async def test_a_status_change_redirects_back_and_queues_one_notification(
        console: TestClient, database: Database) -> None:
    csrf = await sign_in(console)
    word = marker()
    reference = raise_one(database, word)
    response = await post_form(console, f"/console/tickets/{reference}/status", csrf,
                               status="resolved")
    assert response.status == 303
    assert response.headers["Location"] == f"/console/tickets/{reference}?done=status"
    page = await (await console.get(response.headers["Location"])).text()
    assert "Status changed." in page and 'id="ticket-status-value">Resolved</dd>' in page
    assert ticket_row(database, reference).status is TicketStatus.RESOLVED
    assert outbox(database, reference) == [NotificationState.PENDING]
    [text] = claim_for_conversation(database, f"conv-{word}")
    assert reference in text and "it is now resolved" in text


async def test_a_refused_transition_says_why_and_changes_nothing(
        console: TestClient, database: Database) -> None:
    csrf = await sign_in(console)
    reference = raise_one(database, marker())
    change_status(database, SAM, reference, TicketStatus.CLOSED, POLICY)
    before = outbox(database, reference)
    response = await post_form(console, f"/console/tickets/{reference}/status", csrf,
                               status="resolved")
    assert response.status == 409
    page = await response.text()
    assert ('role="alert">Not changed: a ticket that is closed cannot move to resolved. '
            "Choose one of the statuses offered.</p>") in page
    assert 'id="ticket-status-value">Closed</dd>' in page  # the page, with the right state
    as_api = await post_form(console, f"/console/tickets/{reference}/status", csrf, json=True,
                             status="closed")
    assert as_api.status == 409
    assert await as_api.json() == {"error": "Not changed: the ticket is already closed."}
    missing = await post_form(console, f"/console/tickets/{reference}/status", csrf,
                              status="")
    assert missing.status == 400 and "Choose a new status." in await missing.text()
    assert ticket_row(database, reference).status is TicketStatus.CLOSED
    assert outbox(database, reference) == before


async def test_the_json_answer_carries_the_ticket(console: TestClient,
                                                  database: Database) -> None:
    csrf = await sign_in(console)
    reference = raise_one(database, marker())
    response = await post_form(console, f"/console/tickets/{reference}/status", csrf,
                               json=True, status="awaiting_customer")
    assert response.status == 200
    body = await response.json()
    assert body["ticket"]["reference"] == reference
    assert body["ticket"]["status"] == "awaiting_customer"
    assert body["message"].startswith("Status changed.")


async def test_an_internal_note_never_reaches_the_requester(console: TestClient,
                                                           database: Database) -> None:
    csrf = await sign_in(console)
    word = marker()
    reference = raise_one(database, word)
    response = await post_form(console, f"/console/tickets/{reference}/comment", csrf,
                               text="Manager says no; do not tell her yet",
                               visibility="internal")
    assert response.status == 303
    assert response.headers["Location"].endswith("?done=internal")
    assert my_ticket(database, ALICE, reference).comments == ()
    assert outbox(database, reference) == []
    assert claim_for_conversation(database, f"conv-{word}") == []
    page = await (await console.get(response.headers["Location"])).text()
    assert "Internal note added. The employee does not see it." in page
    assert "Manager says no; do not tell her yet" in page


async def test_a_public_comment_queues_exactly_one_notification(console: TestClient,
                                                                database: Database) -> None:
    csrf = await sign_in(console)
    reference = raise_one(database, marker(), conversation="conv-public")
    response = await post_form(console, f"/console/tickets/{reference}/comment", csrf,
                               text="  We have corrected your flexi balance.  ",
                               visibility="public")
    assert response.status == 303
    assert outbox(database, reference) == [NotificationState.PENDING]
    assert [c.body for c in my_ticket(database, ALICE, reference).comments] == [
        "We have corrected your flexi balance."]
    [text] = claim_for_conversation(database, "conv-public")
    assert reference in text and "We have corrected your flexi balance." in text
    assert claim_for_conversation(database, "conv-public") == []  # told once


@pytest.mark.parametrize("form, problem", [
    ({"text": "A reply I took a while to write <b>bold</b>"},
     "Not added: choose who sees it"),
    ({"text": "   ", "visibility": "public"}, "Not added: write the comment first."),
    ({"text": "x" * 2001, "visibility": "internal"},
     "Not added: a comment can be at most 2000 characters; this one has 2001."),
])
async def test_a_refused_comment_keeps_what_was_typed(console: TestClient, database: Database,
                                                      form: dict[str, str],
                                                      problem: str) -> None:
    csrf = await sign_in(console)
    reference = raise_one(database, marker())
    response = await post_form(console, f"/console/tickets/{reference}/comment", csrf, **form)
    assert response.status == 400
    page = await response.text()
    assert problem in page
    textarea = page.split('id="comment-text"', 1)[1].split("</textarea>", 1)[0]
    assert 'aria-invalid="true"' in textarea
    assert textarea.split(">", 1)[1] == html.escape(form["text"])
    if form.get("visibility"):
        assert re.search(rf'value="{form["visibility"]}" class="radio" required checked', page)
    assert "<b>bold</b>" not in page
    assert outbox(database, reference) == []
    assert my_ticket(database, ALICE, reference).comments == ()


async def test_assign_to_me_and_find_it_under_mine(console: TestClient,
                                                   database: Database) -> None:
    csrf = await sign_in(console)
    word = marker()
    reference = raise_one(database, word)
    response = await post_form(console, f"/console/tickets/{reference}/assign", csrf)
    assert response.status == 303
    page = await (await console.get(response.headers["Location"])).text()
    assert 'id="ticket-assignee-value">You</dd>' in page
    assert "This ticket is assigned to you." in page
    assert ticket_row(database, reference).assignee == "sam.hr"
    assert listed(await get_list(console, q=word, assignee="mine")) == [reference]
    assert outbox(database, reference) == []  # an assignment is not announced


async def test_set_priority_moves_the_due_times(console: TestClient,
                                                database: Database) -> None:
    csrf = await sign_in(console)
    reference = raise_one(database, marker(), priority=Priority.LOW)
    before = ticket_row(database, reference)
    response = await post_form(console, f"/console/tickets/{reference}/priority", csrf,
                               priority="urgent")
    assert response.status == 303
    after = ticket_row(database, reference)
    assert after.priority is Priority.URGENT
    assert after.resolution_due_at < before.resolution_due_at
    page = await (await console.get(response.headers["Location"])).text()
    assert 'id="ticket-priority-value">Urgent</dd>' in page
    assert "Priority changed from Low to Urgent." in page
    bad = await post_form(console, f"/console/tickets/{reference}/priority", csrf,
                          priority="whenever")
    assert bad.status == 400 and "Choose a priority" in await bad.text()
    change_status(database, SAM, reference, TicketStatus.RESOLVED, POLICY)
    refused = await post_form(console, f"/console/tickets/{reference}/priority", csrf,
                              priority="low")
    assert refused.status == 409
    assert "a resolved or closed ticket keeps its priority" in await refused.text()
    assert ticket_row(database, reference).priority is Priority.URGENT


async def test_commands_on_an_unknown_ticket_are_not_found(console: TestClient) -> None:
    csrf = await sign_in(console)
    for name, form in (("status", {"status": "open"}), ("assign", {}),
                       ("priority", {"priority": "urgent"}),
                       ("comment", {"text": "hello there", "visibility": "public"})):
        response = await post_form(console, f"/console/tickets/HR-999999/{name}", csrf, **form)
        assert response.status == 404


async def test_another_teams_ticket_is_refused_with_403(console: TestClient,
                                                       database: Database) -> None:
    reference = raise_one(database, marker(), BEN, ServiceLine.FINANCE)
    await sign_in(console, "pat.pay")  # payroll only
    page = await console.get(f"/console/tickets/{reference}")
    assert page.status == 403
    assert "belongs to a team you do not work" in await page.text()
    listed = await (await console.get("/console/tickets?status=any")).text()
    assert reference not in listed
