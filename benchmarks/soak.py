"""The soak (issue 27): many employees talking at once through the web app, every answer and
every stored transcript checked, each process's memory before and after; optionally faults.

    python -m benchmarks.soak --employees 200 --messages 20 --mode embedded|production
        [--faults postgres,redis,rabbitmq,rasa-worker,action-server,web-app]

Each simulated employee signs in (dev sign-in, a widget identity of their own) and goes through
SOAK_TURNS, pausing about a second between an answer and the next message. A message answered
"try again" (the web app's 502), or not answered at all (the web app down), is sent again, the
same text with the same message id, as the chat page does, until it is answered or the
employee's patience (RETRY_SECONDS) runs out. Afterwards:

- every answer must be the right one for its turn (benchmarks.scenario.Turn.answered);
- every conversation's user messages in Rasa's tracker store must be exactly the messages the
  employee had answered, each once, in order (by message id): none lost, duplicated or
  reordered;
- every ticket reference an employee was given must be in the helpdesk database once, with no
  other ticket for that conversation; no handoff left open;
- each process's resident memory after the soak within MEMORY_BOUND of before (processes that a
  fault restarted are measured from their new start).

Fault runs inject one fault while the soak runs and record how long until every message is
answered again, how many got "try again", and the same checks. `make soak` runs the full set;
tests/reliability runs a short one. Results go to reports/soak/<mode>.json.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import shutil
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from sqlalchemy import bindparam, create_engine, text
from sqlalchemy.engine import make_url

from bot.demo.description import DEMO_WIDGET_ISSUER
from connectors.principal import conversation_id
from scripts.stack_process import ROOT, StackProcess, current_model

from . import report, throwaway
from .scenario import Turn
from .subjects import add_widget_identities

# One employee's twenty messages: the benchmark's conversation (small talk, a records answer,
# a ticket raised through the form, help, out of scope, a policy answer), a second round with
# another ticket, and thanks. No answer depends on the date.
_TICKET = (
    Turn("I need to raise a query about my payslip", "Please describe your query"),
    Turn("my overtime from October is missing from my payslip", "I'd suggest high priority"),
    Turn("yes", "I'll raise a high priority query"),
    Turn("yes, go ahead", "Done. Your query is logged as PAY-"),
)
SOAK_TURNS: tuple[Turn, ...] = (
    Turn("hello", "Hello!"),
    Turn("how much leave do I have left?", "You have ", kind="records"),
    *_TICKET,
    Turn("what can you do?", "Here's what I can do"),
    Turn("what's the weather like in Leeds?", "Sorry, that isn't"),
    Turn("how long is paternity leave?", "", "Source: Paternity leave and pay", kind="policy"),
    Turn("how many days holiday have I got left", "You have ", kind="records"),
    Turn("are you a bot?", "I'm an automated assistant"),
    Turn("who won the rugby at the weekend", "Sorry, that isn't"),
    Turn("how much leave do I have left?", "You have ", kind="records"),
    *_TICKET,
    Turn("how long is paternity leave?", "", "Source: Paternity leave and pay", kind="policy"),
    Turn("what can you do?", "Here's what I can do"),
    Turn("thanks", "You're welcome"),
)
TICKET_CONFIRMED = "Done. Your query is logged as "
TRY_AGAIN = "Please try again"  # the web app's 502 answer says "... Please try again in a minute."
THINK_SECONDS = 1.0
RETRY_PAUSE_SECONDS = 2.0  # an employee told "try again" tries again a couple of seconds later
RETRY_SECONDS = 240.0  # ... and gives up on a message after this long
REQUEST_TIMEOUT_SECONDS = 90.0
# Resident memory after the soak may exceed before by at most this (per process tree): caches
# that fill with use (TED's memo of dialogue states, the verified-token LRU, the tracker cache
# of recent conversations) are bounded, so growth beyond this would be a leak.
MEMORY_BOUND_MB = 150.0
MEMORY_BOUND_RATIO = 0.15


def memory_bound(before_mb: float) -> float:
    return before_mb * (1 + MEMORY_BOUND_RATIO) + MEMORY_BOUND_MB


@dataclass
class Attempt:
    """One HTTP attempt at one message, on the soak's clock (seconds since it began)."""

    started: float
    ended: float
    outcome: str  # "ok", "wrong", "try-again", "unreachable", "error"


@dataclass
class EmployeeLog:
    subject: str
    conversation: str
    answered: list[str] = field(default_factory=list)  # message ids, in order
    texts: dict[str, str] = field(default_factory=dict)  # message id -> text
    wrong: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[str] = field(default_factory=list)  # references the employee was given
    gave_up: int = 0


@dataclass
class SoakRun:
    began: float = field(default_factory=time.monotonic)
    attempts: list[Attempt] = field(default_factory=list)
    employees: list[EmployeeLog] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)

    def now(self) -> float:
        return time.monotonic() - self.began

    def count(self, outcome: str) -> int:
        return sum(1 for a in self.attempts if a.outcome == outcome)


async def _sign_in(http: aiohttp.ClientSession, web: str, subject: str, run: SoakRun,
                   give_up_at: float) -> bool:
    """Sign in, trying again while the web app is down (a fault run may have stopped it)."""
    while time.monotonic() < give_up_at:
        try:
            async with http.post(f"{web}/signin", data={"subject": subject},
                                 headers={"Origin": web}, allow_redirects=False) as response:
                if response.status == 303:
                    return True
        except (aiohttp.ClientError, asyncio.TimeoutError):
            pass
        await asyncio.sleep(RETRY_PAUSE_SECONDS)  # an employee's pace before trying again
    return False


async def _send(http: aiohttp.ClientSession, web: str, turn: Turn, message_id: str,
                retry: bool, run: SoakRun) -> tuple[str, list[str]]:
    started = run.now()
    outcome, replies = "error", []
    try:
        async with http.post(f"{web}/api/messages",
                             json={"text": turn.text, "message_id": message_id,
                                   **({"retry": True} if retry else {})},
                             headers={"Origin": web}) as response:
            body = await response.json(content_type=None)
            if response.status == 200:
                replies = [m.get("text", "") for m in body.get("messages", [])]
                outcome = "ok" if turn.answered(replies) else "wrong"
            elif response.status == 502 and TRY_AGAIN in str(body.get("error", "")):
                outcome = "try-again"
    except (aiohttp.ClientError, asyncio.TimeoutError, ValueError):
        outcome = "unreachable"
    run.attempts.append(Attempt(started, run.now(), outcome))
    if outcome in ("ok", "wrong"):
        run.latencies_ms.append((run.now() - started) * 1000)
    return outcome, replies


async def _employee(web: str, subject: str, turns: tuple[Turn, ...], run: SoakRun,
                    pace: random.Random) -> None:
    log = EmployeeLog(subject, conversation_id("widget", DEMO_WIDGET_ISSUER, subject))
    run.employees.append(log)
    await asyncio.sleep(pace.uniform(0, THINK_SECONDS))  # arrivals spread, not a synchronisation
    timeout = aiohttp.ClientTimeout(total=REQUEST_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True),
                                     timeout=timeout) as http:
        if not await _sign_in(http, web, subject, run, time.monotonic() + RETRY_SECONDS):
            log.gave_up = len(turns)
            return
        for number, turn in enumerate(turns):
            if number:
                await asyncio.sleep(THINK_SECONDS * pace.uniform(0.5, 1.5))  # reading, typing
            message_id = uuid.uuid4().hex
            give_up_at = time.monotonic() + RETRY_SECONDS
            retry = False
            while True:
                outcome, replies = await _send(http, web, turn, message_id, retry, run)
                if outcome in ("ok", "wrong"):
                    break
                if time.monotonic() > give_up_at:
                    break
                retry = True
                await asyncio.sleep(RETRY_PAUSE_SECONDS * pace.uniform(0.5, 1.5))
            if outcome not in ("ok", "wrong"):
                log.gave_up += 1
                continue
            log.answered.append(message_id)
            log.texts[message_id] = turn.text
            if outcome == "wrong":
                log.wrong.append({"turn": number, "text": turn.text,
                                  "replies": [reply[:100] for reply in replies[:3]]})
            for reply in replies:
                if reply.startswith(TICKET_CONFIRMED):
                    log.tickets.append(reply[len(TICKET_CONFIRMED):].split()[0].rstrip(".,"))


async def run_employees(web: str, subjects: list[str], turns: tuple[Turn, ...] = SOAK_TURNS,
                        run: SoakRun | None = None, seed: int = 27) -> SoakRun:
    """Every employee at once, each through `turns`; returns what happened."""
    run = run or SoakRun()
    pace = random.Random(seed)
    await asyncio.gather(*(_employee(web, subject, turns, run, random.Random(pace.random()))
                           for subject in subjects))
    return run


# --- the stack and its identities -------------------------------------------------------------

def provision(database_url: str, prefix: str, count: int) -> list[str]:
    """Widget identities for `count` simulated employees, spread over the demo employees."""
    return add_widget_identities(database_url, [f"{prefix}-{i:04d}" for i in range(count)])


def _services_url(url: str) -> str:
    """A store URL as the services runtime's SQLAlchemy 2 opens it (psycopg 3 for PostgreSQL)."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


# --- the checks ------------------------------------------------------------------------------

@dataclass
class TranscriptCheck:
    conversations: int = 0
    messages_expected: int = 0
    lost: int = 0
    duplicated: int = 0
    reordered: int = 0
    unexpected: int = 0  # stored user messages the employee never had answered
    examples: list[str] = field(default_factory=list)


def check_transcripts(tracker_url: str, employees: list[EmployeeLog]) -> TranscriptCheck:
    """Each conversation's stored user messages against what its employee had answered."""
    result = TranscriptCheck()
    engine = create_engine(_services_url(tracker_url))
    try:
        with engine.connect() as connection:
            for log in employees:
                rows = connection.execute(
                    text("SELECT data FROM events WHERE sender_id = :sender "
                         "AND type_name = 'user' ORDER BY id"),
                    {"sender": log.conversation}).scalars().all()
                stored = [json.loads(row).get("message_id") for row in rows]
                result.conversations += 1
                result.messages_expected += len(log.answered)
                counts, wanted = Counter(stored), set(log.answered)
                lost = [m for m in log.answered if counts[m] == 0]
                duplicated = sum(n - 1 for m, n in counts.items() if n > 1)
                unexpected = [m for m in stored if m not in wanted]
                firsts = [m for i, m in enumerate(stored) if m in wanted and stored.index(m) == i]
                in_order = [m for m in log.answered if counts[m]]
                result.lost += len(lost)
                result.duplicated += duplicated
                result.unexpected += len(unexpected)
                result.reordered += firsts != in_order
                if (lost or duplicated or unexpected or firsts != in_order) \
                        and len(result.examples) < 5:
                    result.examples.append(
                        f"{log.subject}: expected {[log.texts[m] for m in log.answered]}, "
                        f"stored {[log.texts.get(m, '?') for m in stored]}")
    finally:
        engine.dispose()
    return result


@dataclass
class WritesCheck:
    tickets_expected: int = 0
    tickets_missing: int = 0
    tickets_extra: int = 0  # a ticket for a conversation that its employee was not told of
    handoffs_open: int = 0


def check_writes(database_url: str, employees: list[EmployeeLog]) -> WritesCheck:
    """Tickets: exactly the references the employees were given, one each; no open handoff."""
    result = WritesCheck()
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            conversations = [log.conversation for log in employees]
            stored: dict[str, list[str]] = {}
            for conversation, reference in connection.execute(
                    text("SELECT conversation_id, reference FROM tickets "
                         "WHERE conversation_id IS NOT NULL")):
                stored.setdefault(conversation, []).append(reference)
            for log in employees:
                given, kept = Counter(log.tickets), Counter(stored.get(log.conversation, []))
                result.tickets_expected += len(log.tickets)
                result.tickets_missing += sum((given - kept).values())
                result.tickets_extra += sum((kept - given).values())
            result.handoffs_open = connection.execute(
                text("SELECT count(*) FROM handoffs WHERE status IN ('waiting', 'assigned') "
                     "AND conversation_id IN :ids").bindparams(
                    bindparam("ids", expanding=True)),
                {"ids": conversations}).scalar_one() if conversations else 0
    finally:
        engine.dispose()
    return result


def memory(stack: StackProcess) -> dict[str, dict[str, float]]:
    """Resident memory (MB) of each process tree, by name, with its pid."""
    return {name: {"pid": pid, "rss_mb": report.rss_megabytes(pid)}
            for name, pid in stack.pids().items()}


def rasa_workers(stack: StackProcess) -> list[int]:
    """The Sanic worker processes of the Rasa server (children of its main process)."""
    main = stack.pids()["rasa"]
    return sorted(int(child) for task in Path(f"/proc/{main}/task").iterdir()
                  for child in (task / "children").read_text().split())


# --- faults ------------------------------------------------------------------------------------

def _kill_group(pid: int) -> None:
    os.killpg(os.getpgid(pid), signal.SIGKILL)


def fault_actions(stack: StackProcess, servers: throwaway.ProductionServers | None
                  ) -> dict[str, Callable[[], None]]:
    """Each fault as a callable; restarts run where a container platform would restart."""
    actions: dict[str, Callable[[], None]] = {
        # Sanic 21.12 (Rasa's) does not replace a dead worker: the other one serves on.
        "rasa-worker": lambda: os.kill(rasa_workers(stack)[-1], signal.SIGKILL),
        # stack.py --restart starts these again, as the containers' restart policy would.
        "action-server": lambda: _kill_group(stack.pids()["action server"]),
        "web-app": lambda: _kill_group(stack.pids()["web app"]),
    }
    if servers is not None:
        actions.update({"postgres": servers.postgres.restart, "redis": servers.redis.restart,
                        "rabbitmq": servers.rabbitmq.restart})
    return actions


@dataclass
class FaultResult:
    fault: str
    at_seconds: float
    fault_took_seconds: float  # the restart of the server itself (0 for a kill)
    seconds_until_service_back: float
    try_again_answers: int
    unreachable_attempts: int
    other_errors: int


def recovery(run: SoakRun, fault_at: float) -> float:
    """Seconds from the fault until every message was answered again: the end of the last
    failed attempt that began after the fault (0 when none failed)."""
    failed = [a.ended for a in run.attempts
              if a.ended >= fault_at and a.outcome not in ("ok", "wrong")]
    return round(max(failed) - fault_at, 1) if failed else 0.0


async def soak_with_fault(stack: StackProcess, subjects: list[str], fault: str | None,
                          inject: Callable[[], None] | None, fault_after: float,
                          turns: tuple[Turn, ...] = SOAK_TURNS
                          ) -> tuple[SoakRun, FaultResult | None]:
    run = SoakRun()
    employees = asyncio.ensure_future(run_employees(stack.web, subjects, turns, run=run))
    result = None
    if inject is not None:
        # Wait until the soak is in full flow: a share of its messages answered.
        target = max(1, int(len(subjects) * len(turns) * fault_after))
        while not employees.done() and run.count("ok") + run.count("wrong") < target:
            await asyncio.sleep(0.2)  # polling the soak's progress, not synchronising with it
        at = run.now()
        began = time.monotonic()
        await asyncio.get_running_loop().run_in_executor(None, inject)
        took = time.monotonic() - began
        await employees
        failed = [a for a in run.attempts if a.ended >= at]
        result = FaultResult(
            fault, round(at, 1), round(took, 1), recovery(run, at),
            sum(a.outcome == "try-again" for a in failed),
            sum(a.outcome == "unreachable" for a in failed),
            sum(a.outcome == "error" for a in failed))
    else:
        await employees
    return run, result


def summary(run: SoakRun, transcripts: TranscriptCheck, writes: WritesCheck) -> dict[str, Any]:
    latencies = sorted(run.latencies_ms)

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 1) \
            if latencies else 0.0

    return {
        "employees": len(run.employees),
        "messages_answered": sum(len(e.answered) for e in run.employees),
        "wrong_answers": sum(len(e.wrong) for e in run.employees),
        "wrong_examples": [w for e in run.employees for w in e.wrong][:5],
        "messages_given_up": sum(e.gave_up for e in run.employees),
        "try_again_answers": run.count("try-again"),
        "unreachable_attempts": run.count("unreachable"),
        "other_errors": run.count("error"),
        "seconds": round(run.now(), 1),
        "p50_ms": pct(0.5), "p95_ms": pct(0.95), "max_ms": pct(1.0),
        "transcripts": asdict(transcripts),
        "writes": asdict(writes),
    }


@contextmanager
def soak_stack(mode: str, workdir: Path, restart: bool = True
               ) -> Iterator[tuple[StackProcess, throwaway.ProductionServers | None]]:
    """The stack in `mode` (embedded: SQLite; production: throwaway PostgreSQL, Redis and
    RabbitMQ), with stack.py's --restart, the database set up; stopped afterwards."""
    with ExitStack() as cleanup:
        servers = None
        # Rasa loads its model in ~100 s on an idle machine, over 10 min at load 20.
        env = {"HANDOFF_HOURS": "business",
               "STACK_READY_TIMEOUT": os.environ.get("STACK_READY_TIMEOUT", "1800")}
        if mode == "production":
            servers = cleanup.enter_context(throwaway.production_servers())
            env.update(servers.environment())
        stack = StackProcess(workdir, current_model(), env, restart=restart)
        stack.setup_database()
        stack.start()
        cleanup.callback(stack.stop)
        yield stack, servers


def soak(mode: str, employees: int, messages: int, faults: list[str],
         fault_after: float = 0.3, warm_up: int = 10, logs: Path | None = None
         ) -> dict[str, Any]:
    """One stack in `mode`: a plain soak, then each fault under a soak of its own. With `logs`,
    the stack's log is copied there (also when it fails)."""
    with tempfile.TemporaryDirectory(prefix="soak-") as workdir:
        try:
            return _soak(Path(workdir), mode, employees, messages, faults, fault_after, warm_up)
        finally:
            if logs is not None and (Path(workdir) / "stack.log").exists():
                logs.mkdir(parents=True, exist_ok=True)
                shutil.copy(Path(workdir) / "stack.log", logs / f"{mode}-stack.log")


def _soak(workdir: Path, mode: str, employees: int, messages: int, faults: list[str],
          fault_after: float, warm_up: int) -> dict[str, Any]:
    turns = SOAK_TURNS[:messages]
    if len(turns) < messages:
        raise ValueError(f"at most {len(SOAK_TURNS)} messages per employee")
    result: dict[str, Any] = {"mode": mode, "employees": employees, "messages_per_employee":
                              messages, "when": dt.datetime.now(dt.timezone.utc).isoformat(),
                              "cores": os.cpu_count(), "load_average_before":
                              [round(x, 2) for x in os.getloadavg()], "runs": []}
    with soak_stack(mode, workdir) as (stack, servers):
        actions = fault_actions(stack, servers)
        unknown = set(faults) - set(actions)
        if unknown:
            raise ValueError(f"faults not available in {mode} mode: {sorted(unknown)}")
        tracker_url, database_url = stack.env["TRACKER_STORE_URL"], stack.database_url
        # Every Rasa worker meets each turn once before memory is measured (TensorFlow traces
        # its graphs, the memos fill on first use).
        asyncio.run(run_employees(stack.web, provision(database_url, "warm", warm_up), turns))
        before = memory(stack)
        for fault in [None, *faults]:
            name = fault or "none"
            subjects = provision(database_url, f"soak-{name}", employees)
            run, fault_result = asyncio.run(soak_with_fault(
                stack, subjects, fault, actions.get(fault) if fault else None, fault_after,
                turns))
            # Every message is answered; let the transcripts and writes settle? No: each
            # answered message was stored before its answer was sent (Rasa saves the tracker
            # before replying), so they are checked at once.
            transcripts = check_transcripts(tracker_url, run.employees)
            writes = check_writes(database_url, run.employees)
            entry = {"fault": name, **summary(run, transcripts, writes),
                     "load_average": [round(x, 2) for x in os.getloadavg()]}
            if fault_result is not None:
                entry["recovery"] = asdict(fault_result)
            result["runs"].append(entry)
            print(_line(entry), flush=True)
        after = memory(stack)
        result["rss_mb"] = {
            name: {"before": before[name]["rss_mb"], "after": after[name]["rss_mb"],
                   "bound": round(memory_bound(before[name]["rss_mb"]), 1),
                   "restarted": before[name]["pid"] != after[name]["pid"]}
            for name in before}
        result["rasa_workers_after"] = len(rasa_workers(stack))
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


def _line(entry: dict[str, Any]) -> str:
    t, w = entry["transcripts"], entry["writes"]
    line = (f"  {entry['fault']}: {entry['messages_answered']} answered in {entry['seconds']} s "
            f"(p50 {entry['p50_ms']} ms, p95 {entry['p95_ms']} ms), wrong "
            f"{entry['wrong_answers']}, gave up {entry['messages_given_up']}, try again "
            f"{entry['try_again_answers']}, unreachable {entry['unreachable_attempts']}; "
            f"lost {t['lost']}, duplicated {t['duplicated']}, reordered {t['reordered']}, "
            f"unexpected {t['unexpected']}; tickets {w['tickets_expected']} "
            f"(missing {w['tickets_missing']}, extra {w['tickets_extra']}), open handoffs "
            f"{w['handoffs_open']}")
    if "recovery" in entry:
        r = entry["recovery"]
        line += (f"; fault at {r['at_seconds']} s (took {r['fault_took_seconds']} s), back "
                 f"after {r['seconds_until_service_back']} s")
    return line


def problems(result: dict[str, Any], service_back_within: float = 30.0) -> list[str]:
    """Everything that breaks the soak's promises, as sentences (empty: all held)."""
    found = []
    for entry in result["runs"]:
        name, t, w = entry["fault"], entry["transcripts"], entry["writes"]
        for key in ("wrong_answers", "messages_given_up"):
            if entry[key]:
                found.append(f"{name}: {key} {entry[key]} {entry.get('wrong_examples', '')}")
        for key in ("lost", "duplicated", "reordered", "unexpected"):
            if t[key]:
                found.append(f"{name}: {key} {t[key]} {t['examples']}")
        for key in ("tickets_missing", "tickets_extra", "handoffs_open"):
            if w[key]:
                found.append(f"{name}: {key} {w[key]}")
        if entry.get("recovery", {}).get("seconds_until_service_back", 0) > service_back_within:
            found.append(f"{name}: service back after "
                         f"{entry['recovery']['seconds_until_service_back']} s")
    for name, rss in result.get("rss_mb", {}).items():
        if not rss["restarted"] and rss["after"] > rss["bound"]:
            found.append(f"{name}: memory {rss['before']} -> {rss['after']} MB "
                         f"(bound {rss['bound']})")
    return found


# The Rasa worker last: Sanic does not replace it, so the faults after it would meet one worker.
def table(result: dict[str, Any]) -> str:
    """The result as docs/reliability.md's Markdown table, one row per run."""
    rows = ["| fault | restart took (s) | service back after (s) | \"try again\" answers | "
            "unreachable attempts | answered | wrong | lost | duplicated | reordered | "
            "tickets (missing / extra) | open handoffs | p95 (ms) | load (1 min) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: "
            "| ---: | ---: |"]
    for entry in result["runs"]:
        t, w, r = entry["transcripts"], entry["writes"], entry.get("recovery", {})
        rows.append(
            f"| {entry['fault']} | {r.get('fault_took_seconds', '-')} | "
            f"{r.get('seconds_until_service_back', '-')} | {entry['try_again_answers']} | "
            f"{entry['unreachable_attempts']} | {entry['messages_answered']} | "
            f"{entry['wrong_answers']} | {t['lost']} | {t['duplicated']} | {t['reordered']} | "
            f"{w['tickets_expected']} ({w['tickets_missing']} / {w['tickets_extra']}) | "
            f"{w['handoffs_open']} | {entry['p95_ms']} | {entry['load_average'][0]} |")
    return "\n".join(rows)


FAULTS = {"embedded": ["action-server", "web-app", "rasa-worker"],
          "production": ["postgres", "redis", "rabbitmq", "action-server", "web-app",
                         "rasa-worker"]}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("embedded", "production", "both"), default="both")
    parser.add_argument("--employees", type=int, default=200)
    parser.add_argument("--messages", type=int, default=len(SOAK_TURNS))
    parser.add_argument("--faults", default="all",
                        help="comma-separated (see FAULTS), 'all' for every one of the mode, "
                             "or 'none'")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "soak")
    parser.add_argument("--table", type=Path, default=None,
                        help="print the Markdown table of a result file and stop")
    args = parser.parse_args()
    if args.table:
        print(table(json.loads(args.table.read_text())))
        return 0
    args.out.mkdir(parents=True, exist_ok=True)
    failures = []
    for mode in (("embedded", "production") if args.mode == "both" else (args.mode,)):
        faults = (FAULTS[mode] if args.faults == "all" else
                  [] if args.faults == "none" else
                  [f for f in args.faults.split(",") if f in FAULTS[mode]])
        print(f"soak, {mode}: {args.employees} employees x {args.messages} messages, "
              f"faults: {', '.join(faults) or 'none'} (load {os.getloadavg()[0]:.1f})",
              flush=True)
        result = soak(mode, args.employees, args.messages, faults, logs=args.out)
        (args.out / f"{mode}.json").write_text(json.dumps(result, indent=2))
        print(table(result))
        for name, rss in result["rss_mb"].items():
            print(f"  rss {name}: {rss['before']} -> {rss['after']} MB (bound {rss['bound']}"
                  f"{', restarted' if rss['restarted'] else ''})")
        failures += [f"{mode}: {p}" for p in problems(result)]
    print("\n".join(failures) if failures else "soak: every promise held")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
