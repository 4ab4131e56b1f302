"""The whole assistant as `make run` starts it: three processes, driven over HTTP only.

The stack runs on free loopback ports with its own throwaway SQLite databases, using the model
`make test` trained (models/current.txt).
"""
from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from bot.demo_data import DEMO_WIDGET_ISSUER
from bot.identity import Principal
from bot.leave import my_leave_balances
from bot.storage.database import Database

ROOT = Path(__file__).resolve().parents[2]
QUESTION = "how much leave do I have left?"


@dataclass
class Stack:
    web: str
    rasa: str
    action_server: str
    env: dict[str, str]
    log: Path
    database_url: str


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def current_model() -> str:
    marker = ROOT / "models" / "current.txt"
    if not marker.exists():
        pytest.fail("no trained model: run `make test`, which trains it first (models/current.txt)")
    return marker.read_text().strip()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("stack")
    ports = {name: free_port() for name in ("WEB_PORT", "RASA_PORT", "ACTION_SERVER_PORT")}
    database_url = f"sqlite:///{workdir / 'helpdesk.db'}"
    env = {
        **os.environ,
        **{name: str(port) for name, port in ports.items()},
        "HELPDESK_VAR_DIR": str(workdir),
        "HELPDESK_DATABASE_URL": database_url,
        "TRACKER_STORE_URL": f"sqlite:///{workdir / 'tracker.db'}",
        "RASA_AUTH_TOKEN": secrets.token_urlsafe(40),
        "RASA_JWT_SECRET": secrets.token_urlsafe(40),
        "WIDGET_TOKEN_SECRET": secrets.token_urlsafe(40),
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run([sys.executable, "-m", "bot.cli", "setup"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    log = workdir / "stack.log"
    with log.open("w", buffering=1) as output:  # line-buffered: tests read it while it runs
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "scripts" / "stack.py"), "--dev-signin",
             "--model", current_model()],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=output, text=True,
        )
        ready = False
        for line in process.stdout:  # stack.py prints "Ready" once every health check passed
            output.write(line)
            if line.startswith("Ready in"):
                ready = True
                break
        if not ready:
            process.wait()
            output.flush()
            pytest.fail(f"the stack did not start:\n{log.read_text()[-3000:]}")
        drain = threading.Thread(target=lambda: output.writelines(process.stdout), daemon=True)
        drain.start()  # keeps the pipe from filling up; the log file gets everything
        try:
            yield Stack(f"http://127.0.0.1:{ports['WEB_PORT']}",
                        f"http://127.0.0.1:{ports['RASA_PORT']}",
                        f"http://127.0.0.1:{ports['ACTION_SERVER_PORT']}",
                        env, log, database_url)
        finally:
            process.terminate()
            process.wait(timeout=60)
            drain.join(timeout=10)
    assert process.returncode == 0, f"stack.py exited with {process.returncode}"


def signed_in(stack: Stack, subject: str) -> requests.Session:
    session = requests.Session()
    session.headers["Origin"] = stack.web
    response = session.post(f"{stack.web}/signin", data={"subject": subject},
                            allow_redirects=False)
    assert response.status_code == 303
    return session


def ask(session: requests.Session, stack: Stack, text: str) -> list[str]:
    response = session.post(f"{stack.web}/api/messages", json={"text": text}, timeout=60)
    assert response.status_code == 200, response.text
    return [message.get("text", "") for message in response.json()["messages"]]


def expected_remaining(stack: Stack, subject: str) -> str:
    db = Database(stack.database_url)
    try:
        answer = my_leave_balances(db, Principal("widget", DEMO_WIDGET_ISSUER, subject),
                                   dt.date.today())
    finally:
        db.dispose()
    return f"{answer.balances[0].remaining.normalize():f}"


@pytest.mark.parametrize("subject", ["alice.hughes", "ben.okafor", "fatima.rahman"])
def test_a_signed_in_employee_gets_their_own_leave_balance(stack: Stack, subject: str) -> None:
    session = signed_in(stack, subject)
    [answer] = ask(session, stack, QUESTION)
    assert answer.startswith(f"You have {expected_remaining(stack, subject)} days of annual leave")


def test_small_talk_and_out_of_scope_are_handled(stack: Stack) -> None:
    session = signed_in(stack, "alice.hughes")
    assert ask(session, stack, "hello there")[0].startswith("Hello! I'm the shared services")
    assert ask(session, stack, "what's the weather like in Leeds today")[0].startswith(
        "Sorry, that isn't something I can help with")


def test_a_tampered_session_is_refused(stack: Stack) -> None:
    session = signed_in(stack, "alice.hughes")
    cookie = session.cookies.get("hd_session")
    session.cookies.set("hd_session", cookie[:-3] + ("xyz" if cookie[-3:] != "xyz" else "abc"))
    response = session.post(f"{stack.web}/api/messages", json={"text": QUESTION})
    assert response.status_code == 401


def test_the_rasa_channel_refuses_a_direct_call_without_a_valid_token(stack: Stack) -> None:
    response = requests.post(f"{stack.rasa}/webhooks/widget/webhook", json={"text": QUESTION},
                             headers={"Authorization": "Bearer forged"})
    assert response.status_code == 401


def test_the_rasa_http_api_needs_its_token(stack: Stack) -> None:
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


def test_every_process_listens_on_loopback_only(stack: Stack) -> None:
    loopback = {"0100007F"}  # 127.0.0.1 in /proc/net/tcp's little-endian hex
    for url in (stack.web, stack.rasa, stack.action_server):
        port = int(url.rsplit(":", 1)[1])
        addresses = listening_addresses(port)
        assert addresses and addresses <= loopback, f"port {port} listens on {addresses}"


def test_logs_hold_no_message_text_or_secrets(stack: Stack) -> None:
    session = signed_in(stack, "alice.hughes")
    ask(session, stack, "how much leave do I have left? my NI number is QQ123456C")
    log = stack.log.read_text()
    assert "QQ123456C" not in log and "how much leave" not in log
    for name in ("RASA_AUTH_TOKEN", "RASA_JWT_SECRET", "WIDGET_TOKEN_SECRET"):
        assert stack.env[name] not in log, f"{name} appears in the logs"
    assert session.cookies.get("hd_session") not in log
