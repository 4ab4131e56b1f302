"""The embeddable widget end to end (issue 24, step 3), in headless Chromium with every CSP
enforced: an intranet page on origin A (allowed) includes the one script tag; the employee opens
the launcher, signs in through the fake Entra ID in a pop-up, asks for their leave balance
(the real Rasa, action server and model answer from the record Teams' identity row names),
reloads the page, and sees the conversation again. A page on origin B (not allowed) cannot
frame the chat, not even with A's name in the frame's address. axe-core finds no violation of
any impact in the widget (the launcher and panel on the page, and the chat inside the frame).

Ports are free ones (from HELPDESK_PORT_RANGE when set); page A is on 127.0.0.1, the same site
as the helpdesk, page B on localhost, another site.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import re
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Frame, Page, expect

from bot.identity import Principal
from bot.leave import my_leave_balances
from bot.storage.database import Database
from bot.storage.models import ChannelIdentity, Employee
from scripts.stack_process import PORT_VARIABLES, free_port
from tests.entra_fake import CLIENT_ID, CLIENT_SECRET, TENANT_ID, FakeEntra, write_certificates
from tests.stack_fixture import Stack, running_stack

from .conftest import AXE

WEB_PORT = free_port()
PORT_A, PORT_B = free_port(), free_port()
ORIGIN_A = f"http://127.0.0.1:{PORT_A}"
ORIGIN_B = f"http://localhost:{PORT_B}"
ALICE_OID = "11111111-aaaa-4bbb-8ccc-000000000001"
QUESTION = "how much leave do I have left?"

INTRANET_PAGE = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>{title}</title></head>
<body><header><p>Department intranet</p></header>
<main><h1>{title}</h1><p>News and guidance for staff.</p></main>
<script src="http://127.0.0.1:{web}/static/widget.js" async></script>
</body></html>"""
FORGED_FRAME_PAGE = """<!doctype html>
<html lang="en-GB"><head><meta charset="utf-8"><title>Not an intranet</title></head>
<body><main><h1>Not an intranet</h1>
<iframe id="forged" title="forged" src="http://127.0.0.1:{web}/widget?host={host}"></iframe>
</main></body></html>"""


class FakeEntraThread:
    """The fake Entra ID on its own event loop, in a thread of the test process."""

    def __init__(self, workdir: Path) -> None:
        self.fake = FakeEntra()
        self.fake.add_user("alice", ALICE_OID, "Alice Hughes")
        self.certificates = write_certificates(workdir)
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> FakeEntra:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self.fake.start(self.certificates), self.loop).result(30)
        return self.fake

    def __exit__(self, *exc: object) -> None:
        asyncio.run_coroutine_threadsafe(self.fake.stop(), self.loop).result(30)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def serve(directory: Path, host: str, port: int) -> ThreadingHTTPServer:
    handler = partial(SimpleHTTPRequestHandler, directory=str(directory))
    handler.log_message = lambda *args: None  # type: ignore[method-assign]
    server = ThreadingHTTPServer((host, port), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@pytest.fixture(scope="module")
def entra_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, FakeEntra]]:
    workdir = tmp_path_factory.mktemp("widget-stack")
    with FakeEntraThread(workdir / "entra-tls") as fake:
        ports = {name: str(WEB_PORT if name == "WEB_PORT" else free_port())
                 for name in PORT_VARIABLES}
        env = {**ports,
               "HANDOFF_HOURS": "always",
               "ENTRA_TENANT_ID": TENANT_ID, "ENTRA_CLIENT_ID": CLIENT_ID,
               "ENTRA_CLIENT_SECRET": CLIENT_SECRET, "ENTRA_AUTHORITY_HOST": fake.base_url,
               "ENTRA_REDIRECT_URI": f"http://127.0.0.1:{WEB_PORT}/auth/callback",
               "ENTRA_CA_BUNDLE": str(workdir / "entra-tls" / "ca.pem"),
               "WIDGET_ALLOWED_ORIGINS": ORIGIN_A}
        (workdir / "stack").mkdir()
        with running_stack(workdir / "stack", env, dev_signin=False) as stack:
            link_alice(stack)
            yield stack, fake


def link_alice(stack: Stack) -> None:
    """Alice's Entra user, linked as Teams links people: (msteams, tenant, object id)."""
    db = Database(stack.database_url)
    try:
        with db.unit_of_work() as session:
            alice = session.query(Employee).filter_by(employee_number="E1001").one()
            session.add(ChannelIdentity(channel="msteams", tenant=TENANT_ID, subject=ALICE_OID,
                                        employee_id=alice.id))
    finally:
        db.dispose()


def alices_remaining_leave(stack: Stack) -> str:
    db = Database(stack.database_url)
    try:
        answer = my_leave_balances(db, Principal("widget", f"entra:{TENANT_ID}", ALICE_OID),
                                   dt.date.today())
    finally:
        db.dispose()
    return f"{answer.balances[0].remaining.normalize():f}"


@pytest.fixture(scope="module")
def intranet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    pages = tmp_path_factory.mktemp("intranet")
    (pages / "index.html").write_text(INTRANET_PAGE.format(title="Staff news", web=WEB_PORT))
    (pages / "forged.html").write_text(FORGED_FRAME_PAGE.format(
        web=WEB_PORT, host=ORIGIN_A.replace(":", "%3A").replace("/", "%2F")))
    servers = [serve(pages, "127.0.0.1", PORT_A), serve(pages, "127.0.0.1", PORT_B)]
    yield
    for server in servers:
        server.shutdown()


def widget_frame(page: Page) -> Frame:
    for _ in range(100):
        for frame in page.frames:
            if "/widget?host=" in frame.url:
                return frame
        page.wait_for_timeout(100)
    raise AssertionError("no widget frame")


def launcher(page: Page):  # noqa: ANN201
    return page.get_by_role("button", name=re.compile("^Ask the helpdesk"))


def test_the_widget_signs_in_answers_and_remembers(browser: Browser, entra_stack, intranet,
                                                   reports: Path) -> None:
    stack, _fake = entra_stack
    # The fake Entra ID's certificate comes from a throwaway CA the browser does not know; the
    # web app itself checks it against that CA (ENTRA_CA_BUNDLE).
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.goto(f"{ORIGIN_A}/index.html")
    button = launcher(page)
    expect(button).to_have_attribute("aria-expanded", "false")
    button.click()
    expect(button).to_have_attribute("aria-expanded", "true")
    frame = widget_frame(page)
    sign_in = frame.get_by_role("link", name="Sign in with your work account")
    expect(sign_in).to_be_visible()
    page.screenshot(path=str(reports / "widget-01-sign-in.png"))

    with page.expect_popup() as opened:
        sign_in.click()
    popup = opened.value
    popup.get_by_role("button", name=re.compile("Alice Hughes")).click()  # the fake's page
    popup.wait_for_event("close", timeout=30_000)  # signed in: it told the frame and closed

    frame = widget_frame(page)
    message = frame.get_by_label("Your message")
    expect(message).to_be_visible(timeout=15_000)
    message.fill(QUESTION)
    message.press("Enter")
    log = frame.locator("#log")
    expected = f"You have {alices_remaining_leave(stack)} days of annual leave"
    expect(log).to_contain_text(expected, timeout=60_000)
    page.screenshot(path=str(reports / "widget-02-answer.png"))

    # Escape closes the panel and focus goes back to the launcher.
    message.press("Escape")
    expect(button).to_have_attribute("aria-expanded", "false")
    assert page.evaluate("document.activeElement && document.activeElement.hasAttribute("
                         "'data-helpdesk-widget')")

    # Reload the intranet page: the conversation is still there.
    page.reload()
    launcher(page).click()
    frame = widget_frame(page)
    log = frame.locator("#log")
    expect(log).to_contain_text(QUESTION, timeout=15_000)
    expect(log).to_contain_text(expected)
    expect(frame.get_by_label("Your message")).to_be_focused()
    page.screenshot(path=str(reports / "widget-03-after-reload.png"))
    context.close()


def test_a_page_on_another_origin_cannot_frame_the_chat(browser: Browser, entra_stack,
                                                         intranet) -> None:
    context = browser.new_context()
    page = context.new_page()
    blocked: list[str] = []
    page.on("console", lambda m: blocked.append(m.text) if "frame-ancestors" in m.text else None)
    for path in ("index.html", "forged.html"):  # the script's own frame; one naming A as host
        page.goto(f"{ORIGIN_B}/{path}")
        if path == "index.html":
            launcher(page).click()
        page.wait_for_load_state("load")
        page.wait_for_timeout(500)
        frames = [f for f in page.frames if f is not page.main_frame]
        assert frames, path
        for frame in frames:
            # Chromium shows its own error page instead of a refused frame.
            assert frame.locator("#message").count() == 0, path
            assert frame.locator("#widget-signin").count() == 0, path
    assert any("frame-ancestors" in text for text in blocked), blocked
    context.close()


def test_the_widget_has_no_axe_violations(browser: Browser, entra_stack, intranet,
                                          reports: Path) -> None:
    """Any impact, on the launcher, the open panel and the chat in the frame (signed in: the
    first test's session is in another context, so sign in again here)."""
    assert AXE.exists(), f"{AXE} is missing: npm ci --prefix tests/browser"
    context = browser.new_context(ignore_https_errors=True, bypass_csp=True)  # to inject axe
    page = context.new_page()
    page.goto(f"{ORIGIN_A}/index.html")
    found = {}
    page.add_script_tag(path=str(AXE))
    found["launcher"] = page.evaluate("axe.run(document).then(r => r.violations)")
    launcher(page).click()
    frame = widget_frame(page)
    with page.expect_popup() as opened:
        frame.get_by_role("link", name="Sign in with your work account").click()
    opened.value.get_by_role("button", name=re.compile("Alice Hughes")).click()
    opened.value.wait_for_event("close", timeout=30_000)
    frame = widget_frame(page)
    expect(frame.get_by_label("Your message")).to_be_visible(timeout=15_000)
    expect(frame.locator("#log")).to_contain_text(QUESTION, timeout=15_000)  # the history
    found["open-panel"] = page.evaluate("axe.run(document).then(r => r.violations)")
    frame.add_script_tag(path=str(AXE))
    found["chat-frame"] = frame.evaluate("axe.run(document).then(r => r.violations)")
    (reports / "axe-widget.json").write_text(json.dumps(found, indent=2))
    summary = {name: [(v["id"], v["impact"]) for v in violations]
               for name, violations in found.items()}
    assert all(not violations for violations in found.values()), summary
    context.close()


def test_my_queries_from_the_widget(browser: Browser, entra_stack, intranet,
                                    reports: Path) -> None:
    """"My queries" opens from the widget in a tab of its own, lists Alice's tickets (the
    demo's, raised under her intranet identity: the same employee), shows one, takes a
    comment; axe-core: no violation of any impact on either page."""
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.goto(f"{ORIGIN_A}/index.html")
    launcher(page).click()
    frame = widget_frame(page)
    if frame.get_by_role("link", name="Sign in with your work account").count():
        with page.expect_popup() as opened:
            frame.get_by_role("link", name="Sign in with your work account").click()
        opened.value.get_by_role("button", name=re.compile("Alice Hughes")).click()
        opened.value.wait_for_event("close", timeout=30_000)
        frame = widget_frame(page)
    with page.expect_popup() as opened:
        frame.get_by_role("link", name="My queries (opens in a new tab)").click()
    queries = opened.value
    expect(queries.get_by_role("heading", name="My queries", level=1)).to_be_visible()
    first = queries.locator("table.queries a").first
    expect(first).to_be_visible()
    reference = first.inner_text()
    queries.screenshot(path=str(reports / "widget-04-my-queries.png"), full_page=True)
    found = {"list": axe_all(queries)}
    first.click()
    expect(queries.get_by_role("heading", level=1)).to_contain_text(reference)
    comment = queries.get_by_label("Add a comment")
    if comment.count():
        comment.fill("Adding a note from My queries.")
        queries.get_by_role("button", name="Add comment").click()
        expect(queries.locator(".comment").last).to_contain_text("Adding a note from My queries.")
    queries.screenshot(path=str(reports / "widget-05-query.png"), full_page=True)
    found["query"] = axe_all(queries)
    (reports / "axe-my-queries.json").write_text(json.dumps(found, indent=2))
    summary = {name: [(v["id"], v["impact"]) for v in violations]
               for name, violations in found.items()}
    assert all(not violations for violations in found.values()), summary
    context.close()


def axe_all(page: Page) -> list[dict]:
    """axe-core's violations of any impact. The pages' CSP forbids injected scripts, so axe
    runs in a copy of the page's DOM in a CSP-free context of its own."""
    html = page.content()
    url = page.url
    scratch = page.context.browser.new_context(bypass_csp=True)
    try:
        copy = scratch.new_page()
        copy.route("**/*", lambda route: route.fulfill(body=html, content_type="text/html")
                   if route.request.url == url else route.continue_())
        copy.goto(url)
        copy.add_script_tag(path=str(AXE))
        return copy.evaluate("axe.run(document).then(r => r.violations)")
    finally:
        scratch.close()
