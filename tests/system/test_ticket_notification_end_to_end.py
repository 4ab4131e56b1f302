"""A ticket update reaches the employee's chat page through the real stack, exactly once.

`scripts/stack.py` runs as `make run` starts it (action server, Rasa with the trained model, web
app, ticket worker) on free loopback ports with throwaway databases. Over HTTP only:

1. Alice signs in (development sign-in), opens her chat page's live stream (`/api/events`, as
   chat.js does) and raises a payroll query by chat: the form, the reference in the answer.
2. An agent signs in to the console and, through the ticket pages' JSON answers, adds an
   internal note, resolves the ticket and adds a public reply.
3. The stack's ticket worker asks Rasa's relay channel (its own key, RELAY_TICKETS_KEY) to run
   the notify action; Rasa's widget output channel pushes to the web app; the stream delivers
   it. Each notice must arrive once; the internal note never.
4. Another worker pass (run here, against the same Rasa) and the stack's own next pass send
   nothing more.

Waiting is always for an observable condition with a deadline (a condition variable fed by the
stream reader, the stack's log), never a sleep.
"""
from __future__ import annotations

import asyncio
import json
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import aiohttp
import pytest
import requests
from sqlalchemy import select

from bot.config import Settings
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.handoff import widget_push
from bot.storage.database import Database
from bot.tickets.models import NotificationState, Ticket, TicketNotification
from bot.relay import Relay
from bot.tickets.notifications import DeliveryReport
from bot.tickets.sla import policy_from_settings
from bot.tickets.upkeep import run_once
from scripts.stack import WORKER_HEARTBEAT
from scripts.stack_process import StackProcess

from .chat_client import ask, console_post, signed_in, signed_in_agent
from .running import started_stack

AGENT_PASSWORD = secrets.token_urlsafe(18)
EMPLOYEE = "alice.hughes"
DESCRIPTION = "I worked 6 hours of overtime on 3 October and it is missing from my October payslip."
INTERNAL_NOTE = "Checked the timesheet import; overtime batch 4471 was never loaded."
PUBLIC_REPLY = "We will pay the overtime as arrears in your November salary."
REFERENCE = re.compile(r"logged as ((?:PAY|HR|PEN|FIN|ACC)-\d{6})")
DELIVERY_SECONDS = 60.0  # the worker passes every 5 s; Rasa may be slow on a busy machine


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    with started_stack(tmp_path_factory.mktemp("ticket-stack"),
                       {"HELPDESK_DEMO_AGENT_PASSWORD": AGENT_PASSWORD}) as running:
        yield running


class ChatStream:
    """The employee's chat page's live stream, read in a thread like chat.js's EventSource."""

    def __init__(self, stack: StackProcess, cookies: requests.cookies.RequestsCookieJar) -> None:
        self._session = requests.Session()
        self._session.cookies.update(cookies)
        self._response = self._session.get(f"{stack.web}/api/events", stream=True,
                                           timeout=(5, 120))
        assert self._response.status_code == 200, self._response.text
        self.messages: list[dict[str, Any]] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        event = None
        try:
            for line in self._response.iter_lines(chunk_size=None, decode_unicode=True):
                if line.startswith("event: "):
                    event = line[len("event: "):]
                elif line.startswith("data: ") and event == "message":
                    with self._changed:
                        self.messages.append(json.loads(line[len("data: "):]))
                        self._changed.notify_all()
                elif not line:
                    event = None
        except (requests.RequestException, AttributeError, ValueError):
            pass  # closed by the test (or the stack stopped)

    def wait_for(self, wanted: Callable[[dict[str, Any]], bool],
                 seconds: float = DELIVERY_SECONDS) -> dict[str, Any]:
        """The first message `wanted` accepts; fails once the deadline passes."""
        deadline = time.monotonic() + seconds
        with self._changed:
            while True:
                for message in self.messages:
                    if wanted(message):
                        return message
                left = deadline - time.monotonic()
                if left <= 0:
                    pytest.fail(f"no such message within {seconds:.0f} s; got {self.messages}")
                self._changed.wait(left)

    def texts(self) -> list[str]:
        with self._changed:
            return [m.get("text", "") for m in self.messages]

    def close(self) -> None:
        self._response.close()
        self._session.close()


def raise_by_chat(session: requests.Session, stack: StackProcess) -> str:
    """Answer the ticket form's questions, whatever order it asks them in; the reference."""
    answers = ask(session, stack, "I need to raise a query about overtime that wasn't paid")
    for _ in range(6):
        found = REFERENCE.search(" ".join(answers))
        if found:
            return found.group(1)
        last = answers[-1] if answers else ""
        if "Which team" in last:
            answers = ask(session, stack, "Payroll")
        elif "describe your query" in last:
            answers = ask(session, stack, DESCRIPTION)
        elif "priority" in last or "Shall I go ahead" in last:
            answers = ask(session, stack, "/affirm")  # the "Yes" button's payload
        else:
            pytest.fail(f"unexpected answer while raising the ticket: {answers}")
    pytest.fail(f"no reference after the form: {answers}")


def last_pass_ended(stack: StackProcess) -> int:
    """When the stack's ticket worker last finished a pass (its heartbeat file, ns)."""
    heartbeat = stack.workdir / WORKER_HEARTBEAT
    return heartbeat.stat().st_mtime_ns if heartbeat.exists() else 0


def wait_for_a_whole_worker_pass(stack: StackProcess) -> None:
    """Until the stack's own ticket worker has made a pass that began after this call.

    Passes run one after another, so the second pass to end from now on began after now.
    A file's time gives no change notification: it is polled, with a deadline.
    """
    deadline = time.monotonic() + DELIVERY_SECONDS
    seen = last_pass_ended(stack)
    for _ in range(2):
        while last_pass_ended(stack) == seen:
            assert time.monotonic() < deadline, "the ticket worker made no further pass"
            time.sleep(0.2)  # the poll interval of an observable condition
        seen = last_pass_ended(stack)


def one_more_pass(stack: StackProcess) -> DeliveryReport:
    """A worker pass of our own against the stack's database and Rasa."""
    async def run() -> DeliveryReport:
        db = Database(stack.database_url)
        try:
            async with aiohttp.ClientSession() as http:
                notifier = Relay(stack.rasa, "tickets", stack.env["RELAY_TICKETS_KEY"], http)
                return await run_once(db, policy_from_settings(Settings()), notifier)
        finally:
            db.dispose()

    return asyncio.run(run())


def about(reference: str, *words: str) -> Callable[[dict[str, Any]], bool]:
    return lambda message: reference in message.get("text", "") and all(
        w in message.get("text", "") for w in words)


def test_a_console_change_reaches_the_employees_chat_exactly_once(
        stack: StackProcess) -> None:
    employee = signed_in(stack, EMPLOYEE)
    stream = ChatStream(stack, employee.cookies)  # the chat page is open
    try:
        reference = raise_by_chat(employee, stack)
        conversation = widget_push.widget_conversation_id(DEMO_WIDGET_ISSUER, EMPLOYEE)
        db = Database(stack.database_url)
        try:
            with db.unit_of_work() as session:
                ticket = session.scalar(select(Ticket).where(Ticket.reference == reference))
                assert (ticket.conversation_id, ticket.channel) == (conversation, "widget")

            agent, csrf = signed_in_agent(stack, AGENT_PASSWORD)
            base = f"/console/tickets/{reference}"
            console_post(agent, csrf, stack, f"{base}/comment", text=INTERNAL_NOTE,
                         visibility="internal")
            moved = console_post(agent, csrf, stack, f"{base}/status", status="resolved")
            assert moved["ticket"]["status"] == "resolved"

            resolved = stream.wait_for(about(reference, "it is now resolved"))
            assert f'say "reopen {reference}"' in resolved["text"]
            console_post(agent, csrf, stack, f"{base}/comment", text=PUBLIC_REPLY,
                         visibility="public")
            stream.wait_for(about(reference, PUBLIC_REPLY))

            # A further pass of our own, and the stack worker's next one, send nothing more.
            assert one_more_pass(stack) == DeliveryReport(0, 0, 0)
            wait_for_a_whole_worker_pass(stack)
            stored = [m.get("text", "") for _, m in
                      widget_push.messages_after(db, conversation, 0)]
            mine = [text for text in stored if reference in text]
            assert len(mine) == 2, stored
            assert sum("it is now resolved" in text for text in mine) == 1
            assert sum(PUBLIC_REPLY in text for text in mine) == 1
            assert not any(INTERNAL_NOTE in text for text in stored)
            assert [t for t in stream.texts() if reference in t] == mine  # what the page got
            with db.unit_of_work() as session:
                states = session.scalars(select(TicketNotification.state).join(Ticket).where(
                    Ticket.reference == reference)).all()
            assert states == [NotificationState.DELIVERED] * 2
        finally:
            db.dispose()
    finally:
        stream.close()

    logged = stack.log.read_text()
    for private in (DESCRIPTION, INTERNAL_NOTE, PUBLIC_REPLY, AGENT_PASSWORD,
                    stack.env["RELAY_TICKETS_KEY"], stack.env["RELAY_CONSOLE_KEY"]):
        assert private not in logged
