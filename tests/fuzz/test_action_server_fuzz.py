"""The action server answers any input with less than 500 and no stack trace.

The guarded action server (actions/server.py) runs on a loopback port with a records demo
database. Hypothesis generates action calls: raw bytes, JSON of any shape, and well-formed
calls whose parts (action name, sender, text, intent, entities, slots, metadata, proof) are
replaced by generated values. About half carry Rasa's credential, and of those half are signed
correctly for the generated message, so generated slots and entities reach every action's own
code, not only the guard. `HELPDESK_FUZZ_SCALE` multiplies the number of requests.
"""
from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa_sdk.executor import ActionExecutor

from actions import services
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.handoff.widget_push import widget_conversation_id
from bot.storage.database import Database
from tests.action_server_support import (
    TOKEN,
    RunningActionServer,
    action_call,
    sign,
    start_action_server,
)
from tests.records_support import TODAY, records_database

from .strategies import HEADER_TEXT, bodies, json_values

SCALE = float(os.environ.get("HELPDESK_FUZZ_SCALE", "1"))
PER_DRAW = 4
EXAMPLES = int(1100 * SCALE)  # x PER_DRAW: 4,400 requests
SENT = [0]


def action_names() -> list[str]:
    executor = ActionExecutor()
    executor.register_package("actions")
    return sorted(item.name for item in executor.list_actions())


ACTION_NAMES = action_names()
SUBJECTS = ("alice.hughes", "ben.okafor", "chloe.singh", "nobody.known")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningActionServer]:
    with records_database("sqlite", tmp_path_factory.mktemp("fuzz-actions"),
                          employees=20) as database:
        services.use_database(database)
        original_today = services.today
        services.today = lambda: TODAY  # type: ignore[assignment]
        running, thread = start_action_server()
        try:
            yield running
        finally:
            running.loop.call_soon_threadsafe(running.loop.stop)
            thread.join(timeout=10)
            services.today = original_today  # type: ignore[assignment]
            services.use_database(None)


@st.composite
def calls(draw: st.DrawFn) -> list[tuple[bytes, dict[str, str]]]:
    """PER_DRAW requests made from one draw: the same generated parts for several actions."""
    kind = draw(st.sampled_from(["raw", "json", "call", "call", "call"]))
    credential = draw(st.sampled_from(["good", "good", "none", "odd"]))
    headers: dict[str, str] = {"Content-Type": draw(st.sampled_from(
        ["application/json", "application/json; charset=latin-1", "text/plain"]))}
    if credential == "good":
        headers["Authorization"] = f"Bearer {TOKEN}"
    elif credential == "odd":
        headers["Authorization"] = draw(HEADER_TEXT)
    if draw(st.integers(0, 9)) == 0:
        headers["Content-Encoding"] = draw(st.sampled_from(["deflate", "gzip", "br"]))
    if kind == "raw":
        body, _ = draw(bodies(limit=64 * 1024))
        return [(body, headers)] * PER_DRAW
    if kind == "json":
        body = json.dumps(draw(json_values())).encode()
        return [(body, headers)] * PER_DRAW
    subject = draw(st.sampled_from(SUBJECTS))
    sender = draw(st.one_of(st.just(widget_conversation_id(DEMO_WIDGET_ISSUER, subject)),
                            HEADER_TEXT))
    text = draw(st.one_of(HEADER_TEXT, st.sampled_from(
        ["how much leave do I have?", "/leave_balance", "yes", "book 3rd to 7th March",
         "/ticket_create{\"ticket_category\": \"payroll\"}"])))
    message_id = draw(st.one_of(st.just("m-fuzz"), HEADER_TEXT))
    entities = draw(st.lists(st.fixed_dictionaries({
        "entity": st.sampled_from(["person", "employee_number", "date", "amount",
                                   "booking_id", "decision", "ticket_reference", "topic"]),
        "value": json_values(max_leaves=3)}), max_size=3))
    slots = draw(st.dictionaries(st.sampled_from(
        ["ticket_category", "ticket_description", "ticket_priority", "ticket_confirmed",
         "leave_start", "leave_end", "leave_confirmed", "expense_amount", "expense_category",
         "requested_slot", "handoff_skill", "booking_id", "person", "employee_number"]),
        json_values(max_leaves=3), max_size=4))
    principal = {"channel": "widget", "tenant": DEMO_WIDGET_ISSUER, "subject": subject}
    signed = draw(st.booleans())
    metadata = (sign(principal, sender, message_id, text) if signed
                else draw(st.one_of(st.just({"principal": principal}), json_values(6))))
    intent = draw(st.one_of(st.sampled_from(["affirm", "deny", "leave_balance", "stop"]),
                            HEADER_TEXT))
    requests = []
    for action in draw(st.lists(st.one_of(st.sampled_from(ACTION_NAMES), HEADER_TEXT),
                                min_size=PER_DRAW, max_size=PER_DRAW)):
        call = action_call(action, sender, text, metadata if isinstance(metadata, dict) else {},
                           message_id=message_id, intent=intent, entities=entities, slots=slots)
        if not isinstance(metadata, dict):
            call["tracker"]["latest_message"]["metadata"] = metadata
        requests.append((json.dumps(call).encode(), headers))
    return requests


def send(server: RunningActionServer, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    # http.client sends header values as Latin-1: pass UTF-8 bytes through it unchanged.
    wire = {name: value.encode("utf-8").decode("latin-1") for name, value in headers.items()}
    request = urllib.request.Request(f"{server.base_url}/webhook", data=body, method="POST",
                                     headers=wire)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def test_the_action_server_never_answers_5xx(server: RunningActionServer,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(calls())
    def run(requests: list[tuple[bytes, dict[str, str]]]) -> None:
        caplog.clear()
        for body, headers in requests:
            status, text = send(server, body, headers)
            SENT[0] += 1
            assert status < 500, (status, headers, body[:300], text[:300])
            assert "Traceback" not in text and "File \"" not in text, text[:300]
            traced = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
            assert not traced, traced[0].getMessage()

    run()
    assert SENT[0] >= EXAMPLES * PER_DRAW
