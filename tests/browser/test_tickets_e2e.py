"""In headless Chromium, with the pages' Content-Security-Policy enforced: an agent opens the
ticket list from the console's navigation, filters it, opens a ticket and changes its status.
Real processes, real database (the demo tickets `python -m bot.cli setup` loads).
"""
from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Browser, expect

from tests.stack_fixture import Stack

from .conftest import AGENT_PASSWORD

SUBJECT = re.compile(r"emergency code")  # the demo payroll ticket of Ben Okafor (demo-3)


def test_an_agent_filters_opens_and_moves_a_ticket(browser: Browser, stack: Stack,
                                                   reports: Path) -> None:
    agent = browser.new_context(base_url=stack.web).new_page()
    agent.goto("/console/signin")
    agent.get_by_label("Username").fill("priya.shah")
    agent.get_by_label("Password").fill(AGENT_PASSWORD)
    agent.get_by_role("button", name="Sign in").click()
    expect(agent.get_by_role("heading", name="Conversations", exact=True)).to_be_visible()

    nav = agent.get_by_role("navigation", name="Console")
    nav.get_by_role("link", name="Tickets").click()
    expect(agent.get_by_role("heading", name="Tickets", exact=True)).to_be_visible()
    expect(nav.get_by_role("link", name="Tickets")).to_have_attribute("aria-current", "page")

    agent.get_by_label("Category").select_option(label="Payroll")
    agent.get_by_label("Status").select_option(label="New")
    agent.get_by_label("Reference or subject").fill("emergency")
    agent.get_by_role("button", name="Apply filters").click()
    expect(agent.get_by_role("heading", name="1 ticket", exact=True)).to_be_visible()
    expect(agent).to_have_url(re.compile(r"\?status=new&category=payroll&.*q=emergency"))
    expect(agent.get_by_label("Category")).to_have_value("payroll")  # the form remembers
    row = agent.get_by_role("row").filter(has_text=SUBJECT)
    expect(row).to_contain_text("Ben Okafor (E1002)")
    expect(row).to_contain_text("New")
    agent.screenshot(path=str(reports / "08-agent-ticket-list.png"), full_page=True)

    link = row.get_by_role("link")
    reference = link.inner_text()
    link.click()
    expect(agent.get_by_role("heading", level=1)).to_have_text(
        re.compile(rf"^{reference}: .*emergency code"))
    status = agent.get_by_label("Change status")
    expect(status.locator("option")).to_have_text(
        ["Choose a new status", "Open", "Awaiting customer", "Resolved", "Closed"])
    status.select_option(label="Open")
    agent.get_by_role("button", name="Change status").click()

    expect(agent.get_by_role("status")).to_contain_text("Status changed.")
    expect(agent.locator("#ticket-status-value")).to_have_text("Open")
    expect(agent.get_by_role("table", name="History").get_by_role("row").last).to_contain_text(
        "Status New → Open")
    expect(status.locator("option")).to_have_text(
        ["Choose a new status", "Awaiting customer", "Resolved", "Closed"])
    agent.screenshot(path=str(reports / "09-agent-ticket-moved.png"), full_page=True)

    # Back in the list, the default view (not finished) still has it, now open.
    nav.get_by_role("link", name="Tickets").click()
    agent.get_by_label("Reference or subject").fill(reference.lower())
    agent.keyboard.press("Enter")
    expect(agent.get_by_role("row").filter(has_text=SUBJECT)).to_contain_text("Open")

    agent.get_by_role("button", name="Sign out").click()  # not "online" for later tests
    expect(agent.get_by_role("heading", name="Sign in to the agent console")).to_be_visible()
