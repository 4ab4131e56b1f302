"""`python -m benchmarks`: start the stack, load it at several concurrency levels, report.

Run through `make bench` (embedded stores) or `make bench-production` (PostgreSQL, Redis,
RabbitMQ, two Rasa workers, two action servers), which train the models first. Ours and stock
Rasa run side by side, each on stores of its own, and take turns at every level and capacity
step, so that the machine's drift falls on both. Everything runs on loopback with throwaway
databases (SQLite files, or PostgreSQL databases dropped afterwards); every loop is bounded in
time and in message count. Prints the results as Markdown tables with the targets of issues 8
and 27; writes results.json and a plot under --out.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Awaitable, Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.demo.description import DEMO_WIDGET_ISSUER
from connectors.principal import conversation_id
from scripts.stack_process import ROOT, StackProcess

from . import driver, production, report
from .subjects import provision_subjects, warm_up
from .scenario import LABELLED

RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"
STOCK_CONFIG = "rasa/cli/initial_project/config.yml"
# An employee reads each answer and types the next message: one second is brisk (people take
# several). With no pause, 16 conversations keep 16 messages queued at all times, and p95 at 16
# could only reach 300 ms at ~80 messages a second, the bare NLU's own maximum here.
THINK_SECONDS = 1.0
# Ten conversations at least at every level: at concurrency 1, 20 s is only two of them.
MIN_MESSAGES = 100
LEVELS = "1,4,16,64,256"
# Capacity: closed-loop conversations (no pauses) at each of these concurrencies in turn, until
# the p95 reaches report.P95_LIMIT_MS; the answer is the highest throughput below it.
CAPACITY_STEPS = "2,4,8,12,16,24,32,48,64"
CAPACITY_SECONDS = 15.0


@dataclass
class Bench:
    """One running stack of a run (ours or stock), with the stores it was given."""

    name: str
    stack: StackProcess
    stores: production.ProductionStores | None = None
    profile_at: int | None = None  # py-spy on every process at this capacity step
    profile_dir: Path | None = None
    database_cpu: dict[int, float] = field(default_factory=dict)  # backend pid -> last seen
    database_total: float = 0.0

    def database_seconds(self) -> float:
        """The CPU seconds of the run's PostgreSQL backends so far, never going back: a backend
        that exits takes its time since the last reading with it (a small undercount; the
        pools keep their connections), where a plain sum went negative."""
        for pid in production.database_pids(self.stores):
            now = report.cpu_seconds(pid)
            self.database_total += max(0.0, now - self.database_cpu.get(pid, 0.0))
            self.database_cpu[pid] = now
        return self.database_total

    def cpu_seconds(self) -> dict[str, float]:
        """CPU seconds so far: each process of the stack (with its children), the PostgreSQL
        backends of its databases (production), and the shared Redis and RabbitMQ servers
        (whole servers: other users' work counts there too)."""
        spent = {name: report.cpu_seconds(pid) for name, pid in self.stack.pids().items()}
        if self.stores is not None:
            spent["database"] = self.database_seconds()
            for server, pids in production.shared_server_pids().items():
                spent[f"{server} (server)"] = report.cpu_seconds_of(pids)
        return spent


def stock_model() -> str:
    """Rasa's own default configuration (as `rasa init` writes it), trained on our data."""
    rasa_package = subprocess.run(
        [str(RASA_PYTHON), "-c", "import rasa, os; print(os.path.dirname(rasa.__file__))"],
        check=True, capture_output=True, text=True).stdout.strip()
    config = Path(rasa_package).parent / STOCK_CONFIG
    stock = ROOT / "models" / "stock-config.yml"
    stock.write_text(config.read_text().replace("placeholder_default", "stock-comparison"))
    return subprocess.run(
        [str(RASA_PYTHON), str(ROOT / "scripts" / "train_if_stale.py"), "--config", str(stock),
         "--prefix", "stock"], cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]


async def lost_or_reordered(stack: StackProcess, sent: dict[str, list[str]]) -> int:
    """Conversations whose stored user messages differ from what was sent, in order."""
    token = stack.env["RASA_AUTH_TOKEN"]
    lost = 0
    for subject, texts in sent.items():
        stored = await driver.user_texts_in_tracker(
            stack.rasa, token, conversation_id("widget", DEMO_WIDGET_ISSUER, subject))
        lost += stored != texts
    return lost


async def alternating_halves(bench: Bench, level: int, seconds: float,
                             max_messages: int, think_seconds: float, min_messages: int
                             ) -> tuple[driver.LevelResult, driver.LevelResult, dict[str, float]]:
    """Conversations, the paced parse, conversations (new employees), the paced parse; each
    half runs for `seconds` with half the level's minimum and maximum of messages. Returns
    both kinds merged, and the CPU seconds each process spent in the conversations' halves.

    Why halves: the machine's speed drifts over minutes here (the same paced parse 14.5-17.9
    ms p50 in runs of one evening), and a level measured whole before its parse, as the
    benchmark did until the sixth round, put that drift into the ratio of the two.
    """
    stack = bench.stack
    bounds = (seconds, max(1, max_messages // 2), (min_messages + 1) // 2)
    subjects = provision_subjects(stack.database_url, level,
                                  2 * driver.identities_needed(level, bounds[1]))
    token = stack.env["RASA_AUTH_TOKEN"]
    conversations, parses = [], []
    cpu_spent: dict[str, float] = {}
    for employees in (subjects[:len(subjects) // 2], subjects[len(subjects) // 2:]):
        before = bench.cpu_seconds()
        conversations.append(await driver.run_conversations(
            stack.web, employees, level, *bounds[:2], think_seconds, bounds[2]))
        after = bench.cpu_seconds()
        for name in after:
            cpu_spent[name] = cpu_spent.get(name, 0.0) + after[name] - before.get(name, 0.0)
        parses.append(await driver.run_parse(stack.rasa, token, level, *bounds[:2],
                                             think_seconds, bounds[2]))
    return driver.merged(*conversations), driver.merged(*parses), cpu_spent


async def measure_level(bench: Bench, level: int, seconds: float, max_messages: int,
                        think_seconds: float, min_messages: int = 0
                        ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], int]:
    """End-to-end conversations and the bare parse paced as they were (for the comparison),
    in alternating halves, then the parse at full speed (the NLU's capacity), at one level."""
    stack = bench.stack
    load = report.load_average()
    result, parsed, cpu_spent = await alternating_halves(
        bench, level, seconds, max_messages, think_seconds, min_messages)
    end_to_end = report.summarise(result)
    end_to_end["load_average"] = load
    end_to_end["cpu_ms_per_message"] = report.cpu_ms_per_message(
        dict.fromkeys(cpu_spent, 0.0), cpu_spent, result.messages)
    lost = await lost_or_reordered(stack, result.sent)
    end_to_end["conversations"] = len(result.sent)
    end_to_end["conversations_lost_or_reordered"] = lost
    print(f"  {bench.name} end-to-end c={level}: {end_to_end}", flush=True)
    parse = report.summarise(parsed)
    print(f"  {bench.name} /model/parse c={level}, paced: {parse}", flush=True)
    capacity = parse
    if think_seconds:
        capacity = report.summarise(await driver.run_parse(
            stack.rasa, stack.env["RASA_AUTH_TOKEN"], level, seconds / 2, max_messages))
        print(f"  {bench.name} /model/parse c={level}, closed loop: {capacity}", flush=True)
    return end_to_end, parse, capacity, lost


async def capacity_step(bench: Bench, concurrency: int, seconds: float,
                        max_messages: int) -> dict[str, Any]:
    """Closed-loop conversations (no pauses) at one concurrency: throughput, latency and the
    CPU every process spent per message."""
    subjects = provision_subjects(bench.stack.database_url, 10_000 + concurrency,
                                  driver.identities_needed(concurrency, max_messages))
    load = report.load_average()
    spies = None
    if concurrency == bench.profile_at and bench.profile_dir is not None:
        from .profile import start_spies

        spies = start_spies(bench.stack, seconds, bench.profile_dir)
    before = bench.cpu_seconds()
    result = await driver.run_conversations(bench.stack.web, subjects, concurrency, seconds,
                                            max_messages)
    after = bench.cpu_seconds()
    if spies is not None:
        from .profile import collect

        (bench.profile_dir / "summary.txt").write_text(collect(spies, result))
    summary = report.summarise(result)
    summary.pop("p50_ms_by_turn", None)
    summary.pop("p95_ms_by_kind", None)
    summary["load_average"] = load
    summary["cpu_ms_per_message"] = report.cpu_ms_per_message(
        {name: before.get(name, 0.0) for name in after}, after, result.messages)
    print(f"  {bench.name} capacity c={concurrency}: {summary}", flush=True)
    return summary


async def capacity_search(measure: Mapping[str, Callable[[int], Awaitable[dict[str, Any]]]],
                          steps: list[int], p95_limit_ms: float = report.P95_LIMIT_MS
                          ) -> dict[str, dict[str, Any]]:
    """Each named system at each concurrency of `steps` in turn (the systems alternate which
    goes first), until its p95 reaches the limit or it has an error; its capacity is the
    highest throughput of a step below the limit with no error (None if there was none)."""
    going = list(measure)
    found: dict[str, dict[str, Any]] = {name: {"steps": []} for name in measure}
    for index, concurrency in enumerate(steps):
        for name in (going if index % 2 == 0 else going[::-1]):
            summary = await measure[name](concurrency)
            found[name]["steps"].append(summary)
            if summary["p95_ms"] >= p95_limit_ms or summary["errors"]:
                going.remove(name)
        if not going:
            break
    for name, searched in found.items():
        searched["best"] = report.best_under(searched["steps"], p95_limit_ms)
        searched["p95_limit_ms"] = p95_limit_ms
    return found


async def finish(bench: Bench, measured: dict[str, Any]) -> dict[str, Any]:
    """Intent accuracy on the labelled phrasings and resident memory, after the load."""
    stack = bench.stack
    texts, expected = zip(*LABELLED)
    predicted = await driver.parse_intents(stack.rasa, stack.env["RASA_AUTH_TOKEN"], list(texts))
    measured["intent_accuracy"] = round(
        sum(p == e for p, e in zip(predicted, expected)) / len(expected), 3)
    measured["rss_mb"] = {name: report.rss_megabytes(pid) for name, pid in stack.pids().items()}
    return measured


async def measure(benches: list[Bench], levels: list[int], seconds: float,
                  max_messages: int, think_seconds: float, min_messages: int = 0,
                  capacity_steps: list[int] | None = None,
                  capacity_seconds: float = CAPACITY_SECONDS) -> dict[str, dict[str, Any]]:
    """Every level on every stack, the stacks taking turns (which goes first alternates by
    level), then the capacity search on all of them, alternating likewise."""
    for bench in benches:
        await warm_up(bench.stack)
    runs: dict[str, dict[str, Any]] = {
        bench.name: {"end_to_end": [], "parse": [], "parse_closed_loop": [],
                     "conversations_out_of_order": 0} for bench in benches}
    for index, level in enumerate(levels):
        for bench in (benches if index % 2 == 0 else benches[::-1]):
            level_result, parse_result, closed_result, lost = await measure_level(
                bench, level, seconds, max_messages, think_seconds, min_messages)
            run = runs[bench.name]
            run["end_to_end"].append(level_result)
            run["parse"].append(parse_result)
            run["parse_closed_loop"].append(closed_result)
            run["conversations_out_of_order"] += lost
    if capacity_steps:
        found = await capacity_search(
            {bench.name: (lambda c, b=bench: capacity_step(b, c, capacity_seconds, max_messages))
             for bench in benches}, capacity_steps)
        for name, searched in found.items():
            runs[name]["capacity"] = searched
    for bench in benches:
        await finish(bench, runs[bench.name])
    return runs


PORTS = threading.Lock()


def start_all(started: contextlib.ExitStack,
              managers: list[contextlib.AbstractContextManager[Bench]]) -> list[Bench]:
    """Enter every stack's context at once (on a loaded machine each Rasa takes minutes to load
    its model; together they take about as long as one), each left to `started` to stop."""
    with ThreadPoolExecutor(len(managers)) as pool:
        futures = [pool.submit(manager.__enter__) for manager in managers]
    benches, failure = [], None
    for manager, future in zip(managers, futures):
        try:
            benches.append(future.result())
        except Exception as error:  # noqa: BLE001 - the others are stopped, then it is raised
            failure = failure or error
            continue
        started.push(manager.__exit__)
    if failure is not None:
        started.close()
        raise failure
    return benches


@contextlib.contextmanager
def running(name: str, model: str, use_production: bool, broker: bool = True,
            redis_db: str = production.REDIS_DB, log_dir: Path | None = None
            ) -> Iterator[Bench]:
    """A stack on stores of its own (throwaway), started; stopped and its stores removed after."""
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir, \
            production.stores(use_production, redis_db) as stores:
        env = production.environment(stores)
        if not broker:  # Rasa without its event broker (docs/insight.md: the broker's cost)
            env["EVENT_BROKER_URL"] = "off"
            env["INSIGHT_CONSUMER"] = "external"  # none: with no broker it would exit at once
        with PORTS:  # each stack its own free ports, when several start at once
            stack = StackProcess(Path(workdir), model, env)
        stack.setup_database()
        print(f"starting {name}: {model}", flush=True)
        try:
            stack.start()
            yield Bench(name, stack, stores)
        finally:
            stack.stop()
            if log_dir is not None and stack.log.exists():  # the stack's own output, kept
                shutil.copyfile(stack.log, log_dir / f"{name}-stack.log")


def broker_cost(with_broker: dict[str, Any], without: dict[str, Any]) -> list[dict[str, Any]]:
    """p95 per level with the event broker on and off (same run), and the ratio."""
    return [{"concurrency": on["concurrency"], "p95_ms_broker_off": off["p95_ms"],
             "p95_ms_broker_on": on["p95_ms"],
             "ratio": round(on["p95_ms"] / off["p95_ms"], 3) if off["p95_ms"] else None}
            for on, off in zip(with_broker["end_to_end"], without["end_to_end"])]


def ratios(ours: dict[str, Any], stock: dict[str, Any]) -> dict[str, Any]:
    pairs = zip(ours["end_to_end"], stock["end_to_end"])
    best = [run.get("capacity", {}).get("best") for run in (ours, stock)]
    return {
        "capacity_ours_over_stock": round(
            best[0]["messages_per_second"] / best[1]["messages_per_second"], 2)
        if all(best) and best[1]["messages_per_second"] else None,
        "intent_accuracy_ours_over_stock": round(
            ours["intent_accuracy"] / stock["intent_accuracy"], 3) if stock["intent_accuracy"] else None,
        "per_level": [{"concurrency": o["concurrency"],
                       "p50_ours_over_stock": round(o["p50_ms"] / s["p50_ms"], 2),
                       "throughput_ours_over_stock": round(
                           o["messages_per_second"] / s["messages_per_second"], 2)}
                      for o, s in pairs],
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__)
    parser.add_argument("--levels", default=LEVELS)
    parser.add_argument("--seconds", type=float, default=20.0,
                        help="per half level (each level alternates two halves of "
                             "conversations with two of the paced parse)")
    parser.add_argument("--max-messages", type=int, default=3000, help="per level")
    parser.add_argument("--min-messages", type=int, default=MIN_MESSAGES,
                        help="per level: a level goes on past --seconds until it has sent this "
                             "many (at most 10 times its time); the p50 at concurrency 1 needs "
                             "more than the ~20 messages of 20 s")
    parser.add_argument("--think-seconds", type=float, default=THINK_SECONDS,
                        help="an employee's pause between an answer and their next message "
                             "(0: full-speed closed loop, a capacity test)")
    parser.add_argument("--capacity-steps", default=CAPACITY_STEPS,
                        help="concurrencies of the capacity search (closed loop, no pauses), "
                             "tried in turn until the p95 reaches 1 s; 'none' skips it")
    parser.add_argument("--capacity-seconds", type=float, default=CAPACITY_SECONDS,
                        help="per capacity step")
    parser.add_argument("--profile-at", type=int, default=None,
                        help="py-spy on each of our processes during the capacity step at this "
                             "concurrency (flamegraphs and summary.txt in OUT/profile)")
    parser.add_argument("--no-stock", action="store_true", help="skip the stock-Rasa comparison")
    parser.add_argument("--production", action="store_true",
                        help="PostgreSQL (127.0.0.1:5432, throwaway databases) for the helpdesk "
                             "and the tracker store, Redis lock store, RabbitMQ event broker, "
                             "two Rasa workers, two action servers")
    parser.add_argument("--broker", choices=("on", "off", "both"), default="on",
                        help="Rasa's event broker (service insight): on, off, or both in one "
                             "run (a third stack, taking turns), reporting p95 for each")
    parser.add_argument("--out", type=Path, default=None,
                        help="default reports/bench, or reports/bench-production")
    args = parser.parse_args()
    levels = parse_levels(args.levels)
    steps = parse_levels(args.capacity_steps)
    out = args.out or ROOT / "reports" / ("bench-production" if args.production else "bench")
    out.mkdir(parents=True, exist_ok=True)
    ours_model = (ROOT / "models" / "current.txt").read_text().strip()
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}"
          f" on {os.cpu_count()} cores", flush=True)
    stacks = [("ours", ours_model, args.broker != "off")]
    if args.broker == "both":
        stacks.append(("ours_broker_off", ours_model, False))
    if not args.no_stock:
        stacks.append(("stock", stock_model(), True))
    with contextlib.ExitStack() as started:
        benches = start_all(started, [
            running(name, model, args.production, broker, str(int(production.REDIS_DB) + number),
                    log_dir=out)
            for number, (name, model, broker) in enumerate(stacks)])
        benches[0].profile_at, benches[0].profile_dir = args.profile_at, out / "profile"
        runs = asyncio.run(measure(benches, levels, args.seconds, args.max_messages,
                                   args.think_seconds, args.min_messages, steps,
                                   args.capacity_seconds))
    topology = "production" if args.production else "embedded"
    for name, run in runs.items():
        run["topology"] = topology
        run["event_broker"] = name != "ours_broker_off"
    result: dict[str, Any] = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(), "levels": levels,
        "seconds_per_half_level": args.seconds, "min_messages_per_level": args.min_messages,
        "think_seconds": args.think_seconds, "capacity_seconds_per_step": args.capacity_seconds,
        "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()], **runs}
    if "stock" in runs:
        result["ratios"] = ratios(runs["ours"], runs["stock"])
    if "ours_broker_off" in runs:
        result["broker_cost"] = broker_cost(runs["ours"], runs["ours_broker_off"])
    result["targets"] = {**report.targets(runs["ours"]),
                         **report.production_targets(runs["ours"], runs.get("stock"))}
    report.write_json(out / "results.json", result)
    report.plot(out / "latency_throughput.png", runs)
    print(report.table(result))
    for row in result.get("broker_cost", []):
        print(f"event broker at {row['concurrency']}: p95 {row['p95_ms_broker_off']} ms off, "
              f"{row['p95_ms_broker_on']} ms on (x{row['ratio']})")
    print(f"wrote {out / 'results.json'} and {out / 'latency_throughput.png'}")
    return 0


def parse_levels(text: str) -> list[int]:
    """'1,4,16' -> [1, 4, 16]; 'none' or '' -> []. Each a positive whole number, rising."""
    if text.strip().lower() in ("", "none"):
        return []
    levels = [int(part) for part in text.split(",")]
    if any(level < 1 for level in levels) or levels != sorted(set(levels)):
        raise SystemExit(f"levels must be rising positive whole numbers: {text!r}")
    return levels


if __name__ == "__main__":
    sys.exit(main())
