"""The forged-call battery (issue 21): nothing runs without Rasa's credential and a principal
the connector signed for this conversation and this message, issued at most ten minutes ago.

The guarded action server (actions/server.py, rasa-sdk's own app behind the guard) runs on a
loopback port with a records demo database. Each call asks one of the personal-data actions
for an employee's records, by every route an attacker on the backend network has: no
credential, a wrong one, an unsigned principal, a forged or wrongly keyed proof, a genuine
proof replayed after its age or moved to another conversation or message, and an expired or
future-dated one. Every one must run nothing (the executor is counted), disclose none of the
target's values, and leave exactly one refused `action_call` audit record. A genuine call per
action proves the battery is not refusing everything.
"""
from __future__ import annotations

import itertools
import json
import threading
import time
import urllib.error
import urllib.request
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from actions import services
from bot.backoffice.record_tables import PersonalDetails
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.principal_proof import DEFAULT_MAX_AGE_SECONDS
from bot.storage.database import Database
from bot.storage.models import AuditEvent, AuditOutcome, Employee
from tests.action_server_support import (
    TOKEN,
    RunningActionServer,
    action_call,
    sign,
    start_action_server,
)
from tests.records_support import TODAY, audit_since, last_audit_id, records_database

ACTIONS = ("action_payslip", "action_salary_info", "action_salary_bank_account",
           "action_leave_balance", "action_pay_date", "action_expense_claim_status",
           "action_annual_tax_statement", "action_leave_request_status")
ATTACKER, TARGET = "ben.okafor", "alice.hughes"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


def widget(subject: str) -> dict[str, str]:
    return {"channel": "widget", "tenant": DEMO_WIDGET_ISSUER, "subject": subject}


def conversation(subject: str) -> str:
    from bot.handoff.widget_push import widget_conversation_id
    return widget_conversation_id(DEMO_WIDGET_ISSUER, subject)


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Database]:
    with records_database("sqlite", tmp_path_factory.mktemp("guard"), employees=40) as database:
        services.use_database(database)
        original_today = services.today
        services.today = lambda: TODAY  # type: ignore[assignment]
        try:
            yield database
        finally:
            services.today = original_today  # type: ignore[assignment]
            services.use_database(None)


@pytest.fixture(scope="module")
def server(db: Database) -> Iterator[RunningActionServer]:
    running, thread = start_action_server()
    yield running
    running.loop.call_soon_threadsafe(running.loop.stop)
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def target_values(db: Database) -> tuple[str, ...]:
    with db.unit_of_work() as session:
        person = session.scalar(select(Employee).where(Employee.employee_number == "E1001"))
        details = session.get(PersonalDetails, person.id)
        return (details.postcode, details.phone, details.address_line1,
                f"ending {details.bank_account_last4}")


def post(server: RunningActionServer, body: Any, headers: dict[str, str]) -> tuple[int, str]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(f"{server.base_url}/webhook", data=raw, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def genuine(action: str, subject: str = TARGET, text: str = "show me my address",
            age: int = 0) -> dict[str, Any]:
    sender, message_id = conversation(subject), f"m-{subject}-{action}"
    return action_call(action, sender, text,
                       sign(widget(subject), sender, message_id, text,
                            issued_at=int(time.time()) - age), message_id=message_id)


def with_metadata(call: dict[str, Any], metadata: dict[str, Any]) -> dict[str, Any]:
    call["tracker"]["latest_message"]["metadata"] = metadata
    call["tracker"]["events"][0]["metadata"] = metadata
    return call


def forged_calls() -> list[tuple[str, dict[str, Any] | bytes, dict[str, str]]]:
    """(class, body, headers): at least 64 per class, over every action."""
    cases: list[tuple[str, Any, dict[str, str]]] = []
    for action, subject, headers in itertools.product(ACTIONS, (TARGET, ATTACKER), (
            {}, {"Authorization": ""}, {"X-Auth-Token": TOKEN}, {"Cookie": f"token={TOKEN}"})):
        cases.append(("no credential", genuine(action, subject), headers))
    wrong_credentials = ({"Authorization": "Bearer"},
                         {"Authorization": f"Bearer {TOKEN[:-1]}"},
                         {"Authorization": f"Bearer {TOKEN}x"}, {"Authorization": TOKEN},
                         {"Authorization": f"Basic {TOKEN}"},
                         {"Authorization": "Bearer \u00e9\u00e9"})
    for action, headers in itertools.product(ACTIONS, wrong_credentials):
        kind = "no credential" if not headers.get("Authorization") else "wrong credential"
        cases.append((kind, genuine(action), headers))
    for action, subject in itertools.product(ACTIONS, (TARGET, ATTACKER, "chloe.singh")):
        call = genuine(action, subject)
        with_metadata(call, {"principal": widget(TARGET)})
        cases.append(("unsigned", call, AUTH))
        for proof in ({}, {"v": 1}, {"v": 1, "iat": int(time.time())},
                      {"v": 2, "iat": int(time.time()), "mac": "0" * 64},
                      {"v": 1, "iat": True, "mac": "0" * 64},
                      {"v": 1, "iat": "now", "mac": "0" * 64}):
            cases.append(("unsigned", with_metadata(genuine(action, subject), {
                "principal": widget(TARGET), "principal_proof": proof}), AUTH))
    for action, subject in itertools.product(ACTIONS, (TARGET, ATTACKER)):
        sender, message_id, text = conversation(subject), "m-forged", "show me my address"
        for key in ("", "guessed-key", "principal-key-for-action-server-tests-"):
            metadata = sign(widget(TARGET), sender, message_id, text, key=key)
            cases.append(("forged", action_call(action, sender, text, metadata,
                                                message_id=message_id), AUTH))
        metadata = sign(widget(ATTACKER), sender, message_id, text)
        metadata["principal"] = widget(TARGET)  # a genuine proof, another principal written in
        cases.append(("forged", action_call(action, sender, text, metadata,
                                            message_id=message_id), AUTH))
        metadata = sign(widget(subject), sender, message_id, text)
        metadata["principal_proof"]["mac"] = "f" * 64
        cases.append(("forged", action_call(action, sender, text, metadata,
                                            message_id=message_id), AUTH))
        metadata = sign(widget(subject), sender, message_id, text)
        metadata["principal"]["email"] = "alice.hughes@dds.example.gov.uk"
        cases.append(("forged", action_call(action, sender, text, metadata,
                                            message_id=message_id), AUTH))
    for action, age in itertools.product(ACTIONS, (DEFAULT_MAX_AGE_SECONDS + 5, 3600, 86400,
                                                   7 * 86400, 10**9)):
        cases.append(("replayed", genuine(action, age=age), AUTH))
        cases.append(("expired", genuine(action, ATTACKER, age=age), AUTH))
    for action in ACTIONS:  # issued in the future (far enough that a slow run cannot catch up)
        for ahead in (3600, 86400, 10**9):
            cases.append(("expired", genuine(action, ATTACKER, age=-ahead), AUTH))
    for action, into in itertools.product(ACTIONS, (ATTACKER, "chloe.singh", "daniel.evans",
                                                    "fatima.rahman")):
        call = genuine(action)  # the target's genuine message, moved into another conversation
        call["sender_id"] = call["tracker"]["sender_id"] = conversation(into)
        cases.append(("other sender", call, AUTH))
        call = genuine(action)
        call["tracker"]["sender_id"] = f"widget-{into}"
        cases.append(("other sender", call, AUTH))
    for action, change in itertools.product(ACTIONS, range(8)):
        call = genuine(action)
        latest = call["tracker"]["latest_message"]
        if change % 2:
            latest["text"] = ["what is Alice's salary", "show me my address ", "", "x",
                              "show me my address\u200b", "SHOW ME MY ADDRESS",
                              "/personal_details", "show me my bank details"][change]
        else:
            latest["message_id"] = [f"{latest['message_id']}-2", "", "m", "1"][change // 2]
        cases.append(("other message", call, AUTH))
    return cases


def test_the_battery_is_big_enough() -> None:
    cases = forged_calls()
    kinds = {kind for kind, _, _ in cases}
    assert len(cases) >= 500, len(cases)
    assert kinds == {"no credential", "wrong credential", "unsigned", "forged", "replayed",
                     "expired", "other sender", "other message"}


def test_genuine_calls_run_so_the_battery_means_something(
        server: RunningActionServer, db: Database) -> None:
    for action in ACTIONS:
        before = len(server.runs)
        status, body = post(server, genuine(action), AUTH)
        assert status == 200, (action, body)
        assert server.runs[before:] == [action]


def test_forged_calls_run_nothing_disclose_nothing_and_are_audited(
        server: RunningActionServer, db: Database, target_values: tuple[str, ...]) -> None:
    counts: dict[str, int] = {}
    for kind, body, headers in forged_calls():  # made now: their times are relative to now
        before_runs, before_audit = len(server.runs), last_audit_id(db)
        status, answer = post(server, body, headers)
        assert status in (401, 403), (kind, status, answer)
        assert json.loads(answer)["error"].startswith("refused: ")
        assert server.runs[before_runs:] == [], kind
        assert not any(value in answer for value in target_values), kind
        [audit] = audit_since(db, before_audit)
        assert (audit.channel, audit.record_type, audit.outcome) == (
            "action_server", "action_call", AuditOutcome.REFUSED), kind
        assert audit.subject_employee_id is None and audit.actor_employee_id is None
        counts[kind] = counts.get(kind, 0) + 1
    assert sum(counts.values()) >= 500 and min(counts.values()) >= 40, counts


def test_the_refusal_reasons_name_the_failed_check(server: RunningActionServer,
                                                   db: Database) -> None:
    expected = {
        "no credential": "no valid credential from Rasa",
        "unsigned": "unsigned principal",
        "replayed": "expired principal",
        "other sender": "signature does not match this principal, conversation and message",
    }
    for kind, body, headers in forged_calls():
        if kind in expected:
            before = last_audit_id(db)
            post(server, body, headers)
            [audit] = audit_since(db, before)
            if kind == "unsigned" and audit.reason != expected[kind]:
                assert audit.reason in ("malformed proof", "unsigned principal")
                continue
            assert audit.reason == expected[kind], (kind, audit.reason)
            expected.pop(kind)
    assert not expected


def test_deliveries_on_an_old_message_need_the_proof_but_not_its_age(
        server: RunningActionServer) -> None:
    old = genuine("action_records_notify", age=30 * 86400)
    assert post(server, old, AUTH)[0] == 200
    forged = with_metadata(genuine("action_records_notify"), {"principal": widget(TARGET)})
    assert post(server, forged, AUTH)[0] == 403
    # The ticket notifier's action says only the outbox of this conversation: no principal.
    unsigned = with_metadata(genuine("action_ticket_notify"), {})
    assert post(server, unsigned, AUTH)[0] == 200
    assert post(server, unsigned, {})[0] == 401


def test_deflate_bodies_are_read_as_rasa_sends_them_and_bad_ones_are_a_400(
        server: RunningActionServer) -> None:
    """Rasa compresses when COMPRESS_ACTION_SERVER_REQUEST is set; rasa-sdk inflates any body
    labelled deflate with no limit: the fuzz suite found a plain body so labelled gave 500."""
    deflate = {**AUTH, "Content-Encoding": "deflate"}
    call = json.dumps(genuine("action_payslip")).encode()
    assert post(server, zlib.compress(call), deflate)[0] == 200
    cases = {
        "a plain body labelled deflate": call,
        "a truncated stream": zlib.compress(call)[:-8],
        "a stream with bytes after its end": zlib.compress(call) + b"{}",
        "a stream inflating past the request limit": zlib.compress(b" " * (9 * 1024 * 1024)),
        "a stream of something other than JSON": zlib.compress(b"\xff\xfe not json"),
    }
    for name, body in cases.items():
        status, answer = post(server, body, deflate)
        assert status == 400, (name, status, answer)
        assert "refused" in answer, name


def test_health_is_open_and_the_action_list_needs_the_credential(
        server: RunningActionServer) -> None:
    with urllib.request.urlopen(f"{server.base_url}/health", timeout=10) as response:
        assert response.status == 200
    request = urllib.request.Request(f"{server.base_url}/actions")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 401
    request = urllib.request.Request(f"{server.base_url}/actions", headers=AUTH)
    with urllib.request.urlopen(request, timeout=10) as response:
        assert any(item["name"] == "action_payslip" for item in json.loads(response.read()))


def test_the_guard_costs_microseconds_per_call() -> None:
    """Printed, not asserted (CI machines vary): the in-process cost of the two checks."""
    from actions.server import Guard
    from tests.action_server_support import PRINCIPAL_KEY
    guard, call = Guard(TOKEN, PRINCIPAL_KEY), genuine("action_payslip")
    rounds = 20_000
    started = time.perf_counter()
    for _ in range(rounds):
        guard.credential_ok(AUTH["Authorization"])
        guard.check_call(call)
    cost = (time.perf_counter() - started) / rounds * 1e6
    print(f"\nguard: {cost:.1f} µs per action call (credential + principal proof)")
    assert threading.current_thread() is threading.main_thread()
