"""The audit trail in the console: only the security auditor sees it; searching, exporting and
verifying work and are themselves recorded; sign-ins are recorded."""
from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.audit import record_access
from bot.config import Settings
from bot.handoff import accounts
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import AuditEvent, AuditOutcome, Employee
from bot.web.app import create_app

from .conftest import AGENT_PASSWORD as PASSWORD
from .conftest import SECRET, console_sign_in

pytestmark = pytest.mark.asyncio
AUDITOR, AGENT = "ada.audit", "sam.agent"


@pytest.fixture
def accounts_made(database: Database) -> None:
    with database.unit_of_work() as session:
        existing = set(session.scalars(select(accounts.Agent.username)))
        if AUDITOR not in existing:
            accounts.create_agent(session, AUDITOR, "Ada Audit", PASSWORD, "",
                                  roles="security_auditor")
        if AGENT not in existing:
            accounts.create_agent(session, AGENT, "Sam Agent", PASSWORD, "hr")


@pytest_asyncio.fixture
async def console(aiohttp_client: Callable[..., Any], database: Database,
                  accounts_made: None) -> AsyncIterator[TestClient]:
    settings = Settings(database_url=database.url, widget_token_secret=SECRET,
                        dev_signin_enabled=False, rasa_url="http://127.0.0.1:9")
    yield await aiohttp_client(create_app(settings, database))


def _events(database: Database, **where: str) -> list[AuditEvent]:
    with database.unit_of_work() as session:
        statement = select(AuditEvent).order_by(AuditEvent.seq)
        for name, value in where.items():
            statement = statement.where(getattr(AuditEvent, name) == value)
        return list(session.scalars(statement))


def _plant(database: Database, target: str) -> int:
    with database.unit_of_work() as session:
        alice = session.scalar(select(Employee.id).where(Employee.employee_number == "E1001"))
        record_access(session, principal=Principal("console", "helpdesk", "pat.pay"),
                      actor=None, subject_employee_id=alice, record_type="ticket",
                      outcome=AuditOutcome.ALLOWED, target=target)
    return alice


async def test_only_the_security_auditor_sees_the_trail(console: TestClient) -> None:
    await console_sign_in(console, AGENT, page="/console")
    page = await console.get("/console/audit", allow_redirects=False)
    assert page.status == 403
    assert 'href="/console/audit"' not in await (await console.get("/console")).text()
    export = await console.get("/console/audit/export?format=csv", allow_redirects=False)
    assert export.status == 403


async def test_sign_ins_are_recorded_allowed_and_refused(console: TestClient,
                                                         database: Database) -> None:
    refused = await console.post("/console/signin", data={"username": AGENT,
                                                          "password": "not the password"})
    assert refused.status == 401
    await console_sign_in(console, AGENT, page="/console")
    events = _events(database, record_type="console_account", action="sign_in",
                     actor_principal=f"console:helpdesk:{AGENT}")
    outcomes = [e.outcome for e in events[-2:]]
    assert outcomes == [AuditOutcome.REFUSED, AuditOutcome.ALLOWED]
    assert events[-2].reason == "unknown account or wrong password"
    # A password typed into the username box is not written down.
    await console.post("/console/signin", data={"username": "Hunter2 Secret!",
                                                "password": "x"})
    assert not _events(database, actor_principal="console:helpdesk:hunter2 secret!")
    assert _events(database, actor_principal="console:helpdesk:(not a username)")


async def test_search_finds_an_event_and_is_itself_recorded(console: TestClient,
                                                            database: Database) -> None:
    _plant(database, "HR-000777")
    await console_sign_in(console, AUDITOR, page="/console/audit")
    page = await console.get("/console/audit", params={"target": "HR-000777",
                                                       "subject": "e1001"})
    html = await page.text()
    assert page.status == 200
    assert "HR-000777" in html and "console:helpdesk:pat.pay" in html and "E1001" in html
    searches = _events(database, record_type="audit_trail", action="search")
    assert searches[-1].actor_principal == f"console:helpdesk:{AUDITOR}"
    assert "target=HR-000777" in (searches[-1].reason or "")
    bad = await console.get("/console/audit", params={"since": "yesterday"})
    assert bad.status == 400 and "must be a date" in await bad.text()


async def test_exports_for_a_siem(console: TestClient, database: Database) -> None:
    _plant(database, "HR-000888")
    await console_sign_in(console, AUDITOR, page="/console/audit")
    jsonl = await console.get("/console/audit/export",
                              params={"format": "jsonl", "target": "HR-000888"})
    assert jsonl.status == 200
    assert jsonl.headers["Content-Type"].startswith("application/x-ndjson")
    assert "attachment" in jsonl.headers["Content-Disposition"]
    lines = [json.loads(line) for line in (await jsonl.text()).splitlines()]
    assert lines and all(line["target"] == "HR-000888" for line in lines)
    assert {"seq", "at", "row_hash", "prev_hash", "subject_employee_number"} <= set(lines[0])
    assert lines[0]["subject_employee_number"] == "E1001"
    csv_response = await console.get("/console/audit/export",
                                     params={"format": "csv", "target": "HR-000888"})
    rows = list(csv.DictReader(io.StringIO(await csv_response.text())))
    assert [r["seq"] for r in rows] == [str(line["seq"]) for line in lines]
    exports = _events(database, record_type="audit_trail", action="export")
    assert [e.target for e in exports[-2:]] == ["jsonl", "csv"]
    assert (await console.get("/console/audit/export", params={"format": "xml"})).status == 400


async def test_verify_reports_an_intact_and_a_broken_chain(console: TestClient,
                                                           database: Database) -> None:
    csrf = await console_sign_in(console, AUDITOR, page="/console/audit")
    intact = await console.post("/console/audit/verify", data={"csrf_token": csrf})
    assert intact.status == 200 and "The chain is intact" in await intact.text()
    _plant(database, "HR-000999")
    seq = _events(database, target="HR-000999")[-1].seq
    with database.engine.begin() as connection:
        connection.execute(update(AuditEvent).where(AuditEvent.seq == seq)
                           .values(target="HR-000998"))
    try:
        broken = await console.post("/console/audit/verify", data={"csrf_token": csrf})
        html = await broken.text()
        assert "The chain is broken" in html and f"row {seq} was changed" in html
    finally:  # the module's database is shared: put the row back
        with database.engine.begin() as connection:
            connection.execute(update(AuditEvent).where(AuditEvent.seq == seq)
                               .values(target="HR-000999"))
    assert _events(database, action="verify")[-1].reason == "1 problem"


async def test_the_data_protection_officer_exports_an_archive(console: TestClient,
                                                              database: Database) -> None:
    import zipfile

    with database.unit_of_work() as session:
        if session.scalar(select(accounts.Agent.id).where(
                accounts.Agent.username == "dee.dpo")) is None:
            accounts.create_agent(session, "dee.dpo", "Dee", PASSWORD, "",
                                  roles="data_protection")
    csrf = await console_sign_in(console, AGENT, page="/console")
    refused = await console.post("/console/data-protection/export",
                                 data={"csrf_token": csrf, "employee": "E1001"})
    assert refused.status == 403
    await console.post("/console/signout", data={"csrf_token": csrf})
    csrf = await console_sign_in(console, "dee.dpo", page="/console/data-protection")
    response = await console.post("/console/data-protection/export",
                                  data={"csrf_token": csrf, "employee": "e1001"})
    assert response.status == 200 and response.content_type == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(await response.read()))
    data = json.loads(bundle.read("subject-access-E1001.json"))
    assert data["employee"]["employee_number"] == "E1001"
    missing = await console.post("/console/data-protection/export",
                                 data={"csrf_token": csrf, "employee": "E9999"})
    assert missing.status == 404
    preview = await console.post("/console/data-protection/erase",
                                 data={"csrf_token": csrf, "employee": "E1001"})
    assert "Would erase" in await preview.text()
    exports = _events(database, record_type="subject_access", action="export")
    assert exports[-1].actor_principal == "console:helpdesk:dee.dpo"
