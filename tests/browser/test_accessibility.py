"""axe-core on the chat page and the agent console (queue, conversation, ticket list, one
ticket, a refused ticket form): no serious or critical violations of WCAG 2.0/2.1/2.2 A and AA
rules. The full axe results are saved in reports/browser/.

axe is injected with a script tag, which the pages' Content-Security-Policy forbids, so these
contexts bypass CSP; the end-to-end test runs with it enforced. Every context signs out at the
end, so its agent is not counted as online by later tests.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.stack_fixture import Stack

from .conftest import AGENT_PASSWORD, AXE, signed_in_employee

TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
BLOCKING = {"serious", "critical"}


def axe_violations(page: Page, name: str, reports: Path) -> list[dict]:
    assert AXE.exists(), f"{AXE} is missing: npm ci --prefix tests/browser"
    page.add_script_tag(path=str(AXE))
    results = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", TAGS)
    (reports / f"axe-{name}.json").write_text(json.dumps(results, indent=2))
    return [{"id": v["id"], "impact": v["impact"], "help": v["help"],
             "targets": [n["target"] for n in v["nodes"]]}
            for v in results["violations"] if v["impact"] in BLOCKING]


def context_page(browser: Browser, stack: Stack) -> Page:
    return browser.new_context(base_url=stack.web, bypass_csp=True).new_page()


def test_chat_page_and_console_have_no_serious_violations(browser: Browser, stack: Stack,
                                                          reports: Path) -> None:
    found: dict[str, list[dict]] = {}

    agent = context_page(browser, stack)
    agent.goto("/console/signin")
    found["console-signin"] = axe_violations(agent, "console-signin", reports)
    agent.get_by_label("Username").fill("tom.jones")
    agent.get_by_label("Password").fill(AGENT_PASSWORD)
    agent.get_by_role("button", name="Sign in").click()
    expect(agent.get_by_role("heading", name="Conversations", exact=True)).to_be_visible()

    signin = context_page(browser, stack)
    signin.goto("/signin")
    found["dev-signin"] = axe_violations(signin, "dev-signin", reports)
    employee = signed_in_employee(browser, stack, "ben.okafor", bypass_csp=True)
    employee.get_by_label("Your message").fill("I want to talk to a human")
    employee.keyboard.press("Enter")
    expect(employee.locator("#log")).to_contain_text("join this chat")
    found["chat"] = axe_violations(employee, "chat", reports)

    expect(agent.get_by_role("link", name=re.compile(r"^Open")).first).to_be_visible()
    found["console-queue"] = axe_violations(agent, "console-queue", reports)
    agent.get_by_role("link", name=re.compile(r"^Open")).first.click()
    expect(agent.get_by_role("heading", name="Conversation with Ben Okafor")).to_be_visible()
    agent.get_by_role("button", name="Claim this conversation").click()
    expect(agent.locator("#handoff-state")).to_have_text("With you.")
    expect(agent.get_by_label("Reply to Ben")).to_be_visible()
    found["console-conversation"] = axe_violations(agent, "console-conversation", reports)
    agent.screenshot(path=str(reports / "07-console-conversation-axe.png"), full_page=True)

    agent.get_by_role("button", name="Hand back to the assistant").click()
    expect(agent.locator("#handoff-state")).to_have_text("Ended: handed back to the assistant.")

    check_ticket_pages(agent, found, reports)
    agent.get_by_role("button", name="Sign out").click()
    expect(agent.get_by_role("heading", name="Sign in to the agent console")).to_be_visible()
    assert found == {name: [] for name in found}, json.dumps(found, indent=2)


def check_ticket_pages(agent: Page, found: dict[str, list[dict]], reports: Path) -> None:
    """The ticket list, a ticket with a public reply and an internal note, and the same ticket
    after a refused comment (the error shown, the typed text kept)."""
    agent.get_by_role("navigation", name="Console").get_by_role("link", name="Tickets").click()
    expect(agent.get_by_role("heading", name="Tickets", exact=True)).to_be_visible()
    found["console-tickets"] = axe_violations(agent, "console-tickets", reports)
    agent.get_by_label("Reference or subject").fill("flexi balance")  # demo-1: both comments
    agent.get_by_role("button", name="Apply filters").click()
    agent.get_by_role("row").filter(has_text="flexi balance").get_by_role("link").click()
    expect(agent.locator(".entry--note")).to_contain_text("never shown to the employee")
    found["console-ticket"] = axe_violations(agent, "console-ticket", reports)
    agent.get_by_label("Add a comment").fill("   ")  # satisfies `required`; the server refuses
    agent.get_by_label("Agents only: an internal note").check()
    agent.get_by_role("button", name="Add comment").click()
    expect(agent.get_by_role("alert")).to_have_text("Not added: write the comment first.")
    found["console-ticket-refused"] = axe_violations(agent, "console-ticket-refused", reports)
    agent.screenshot(path=str(reports / "10-console-ticket-axe.png"), full_page=True)


def test_the_development_sign_in_form_works_in_a_browser(browser: Browser, stack: Stack) -> None:
    page = browser.new_context(base_url=stack.web).new_page()
    page.goto("/signin")
    page.get_by_role("button", name=re.compile("Fatima Rahman")).click()
    expect(page.get_by_label("Your message")).to_be_visible(timeout=3000)
