"""The whole assistant as `make run` starts it: three processes, driven over HTTP only.

The stack runs on free loopback ports with its own throwaway SQLite databases, using the model
`make test` trained (models/current.txt).
"""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.identity import Principal
from bot.leave import my_leave_balances
from bot.storage.database import Database
from scripts.stack_process import StackProcess

from .chat_client import ask, signed_in
from .running import started_stack

QUESTION = "how much leave do I have left?"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StackProcess]:
    with started_stack(tmp_path_factory.mktemp("stack")) as running:
        yield running


def expected_remaining(stack: StackProcess, subject: str) -> str:
    db = Database(stack.database_url)
    try:
        answer = my_leave_balances(db, Principal("widget", DEMO_WIDGET_ISSUER, subject),
                                   dt.date.today())
    finally:
        db.dispose()
    return f"{answer.balances[0].remaining.normalize():f}"


@pytest.mark.parametrize("subject", ["alice.hughes", "ben.okafor", "fatima.rahman"])
def test_a_signed_in_employee_gets_their_own_leave_balance(stack: StackProcess, subject: str) -> None:
    session = signed_in(stack, subject)
    answers = ask(session, stack, QUESTION)  # one message per leave type; annual leave first
    assert answers[0].startswith(
        f"You have {expected_remaining(stack, subject)} days of annual leave")


def test_small_talk_and_out_of_scope_are_handled(stack: StackProcess) -> None:
    session = signed_in(stack, "alice.hughes")
    assert ask(session, stack, "hello there")[0].startswith("Hello! I'm the shared services")
    assert ask(session, stack, "what's the weather like in Leeds today")[0].startswith(
        "Sorry, that isn't something I can help with")


def test_a_tampered_session_is_refused(stack: StackProcess) -> None:
    session = signed_in(stack, "alice.hughes")
    cookie = session.cookies.get("hd_session")
    session.cookies.set("hd_session", cookie[:-3] + ("xyz" if cookie[-3:] != "xyz" else "abc"))
    response = session.post(f"{stack.web}/api/messages", json={"text": QUESTION})
    assert response.status_code == 401


def test_the_rasa_channel_refuses_a_direct_call_without_a_valid_token(stack: StackProcess) -> None:
    response = requests.post(f"{stack.rasa}/webhooks/widget/webhook", json={"text": QUESTION},
                             headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401


def test_the_rasa_http_api_needs_its_token(stack: StackProcess) -> None:
    assert requests.get(f"{stack.rasa}/status").status_code == 401
    token = stack.env["RASA_AUTH_TOKEN"]
    assert requests.get(f"{stack.rasa}/status", params={"token": token}).status_code == 200


def listening_addresses(port: int) -> set[str]:
    """Local addresses with a listening TCP socket on `port`, from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, port_hex = local.rsplit(":", 1)
            if state == "0A" and int(port_hex, 16) == port:
                found.add(address)
    return found


def test_every_process_listens_on_loopback_only(stack: StackProcess) -> None:
    loopback = {"0100007F"}  # 127.0.0.1 in /proc/net/tcp's little-endian hex
    for url in (stack.web, stack.rasa, stack.action_server):
        port = int(url.rsplit(":", 1)[1])
        addresses = listening_addresses(port)
        assert addresses and addresses <= loopback, f"port {port} listens on {addresses}"


def test_each_process_serves_its_metrics_on_an_internal_loopback_port(stack: StackProcess) -> None:
    session = signed_in(stack, "alice.hughes")
    ask(session, stack, "how much leave do I have left?")
    expected = {"WEB_METRICS_PORT": 'process="web",route="/api/messages",status="200"',
                "ACTION_METRICS_PORT": 'helpdesk_action_runs_total{action="action_leave_balance"',
                "WORKER_METRICS_PORT": 'helpdesk_ticket_worker_passes_total{outcome="ok"}',
                "INSIGHT_METRICS_PORT": "helpdesk_insight_broker_lag_events"}
    for variable, needle in expected.items():
        port = int(stack.env[variable])
        assert listening_addresses(port) == {"0100007F"}, variable
        exposition = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert needle in exposition, (variable, exposition[:2000])
        assert "helpdesk_handoffs_waiting" in exposition or variable == "INSIGHT_METRICS_PORT"
    assert requests.get(f"{stack.web}/metrics", timeout=10).status_code == 404


def test_logs_hold_no_message_text_or_secrets(stack: StackProcess) -> None:
    session = signed_in(stack, "alice.hughes")
    ask(session, stack, "how much leave do I have left? my NI number is QQ123456C")
    log = stack.log.read_text()
    assert "QQ123456C" not in log and "how much leave" not in log
    for name in ("RASA_AUTH_TOKEN", "WIDGET_TOKEN_SECRET", "ACTION_SERVER_TOKEN",
                 "HELPDESK_PRINCIPAL_KEY", "RELAY_CONSOLE_KEY", "RELAY_TICKETS_KEY",
                 "RELAY_RECORDS_KEY"):
        assert stack.env[name] not in log, f"{name} appears in the logs"
    assert session.cookies.get("hd_session") not in log
