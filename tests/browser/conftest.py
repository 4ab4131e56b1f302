"""Browser tests: the real stack, headless Debian Chromium driven by Playwright, axe-core.

Chromium is Debian's (`apt-get install chromium`, /usr/bin/chromium; never `playwright
install`), axe-core comes from npm (`npm ci --prefix tests/browser`). Screenshots and axe
reports go to reports/browser/.
"""
from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack_fixture import ROOT, Stack, running_stack

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
AXE = ROOT / "tests" / "browser" / "node_modules" / "axe-core" / "axe.min.js"
REPORTS = ROOT / "reports" / "browser"
AGENT_PASSWORD = secrets.token_urlsafe(18)


@pytest.fixture(scope="session")
def reports() -> Path:
    REPORTS.mkdir(parents=True, exist_ok=True)
    return REPORTS


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    # A 24/7 helpdesk, so the test does not depend on the time of day it runs at.
    with running_stack(tmp_path_factory.mktemp("browser-stack"),
                       {"HANDOFF_HOURS": "always",
                        "HELPDESK_DEMO_AGENT_PASSWORD": AGENT_PASSWORD}) as running:
        yield running


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def signed_in_employee(browser, stack: Stack, subject: str,  # noqa: ANN001, ANN201
                       bypass_csp: bool = False):
    """A chat page signed in as a demo employee, the way the intranet would: its session
    token in the cookie (the development sign-in form is covered in test_accessibility)."""
    from bot.config import Settings
    from bot.web import session_tokens

    settings = Settings(widget_token_secret=stack.env["WIDGET_TOKEN_SECRET"])
    context = browser.new_context(base_url=stack.web, bypass_csp=bypass_csp)
    context.add_cookies([{"name": "hd_session", "value": session_tokens.mint(settings, subject),
                          "url": stack.web, "httpOnly": True, "sameSite": "Strict"}])
    page = context.new_page()
    page.goto("/chat")
    return page
