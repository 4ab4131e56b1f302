"""The service-insight dashboard in Chromium: a supervisor sees the charts and their tables,
filters by department, downloads the CSV; axe-core finds no violation of any impact."""
from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

from playwright.sync_api import Browser, expect

from bot.insight.consumer import BrokerEvent, apply_batch
from bot.storage.database import Database
from tests.insight_support import Script, answered, fallback, handed_off
from tests.stack_fixture import Stack

from .conftest import AGENT_PASSWORD, AXE

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]


def seed_facts(stack: Stack) -> str:
    """Three conversations (two in DDS, one in MPW), as the consumer would store them, on a day
    forty days ago: the stack is shared with the other browser tests, whose conversations are
    today's."""
    day = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=40)
    now = day.replace(hour=9, minute=5, second=0, microsecond=0).timestamp()
    scripts = [answered(Script("browser-i1", "alice.hughes", now).session()),
               handed_off(Script("browser-i2", "chloe.singh", now + 60).session()),
               fallback(Script("browser-i3", "daniel.evans", now + 120).session(),
                        "the form from 12/03/2024 about jo@example.org")]
    db = Database(stack.database_url)
    try:
        with db.unit_of_work() as session:
            apply_batch(session, [BrokerEvent(json.dumps(e).encode())
                                  for s in scripts for e in s.events])
    finally:
        db.dispose()
    return dt.datetime.fromtimestamp(now, dt.timezone.utc).date().isoformat()


def test_a_supervisor_filters_and_exports_the_dashboard(browser: Browser, stack: Stack,
                                                        reports: Path, tmp_path: Path) -> None:
    day = seed_facts(stack)
    context = browser.new_context(base_url=stack.web, bypass_csp=True, accept_downloads=True)
    page = context.new_page()
    page.goto("/console/signin")
    page.get_by_label("Username").fill("tom.jones")
    page.get_by_label("Password").fill(AGENT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Service insight").click()
    page.get_by_label("From", exact=True).fill(day)
    page.get_by_label("To", exact=True).fill(day)
    page.get_by_role("button", name="Show").click()
    expect(page.get_by_role("img", name="Conversations per period")).to_be_visible()
    totals = page.locator("#totals")

    def count(measure: str):  # noqa: ANN202 - a Playwright locator
        row = totals.locator("tr").filter(
            has=page.get_by_role("rowheader", name=measure, exact=True))
        return row.locator("td").first

    expect(count("Conversations")).to_have_text("3")
    # Redacted: the e-mail address; a date alone is not personal data (only dates of birth are).
    expect(page.locator("#unanswered-table")).to_contain_text(
        "the form from 12/03/2024 about [email]")
    page.screenshot(path=str(reports / "insight-dashboard.png"), full_page=True)

    page.get_by_label("Department", exact=True).select_option("DDS")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(f"{stack.web}/console/insight?from={day}&to={day}&department=DDS"
                             "&channel=&intent=&by=day")
    expect(count("Conversations")).to_have_text("2")
    expect(count("Handed to a person")).to_have_text("1")

    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    (reports / "axe-console-insight.json").write_text(json.dumps(results, indent=2))
    assert [(v["id"], v["impact"]) for v in results["violations"]] == []

    with page.expect_download() as download:
        page.get_by_role("link", name="Download these numbers (CSV)").click()
    saved = tmp_path / "insight.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(saved.open(encoding="utf-8")))
    totals_csv = {r["metric"]: r["value"] for r in rows if r["section"] == "totals"}
    assert (totals_csv["conversations"], totals_csv["handed_off"]) == ("2", "1")
    assert {r["value"] for r in rows if r["metric"] == "department"} == {"DDS"}
    page.get_by_role("button", name="Sign out").click()
    context.close()
