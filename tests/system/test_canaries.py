"""The canary battery: planted personal data sent through every flow never appears, unredacted,
in any process's log, any view an agent or auditor sees, or the analytics store.

One stack as `make run` starts it (web app, Rasa with the trained model, action server, ticket
worker, insight consumer) with Teams and Slack configured against local fakes of the platforms
(tests/system/platform_fakes.py). Canaries go in through: the web chat (a message the assistant
does not understand, which the insight store keeps as a gap), the ticket form (the description),
a handoff (the employee's messages while an agent has the conversation), Teams, Slack and the
console (an agent's note). Then: the processes' combined log, every console page an agent or an
auditor opens (queue, conversation, ticket, audit trail and its export), the stored summary,
ticket and transcript as agents see them, and the analytics store (service insight's tables)
are searched for each canary. Waiting is for observable conditions with deadlines.
"""
from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from bot.handoff.models import Handoff, HandoffEntry
from scripts.stack_process import StackProcess, current_model

from .chat_client import ask, signed_in, signed_in_agent
from .platform_fakes import PlatformFakes
from .test_channels_end_to_end import (  # noqa: F401 - `platforms` is a fixture
    APP_ID,
    APP_PASSWORD,
    BEN_SLACK,
    SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET,
    SLACK_TEAM_ID,
    TENANT_ID,
    dm_channel,
    platforms,
    post_slack,
    post_teams,
    posted_to,
    provision_identities,
    slack_event,
    teams_activity,
)
from .test_ticket_notification_end_to_end import AGENT_PASSWORD, REFERENCE

# Each canary is personal data the redaction must hide; none may reach a log.
NI, CARD, PHONE, EMAIL = "QQ 55 66 77 C", "4111 1111 1111 1111", "07700 900461", \
    "canary.person@example.org"
SORT_CODE, ACCOUNT, POSTCODE, NAME = "20-45-77", "41234567", "LS21 1AB", "Harriet Quinlan"
CANARIES = (NI, CARD, PHONE, EMAIL, SORT_CODE, ACCOUNT, POSTCODE, NAME)
PLANTED = (f"I'm {NAME}: my NI number is {NI}, card {CARD}, sort code {SORT_CODE} account "
           f"{ACCOUNT}, ring {PHONE} or write to {EMAIL}, postcode {POSTCODE}")
DEADLINE = 90.0


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory,
          platforms: PlatformFakes) -> Iterator[StackProcess]:  # noqa: F811
    try:
        model = current_model()
    except FileNotFoundError as error:
        pytest.fail(str(error))
    running = StackProcess(tmp_path_factory.mktemp("canaries"), model, extra_env={
        "TEAMS_APP_ID": APP_ID, "TEAMS_APP_PASSWORD": APP_PASSWORD, "TEAMS_TENANT_ID": TENANT_ID,
        "TEAMS_OPENID_METADATA_URL": platforms.metadata_url,
        "TEAMS_AUTHORITY_HOST": platforms.authority_host,
        "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET, "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
        "SLACK_TEAM_ID": SLACK_TEAM_ID, "SLACK_API_URL": platforms.slack_api_url,
        "SSL_CERT_FILE": str(platforms.ca_file), "REQUESTS_CA_BUNDLE": str(platforms.ca_file),
        "HANDOFF_HOURS": "always",  # a person is reachable whenever the test runs
        "HELPDESK_DEMO_AGENT_PASSWORD": AGENT_PASSWORD,  # what signed_in_agent signs in with
    })
    running.setup_database()
    provision_identities(running.database_url)
    running.start()
    try:
        yield running
    finally:
        assert running.stop() == 0, "stack.py did not stop cleanly"


def until(condition: Callable[[], Any], what: str, seconds: float = DEADLINE) -> Any:
    """Poll an observable condition (a database row, a log line) until it holds."""
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"not within {seconds:.0f} s: {what}")
        time.sleep(0.25)  # polling an observable condition, not synchronising


def query(stack: StackProcess, statement: Any) -> list[Any]:
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(statement).all())
    finally:
        engine.dispose()


def no_canary(where: str, body: str) -> None:
    found = [c for c in CANARIES if c in body]
    assert not found, f"{found} unredacted in {where}"


@pytest.fixture(scope="module")
def flows(stack: StackProcess, platforms: PlatformFakes) -> dict[str, Any]:  # noqa: F811
    """Send the canaries through every flow once; what the checks need to find them again."""
    agent, csrf = signed_in_agent(stack, AGENT_PASSWORD)  # priya.shah (payroll): online, so a handoff queues
    alice = signed_in(stack, "alice.hughes")
    # 1. the web chat: not understood, so the insight store keeps the (redacted) gap
    ask(alice, stack, PLANTED)
    # 2. the ticket form: the description
    answers = ask(alice, stack, "I need to raise a query about overtime that wasn't paid")
    reference = None
    for _ in range(6):
        found = REFERENCE.search(" ".join(answers))
        if found:
            reference = found.group(1)
            break
        last = answers[-1] if answers else ""
        if "Which team" in last:
            answers = ask(alice, stack, "Payroll")
        elif "describe your query" in last:
            answers = ask(alice, stack, f"My overtime is missing. {PLANTED}")
        else:
            answers = ask(alice, stack, "/affirm")
    assert reference, f"no ticket reference: {answers}"
    # 3. a handoff: Ben asks for a person, then writes while the conversation is with an agent
    ben = signed_in(stack, "ben.okafor")
    # the planted data first, then the request alone: the model may read one long message
    # holding both as out of scope (what is tested here is where the data goes, not the NLU)
    ask(ben, stack, f"My pay is wrong this month. {PLANTED}")
    ask(ben, stack, "I want to speak to a person in payroll about my pay")
    handoff_id = until(lambda: (rows := query(stack, select(Handoff.id))) and rows[0][0],
                       "a handoff in the queue")
    agent.post(f"{stack.web}/console/handoffs/{handoff_id}/claim", data={"csrf_token": csrf})
    ask(ben, stack, f"Here are my details: {PLANTED}")
    until(lambda: any(PHONE in body or "[phone]" in (shared or "")
                      for body, shared in query(stack, select(HandoffEntry.body,
                                                              HandoffEntry.shared_body))),
          "Ben's message copied into the transcript")
    # 4. the console: an agent's note
    agent.post(f"{stack.web}/console/handoffs/{handoff_id}/note",
               data={"csrf_token": csrf, "text": f"Noted: {PLANTED}"})
    # 5. Teams and Slack
    conversation = f"a:1alice-canary-{uuid.uuid4().hex[:8]}"
    assert post_teams(stack, "web", platforms.genuine_token,
                      teams_activity(platforms, conversation, text=PLANTED)).status_code == 202
    platforms.connector.wait_for(lambda c: c["conversation"] == conversation)
    channel = dm_channel()
    assert post_slack(stack, "web", slack_event(BEN_SLACK, channel, text=PLANTED)
                      ).status_code == 200
    until(lambda: posted_to(platforms, channel), "the Slack reply")
    return {"agent": agent, "csrf": csrf, "reference": reference, "handoff_id": handoff_id}


def test_no_log_holds_a_canary(stack: StackProcess, flows: dict[str, Any]) -> None:
    no_canary("the processes' logs", stack.log.read_text())


def test_no_agent_or_auditor_view_holds_a_canary(stack: StackProcess, flows: dict[str, Any]
                                                 ) -> None:
    agent = flows["agent"]
    pages = {
        "the queue": "/console",
        "the conversation": f"/console/handoffs/{flows['handoff_id']}",
        "the tickets": "/console/tickets",
        "the ticket": f"/console/tickets/{flows['reference']}",
    }
    for where, path in pages.items():
        response = agent.get(f"{stack.web}{path}")
        assert response.status_code == 200, (where, response.status_code)
        no_canary(where, response.text)
    auditor, _ = signed_in_agent(stack, AGENT_PASSWORD, "dev.okafor")
    for path in ("/console/audit", "/console/audit/export?format=jsonl",
                 "/console/audit/export?format=csv"):
        response = auditor.get(f"{stack.web}{path}")
        assert response.status_code == 200, path
        no_canary(path, response.text)


def test_what_is_kept_for_agents_holds_no_canary(stack: StackProcess,
                                                 flows: dict[str, Any]) -> None:
    kept = [row[0] for row in query(stack, select(Handoff.summary))]
    kept += [row[0] for row in query(stack, select(HandoffEntry.shared_body))]
    kept += [row[0] for row in query(stack, text("SELECT description FROM tickets"))]
    kept += [row[0] for row in query(stack, text("SELECT body FROM ticket_comments"))]
    assert kept and all(value is not None for value in kept)
    for value in kept:
        no_canary("the summary, transcript, ticket or comments agents see", value)
    assert any("[NI number]" in value for value in kept)


def test_the_analytics_store_holds_no_canary(stack: StackProcess, flows: dict[str, Any]) -> None:
    engine = create_engine(stack.database_url)
    try:
        with engine.connect() as connection:
            tables = [name for (name,) in connection.execute(text(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND "
                "(name LIKE 'insight%' OR name LIKE 'satisfaction%')"))]
            assert "insight_unanswered" in tables
            until(lambda: connection.execute(text("SELECT count(*) FROM insight_facts")
                                             ).scalar(), "the insight consumer's facts")
            for table in tables:
                for row in connection.execute(text(f'SELECT * FROM "{table}"')):
                    no_canary(f"the analytics table {table}",
                              " ".join(str(v) for v in row))
    finally:
        engine.dispose()
