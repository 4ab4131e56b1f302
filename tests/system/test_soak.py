"""The soak and its faults, short (issue 27; `make soak` is the full run, docs/reliability.md).

The checks first, on stores written by hand (each kind of damage is found), then a short soak
on the production stores (throwaway PostgreSQL, Redis and RabbitMQ) through the real stack,
with faults injected while it runs.
"""
from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from benchmarks import soak
from benchmarks.soak import EmployeeLog

EMPLOYEES = 10
MESSAGES = 6  # through the first ticket: small talk, a records answer, the ticket form
FAULTS = ["web-app", "postgres"]

def _tracker(path: Path, stored: dict[str, list[str]]) -> str:
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE events (id INTEGER PRIMARY KEY, sender_id TEXT, "
                           "type_name TEXT, data TEXT)")
        for sender, ids in stored.items():
            for message_id in ids:
                connection.execute("INSERT INTO events (sender_id, type_name, data) VALUES "
                                   "(?, 'user', ?)", (sender, json.dumps(
                                       {"event": "user", "message_id": message_id})))
                connection.execute("INSERT INTO events (sender_id, type_name, data) VALUES "
                                   "(?, 'bot', '{}')", (sender,))
    return f"sqlite:///{path}"


def _log(name: str, answered: list[str], tickets: list[str] = ()) -> EmployeeLog:
    return EmployeeLog(name, f"conv-{name}", list(answered), {m: m for m in answered},
                       tickets=list(tickets))


def test_the_transcript_check_finds_lost_duplicated_reordered_and_unexpected_messages(
        tmp_path: Path) -> None:
    url = _tracker(tmp_path / "tracker.db", {
        "conv-good": ["a", "b", "c"], "conv-lost": ["a", "c"], "conv-twice": ["a", "b", "b", "c"],
        "conv-order": ["b", "a", "c"], "conv-extra": ["a", "x", "b", "c"]})
    employees = [_log(name, ["a", "b", "c"]) for name in
                 ("good", "lost", "twice", "order", "extra")]
    check = soak.check_transcripts(url, employees)
    assert (check.conversations, check.messages_expected) == (5, 15)
    assert (check.lost, check.duplicated, check.reordered, check.unexpected) == (1, 1, 1, 1)
    assert len(check.examples) == 4
    assert soak.check_transcripts(url, employees[:1]).examples == []


def test_the_writes_check_finds_missing_and_doubled_tickets_and_open_handoffs(
        tmp_path: Path) -> None:
    path = tmp_path / "helpdesk.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE tickets (conversation_id TEXT, reference TEXT)")
        connection.execute("CREATE TABLE handoffs (conversation_id TEXT, status TEXT)")
        connection.executemany("INSERT INTO tickets VALUES (?, ?)", [
            ("conv-one", "PAY-1"), ("conv-two", "PAY-2"), ("conv-two", "PAY-3"),
            ("conv-other", "PAY-9")])
        connection.executemany("INSERT INTO handoffs VALUES (?, ?)", [
            ("conv-one", "resumed"), ("conv-two", "waiting"), ("conv-other", "waiting")])
    employees = [_log("one", ["a"], ["PAY-1"]), _log("two", ["a"], ["PAY-2"]),
                 _log("none", ["a"], ["PAY-4"])]
    check = soak.check_writes(f"sqlite:///{path}", employees)
    assert (check.tickets_expected, check.tickets_missing, check.tickets_extra,
            check.handoffs_open) == (3, 1, 1, 1)


def test_recovery_is_measured_to_the_last_failed_attempt_after_the_fault() -> None:
    run = soak.SoakRun()
    run.attempts += [soak.Attempt(1.0, 2.0, "try-again"), soak.Attempt(9.0, 10.0, "ok"),
                     soak.Attempt(10.0, 14.5, "unreachable"), soak.Attempt(15.0, 16.0, "ok")]
    assert soak.recovery(run, 5.0) == 9.5
    assert soak.recovery(run, 15.0) == 0.0


def test_a_short_soak_on_the_production_stores_with_faults(tmp_path: Path) -> None:
    result = soak.soak("production", EMPLOYEES, MESSAGES, FAULTS, warm_up=4)
    assert soak.problems(result) == [], json.dumps(result, indent=1)
    runs = {entry["fault"]: entry for entry in result["runs"]}
    assert set(runs) == {"none", *FAULTS}
    for entry in runs.values():
        assert entry["messages_answered"] == EMPLOYEES * MESSAGES, entry
        assert entry["transcripts"]["messages_expected"] == EMPLOYEES * MESSAGES
        assert entry["writes"]["tickets_expected"] == EMPLOYEES, entry  # one ticket each
    for fault in FAULTS:
        assert runs[fault]["recovery"]["seconds_until_service_back"] <= 30, runs[fault]
    assert result["rasa_workers_after"] == 2
