"""The service-insight dashboard and CSV export (supervisors only), and the web app's metrics:
counted per route pattern, served on the internal port and never by the published app."""
from __future__ import annotations

import csv
import io
import json
import socket
import urllib.request
from typing import Any, Callable

import pytest
from aiohttp.test_utils import TestClient

from bot import metrics
from bot.config import Settings
from bot.handoff import accounts
from bot.insight.consumer import BrokerEvent, apply_batch
from bot.storage.database import Database
from bot.web.app import create_app
from bot.web.metrics import instrument
from tests.insight_support import Script, answered, fallback, handed_off
from tests.web.conftest import AGENT_PASSWORD, console_sign_in

DAY = "2026-11-30"
START = 1_796_025_600.0  # 2026-11-30 08:00 UTC


@pytest.fixture(scope="module", autouse=True)
def accounts_and_facts(database: Database) -> None:
    with database.unit_of_work() as session:
        accounts.create_agent(session, "ins.super", "Sue Pervisor", AGENT_PASSWORD, "hr",
                              roles="supervisor")
        accounts.create_agent(session, "ins.agent", "Andy Agent", AGENT_PASSWORD, "hr")
    scripts = [answered(Script("w-1", "alice.hughes", START).session()),
               fallback(Script("w-2", "daniel.evans", START + 60).session(), "=HYPERLINK(1) where is it"),
               handed_off(Script("w-3", "alice.hughes", START + 120).session())]
    with database.unit_of_work() as session:
        apply_batch(session, [BrokerEvent(json.dumps(e).encode())
                              for s in scripts for e in s.events])


async def test_supervisors_see_the_dashboard_agents_do_not(
        make_client: Callable[..., Any], settings: Settings) -> None:
    agent: TestClient = await make_client(settings)
    await console_sign_in(agent, "ins.agent", page="/console/tickets")
    refused = await agent.get(f"/console/insight?from={DAY}&to={DAY}")
    assert refused.status == 403
    assert "Service insight" not in await (await agent.get("/console/tickets")).text()
    supervisor: TestClient = await make_client(settings)
    await console_sign_in(supervisor, "ins.super")
    page = await supervisor.get(f"/console/insight?from={DAY}&to={DAY}")
    html = await page.text()
    assert page.status == 200
    assert '<svg class="chart" id="chart-volume" role="img"' in html
    assert 'aria-describedby="chart-volume-table"' in html and 'id="chart-volume-table"' in html
    assert "<th scope=\"row\">Conversations</th><td>3</td>" in html
    assert "=HYPERLINK(1) where is it" in html  # the unanswered question, in a table cell


async def test_department_filter_and_csv_export(make_client: Callable[..., Any],
                                                settings: Settings) -> None:
    client: TestClient = await make_client(settings)
    await console_sign_in(client, "ins.super")
    page = await (await client.get(
        f"/console/insight?from={DAY}&to={DAY}&department=MPW")).text()
    assert "<th scope=\"row\">Conversations</th><td>1</td>" in page
    exported = await client.get(f"/console/insight.csv?from={DAY}&to={DAY}&department=DDS")
    assert exported.status == 200
    assert exported.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in exported.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await exported.text())))
    totals = {r["metric"]: r["value"] for r in rows if r["section"] == "totals"}
    assert (totals["conversations"], totals["contained"], totals["handed_off"]) == ("2", "1", "1")
    everything = await (await client.get(f"/console/insight.csv?from={DAY}&to={DAY}")).text()
    assert "'=HYPERLINK(1) where is it" in everything  # a formula is neutralised
    assert all(not cell.startswith("=") for row in csv.reader(io.StringIO(everything))
               for cell in row)


@pytest.mark.parametrize("query", ["from=yesterday", "to=2026-11-01&from=2026-11-30",
                                   "channel=fax", "by=month", "from=2020-01-01&to=2026-01-01"])
async def test_a_bad_filter_is_a_clear_400(make_client: Callable[..., Any], settings: Settings,
                                           query: str) -> None:
    client: TestClient = await make_client(settings)
    await console_sign_in(client, "ins.super")
    page = await client.get(f"/console/insight?{query}")
    assert page.status == 400
    assert 'role="alert"' in await page.text()
    assert (await client.get(f"/console/insight.csv?{query}")).status == 400


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_requests_are_counted_by_route_and_metrics_are_internal_only(
        aiohttp_client: Callable[..., Any], settings: Settings, database: Database) -> None:
    port = _free_port()
    internal = Settings(**{**settings.__dict__, "metrics_port": port})
    app = create_app(internal, database)
    instrument(app, internal)
    client: TestClient = await aiohttp_client(app)
    before = metrics.HTTP_REQUESTS.labels("web", "/healthz", "GET", "200")._value.get()
    assert (await client.get("/healthz")).status == 200
    assert (await client.get("/metrics")).status == 404  # the published app has no /metrics
    assert (await client.get("/console/tickets/HR-1", allow_redirects=False)).status == 302
    after = metrics.HTTP_REQUESTS.labels("web", "/healthz", "GET", "200")._value.get()
    assert after == before + 1
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        exposition = response.read().decode()
    assert 'helpdesk_http_requests_total{method="GET",process="web",route="/healthz",status="200"}' \
        in exposition
    assert 'route="/console/tickets/{reference}"' in exposition  # the pattern, not the path
    assert "helpdesk_handoffs_waiting" in exposition and "helpdesk_agents_online" in exposition
