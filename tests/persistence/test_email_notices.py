"""E-mail through GOV.UK Notify (issue 24, step 5), on SQLite and PostgreSQL, against the local
Notify fake over HTTP with the official client: an agent reply and a resolution made while the
employee is away are e-mailed exactly once after the delay; none when the chat showed them;
opt-out; a send whose outcome is unknown is looked up, never repeated; no address or text in
the logs."""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
import threading
from collections.abc import Iterator

import pytest
from aiohttp import web
from sqlalchemy import select

from bot.config import Settings
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.email_notices import service
from bot.email_notices.models import EmailNotice
from bot.email_notices.notify import NotifyMailer
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import Employee
from bot.storage.times import utcnow
from bot.tickets.agent import AgentRef, add_comment, change_status
from bot.tickets.enums import ServiceLine, TicketStatus, Visibility
from bot.tickets.requester import NewTicket, raise_ticket
from bot.tickets.sla import policy_from_settings
from tests.notify_fake import API_KEY, FakeNotify, template_id

POLICY = policy_from_settings(Settings())
AGENT = AgentRef("sam.agent")
DELAY = dt.timedelta(minutes=30)
SETTINGS = service.EmailSettings(
    DELAY, {k: template_id(k) for k in ("ticket_status", "agent_reply", "leave_decision")},
    "https://helpdesk.example.gov.uk")


@pytest.fixture
def notify() -> Iterator[FakeNotify]:
    """The fake on its own event loop, in a thread: the mailer is synchronous (requests)."""
    fake = FakeNotify()
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    runner = web.AppRunner(fake.app(), access_log=None)

    async def start() -> str:
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # noqa: SLF001

    fake.url = asyncio.run_coroutine_threadsafe(start(), loop).result(10)
    yield fake
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(10)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)


def raise_for(db: Database, subject: str, conversation: str) -> str:
    new = NewTicket(ServiceLine.HR, "A question about my contract hours for March",
                    conversation_id=conversation, channel="widget")
    return raise_ticket(db, Principal("widget", DEMO_WIDGET_ISSUER, subject), new,
                        POLICY).summary.reference


def employee_id(db: Database, number: str) -> int:
    with db.unit_of_work() as session:
        return session.scalar(select(Employee.id).where(Employee.employee_number == number))


def states(db: Database) -> dict[str, str]:
    with db.unit_of_work() as session:
        return dict(session.execute(select(EmailNotice.key, EmailNotice.state)).all())


def test_while_away_each_is_emailed_once_after_the_delay(demo_db: Database,
                                                        notify: FakeNotify,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    mailer = NotifyMailer(API_KEY, base_url=notify.url)
    reference = raise_for(demo_db, "alice.hughes", "widget-alice")
    add_comment(demo_db, AGENT, reference, "Please send the signed form", Visibility.PUBLIC,
                POLICY)
    change_status(demo_db, AGENT, reference, TicketStatus.RESOLVED, POLICY)
    now = utcnow()
    assert service.collect(demo_db, DELAY, now) == 2
    assert service.collect(demo_db, DELAY, now) == 0  # each source row once
    assert service.send_due(demo_db, mailer, SETTINGS, now).sent == 0  # not due yet
    later = now + DELAY + dt.timedelta(minutes=1)
    report = service.send_due(demo_db, mailer, SETTINGS, later)
    assert report.sent == 2 and len(notify.sent) == 2
    kinds = sorted(template_id(k) for k in ("agent_reply", "ticket_status"))
    assert sorted(e["template_id"] for e in notify.sent) == kinds
    assert {e["email_address"] for e in notify.sent} == {"alice.hughes@dds.example.gov.uk"}
    assert all(e["personalisation"]["link"].endswith(f"/queries/{reference}")
               for e in notify.sent)
    # Again and again: nothing more.
    for _ in range(3):
        service.collect(demo_db, DELAY, later)
        assert service.send_due(demo_db, mailer, SETTINGS, later).sent == 0
    assert len(notify.sent) == 2 and notify.refused_auth == 0
    assert set(states(demo_db).values()) == {"sent"}
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "alice.hughes@" not in logged and "signed form" not in logged
    assert "contract hours" not in logged


def test_what_the_chat_showed_is_not_emailed(demo_db: Database, notify: FakeNotify) -> None:
    mailer = NotifyMailer(API_KEY, base_url=notify.url)
    reference = raise_for(demo_db, "ben.okafor", "widget-ben")
    add_comment(demo_db, AGENT, reference, "We have fixed it", Visibility.PUBLIC, POLICY)
    now = utcnow()
    service.collect(demo_db, DELAY, now)
    service.mark_viewed(demo_db, "widget-ben", employee_id(demo_db, "E1002"),
                        now + dt.timedelta(minutes=5))
    report = service.send_due(demo_db, mailer, SETTINGS, now + DELAY + dt.timedelta(minutes=1))
    assert (report.sent, report.seen) == (0, 1)
    assert notify.sent == []
    # A view of another conversation does not count.
    other = raise_for(demo_db, "ben.okafor", "widget-ben-2")
    change_status(demo_db, AGENT, other, TicketStatus.RESOLVED, POLICY)
    service.collect(demo_db, DELAY, now)
    service.mark_viewed(demo_db, "widget-ben", employee_id(demo_db, "E1002"),
                        now + dt.timedelta(minutes=6))
    assert service.send_due(demo_db, mailer, SETTINGS, now + DELAY * 2).sent == 1


def test_an_opted_out_employee_gets_no_email(demo_db: Database, notify: FakeNotify) -> None:
    mailer = NotifyMailer(API_KEY, base_url=notify.url)
    service.set_opted_out(demo_db, employee_id(demo_db, "E1001"), True)
    reference = raise_for(demo_db, "alice.hughes", "widget-alice")
    change_status(demo_db, AGENT, reference, TicketStatus.RESOLVED, POLICY)
    now = utcnow()
    service.collect(demo_db, DELAY, now)
    report = service.send_due(demo_db, mailer, SETTINGS, now + DELAY * 2)
    assert (report.sent, report.skipped) == (0, 1) and notify.sent == []
    assert service.is_opted_out(demo_db, employee_id(demo_db, "E1001"))


@pytest.mark.parametrize("failure", ["timeout", 500, 503, 429])
def test_an_unknown_outcome_is_looked_up_never_sent_twice(demo_db: Database, notify: FakeNotify,
                                                          failure: object) -> None:
    mailer = NotifyMailer(API_KEY, base_url=notify.url, timeout=1)
    notify.fail_next = [failure]
    notify.timeout_seconds = 3
    reference = raise_for(demo_db, "alice.hughes", "widget-alice")
    change_status(demo_db, AGENT, reference, TicketStatus.RESOLVED, POLICY)
    now = utcnow()
    service.collect(demo_db, DELAY, now)
    first = service.send_due(demo_db, mailer, SETTINGS, now + DELAY * 2)
    assert (first.sent, first.unknown) == (0, 1)
    assert set(states(demo_db).values()) == {"sending"}
    # Too soon to settle: nothing is tried.
    assert service.send_due(demo_db, mailer, SETTINGS, now + DELAY * 2).sent == 0
    settled = now + DELAY * 2 + service.RECONCILE_AFTER + dt.timedelta(seconds=1)
    service.send_due(demo_db, mailer, SETTINGS, settled)  # looked up; resent only if absent
    service.send_due(demo_db, mailer, SETTINGS, settled)
    assert set(states(demo_db).values()) == {"sent"}
    assert len([e for e in notify.sent if e.get("reference")]) == 1  # exactly once at Notify


def test_notify_refusing_for_good_is_a_failure_not_a_retry(demo_db: Database,
                                                            notify: FakeNotify) -> None:
    mailer = NotifyMailer(API_KEY, base_url=notify.url)
    broken = service.EmailSettings(DELAY, {k: "00000000-0000-0000-0000-000000000000"
                                           for k in SETTINGS.templates}, SETTINGS.base_url)
    reference = raise_for(demo_db, "alice.hughes", "widget-alice")
    change_status(demo_db, AGENT, reference, TicketStatus.RESOLVED, POLICY)
    now = utcnow()
    service.collect(demo_db, DELAY, now)
    assert service.send_due(demo_db, mailer, broken, now + DELAY * 2).failed == 1
    assert service.send_due(demo_db, mailer, broken, now + DELAY * 3).failed == 0
    assert set(states(demo_db).values()) == {"failed"} and notify.sent == []


def test_a_wrong_key_is_refused_by_notify(demo_db: Database, notify: FakeNotify) -> None:
    wrong = API_KEY[:-4] + "0000"
    mailer = NotifyMailer(wrong, base_url=notify.url)
    reference = raise_for(demo_db, "alice.hughes", "widget-alice")
    change_status(demo_db, AGENT, reference, TicketStatus.RESOLVED, POLICY)
    now = utcnow()
    service.collect(demo_db, DELAY, now)
    assert service.send_due(demo_db, mailer, SETTINGS, now + DELAY * 2).failed == 1
    assert notify.refused_auth == 1 and notify.sent == []


def test_the_worker_pass_uses_the_settings(demo_db: Database, notify: FakeNotify) -> None:
    from bot.ticket_worker import email_pass
    settings = Settings(public_base_url="https://helpdesk.example.gov.uk",
                        notify_templates=tuple(SETTINGS.templates.items()),
                        email_after_minutes=0.0)
    reference = raise_for(demo_db, "alice.hughes", "widget-alice")
    change_status(demo_db, AGENT, reference, TicketStatus.RESOLVED, POLICY)
    email_pass(demo_db, settings, NotifyMailer(API_KEY, base_url=notify.url))
    assert len(notify.sent) == 1
    assert notify.sent[0]["personalisation"]["link"] == \
        f"https://helpdesk.example.gov.uk/queries/{reference}"


def test_notify_settings_are_all_or_nothing() -> None:
    from bot.config import ConfigurationError
    complete = {"NOTIFY_API_KEY": API_KEY, "NOTIFY_TEMPLATE_TICKET_STATUS": "a",
                "NOTIFY_TEMPLATE_AGENT_REPLY": "b", "NOTIFY_TEMPLATE_LEAVE_DECISION": "c",
                "EMAIL_AFTER_MINUTES": "15"}
    settings = Settings.from_env(complete)
    assert settings.notify_api_key == API_KEY and settings.email_after_minutes == 15
    assert dict(settings.notify_templates)["agent_reply"] == "b"
    assert Settings.from_env({}).notify_api_key == ""
    for missing in complete:
        if missing == "EMAIL_AFTER_MINUTES":
            continue
        with pytest.raises(ConfigurationError):
            Settings.from_env({k: v for k, v in complete.items() if k != missing})


def test_a_leave_decision_is_emailed_unless_any_of_their_chats_showed_it(
        demo_db: Database, notify: FakeNotify) -> None:
    """A decision is said in whichever conversation was the employee's latest, so any of their
    web chats showing it after it was made counts as seen."""
    from bot.records.notifications import enqueue_leave_decision
    mailer = NotifyMailer(API_KEY, base_url=notify.url)
    alice, ben = employee_id(demo_db, "E1001"), employee_id(demo_db, "E1002")
    with demo_db.unit_of_work() as session:
        enqueue_leave_decision(session, alice, "LV-1")
        enqueue_leave_decision(session, ben, "LV-2")
    now = utcnow()
    assert service.collect(demo_db, DELAY, now) == 2
    service.mark_viewed(demo_db, "widget-ben-any", ben, now + dt.timedelta(minutes=1))
    report = service.send_due(demo_db, mailer, SETTINGS, now + DELAY * 2)
    assert (report.sent, report.seen) == (1, 1)
    assert [e["template_id"] for e in notify.sent] == [template_id("leave_decision")]
    assert notify.sent[0]["personalisation"]["link"].endswith("/chat")
