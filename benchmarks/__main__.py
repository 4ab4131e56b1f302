"""`python -m benchmarks`: start the stack, load it at several concurrency levels, report.

Run through `make bench`, which trains the models first. Everything runs on loopback with
throwaway databases (SQLite files, or with `--production` PostgreSQL databases dropped
afterwards); every loop is bounded in time and in message count. Prints the results as Markdown
tables with the targets of issue 8; writes reports/bench/results.json and a plot.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bot.demo_data import DEMO_EMPLOYEES, DEMO_WIDGET_ISSUER
from bot.storage.database import Database
from bot.storage.models import ChannelIdentity, Employee
from connectors.principal import conversation_id
from scripts.stack_process import ROOT, StackProcess

from . import driver, production, report
from .scenario import LABELLED

RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"
STOCK_CONFIG = "rasa/cli/initial_project/config.yml"
# An employee reads each answer and types the next message: one second is brisk (people take
# several). With no pause, 16 conversations keep 16 messages queued at all times, and p95 at 16
# could only reach 300 ms at ~80 messages a second, the bare NLU's own maximum here.
THINK_SECONDS = 1.0
# Ten conversations at least at every level: at concurrency 1, 20 s is only two of them.
MIN_MESSAGES = 100
WARM_UP_CONCURRENCY = 4
WARM_UP_MESSAGES = 120  # 12 conversations, spread over the workers


def provision_subjects(database_url: str, level: int, count: int) -> list[str]:
    """Widget identities for `count` simulated employees, spread over the demo employees."""
    from sqlalchemy import select

    subjects = [f"bench-c{level}-{i:03d}" for i in range(count)]
    db = Database(database_url)
    try:
        with db.unit_of_work() as session:
            numbers = [d.number for d in DEMO_EMPLOYEES]
            ids = dict(session.execute(select(Employee.employee_number, Employee.id)
                                       .where(Employee.employee_number.in_(numbers))).all())
            session.add_all(ChannelIdentity(channel="widget", tenant=DEMO_WIDGET_ISSUER,
                                            subject=s, employee_id=ids[numbers[i % len(numbers)]])
                            for i, s in enumerate(subjects))
    finally:
        db.dispose()
    return subjects


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


def cpu_now(stack: StackProcess) -> dict[str, float]:
    return {name: report.cpu_seconds(pid) for name, pid in stack.pids().items()}


async def alternating_halves(stack: StackProcess, level: int, seconds: float,
                             max_messages: int, think_seconds: float, min_messages: int
                             ) -> tuple[driver.LevelResult, driver.LevelResult, dict[str, float]]:
    """Conversations, the paced parse, conversations (new employees), the paced parse; each
    half runs for `seconds` with half the level's minimum and maximum of messages. Returns
    both kinds merged, and the CPU seconds each process spent in the conversations' halves.

    Why halves: the machine's speed drifts over minutes here (the same paced parse 14.5-17.9
    ms p50 in runs of one evening), and a level measured whole before its parse, as the
    benchmark did until the sixth round, put that drift into the ratio of the two.
    """
    bounds = (seconds, max(1, max_messages // 2), (min_messages + 1) // 2)
    subjects = provision_subjects(stack.database_url, level,
                                  2 * driver.identities_needed(level, bounds[1]))
    token = stack.env["RASA_AUTH_TOKEN"]
    conversations, parses = [], []
    cpu_spent = dict.fromkeys(stack.pids(), 0.0)
    for employees in (subjects[:len(subjects) // 2], subjects[len(subjects) // 2:]):
        before = cpu_now(stack)
        conversations.append(await driver.run_conversations(
            stack.web, employees, level, *bounds[:2], think_seconds, bounds[2]))
        after = cpu_now(stack)
        for name in cpu_spent:
            cpu_spent[name] += after[name] - before[name]
        parses.append(await driver.run_parse(stack.rasa, token, level, *bounds[:2],
                                             think_seconds, bounds[2]))
    return driver.merged(*conversations), driver.merged(*parses), cpu_spent


async def measure_level(stack: StackProcess, level: int, seconds: float, max_messages: int,
                        think_seconds: float, min_messages: int = 0
                        ) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any], int]:
    """End-to-end conversations and the bare parse paced as they were (for the comparison),
    in alternating halves, then the parse at full speed (the NLU's capacity), at one level."""
    result, parsed, cpu_spent = await alternating_halves(
        stack, level, seconds, max_messages, think_seconds, min_messages)
    end_to_end = report.summarise(result)
    end_to_end["cpu_ms_per_message"] = report.cpu_ms_per_message(
        dict.fromkeys(cpu_spent, 0.0), cpu_spent, result.messages)
    lost = await lost_or_reordered(stack, result.sent)
    end_to_end["conversations"] = len(result.sent)
    end_to_end["conversations_lost_or_reordered"] = lost
    print(f"  end-to-end c={level}: {end_to_end}", flush=True)
    parse = report.summarise(parsed)
    print(f"  /model/parse c={level}, paced: {parse}", flush=True)
    capacity = parse
    if think_seconds:
        capacity = report.summarise(await driver.run_parse(
            stack.rasa, stack.env["RASA_AUTH_TOKEN"], level, seconds / 2, max_messages))
        print(f"  /model/parse c={level}, closed loop: {capacity}", flush=True)
    return end_to_end, parse, capacity, lost


async def warm_up(stack: StackProcess) -> None:
    """Every Rasa worker must have met each turn of the conversation before anything is timed
    or profiled: TensorFlow traces its graphs and the memoised predictions fill on first use,
    per worker."""
    subjects = provision_subjects(
        stack.database_url, 0, driver.identities_needed(WARM_UP_CONCURRENCY, WARM_UP_MESSAGES))
    await driver.run_conversations(stack.web, subjects, WARM_UP_CONCURRENCY, seconds=20,
                                   max_messages=WARM_UP_MESSAGES)


async def measure(stack: StackProcess, levels: list[int], seconds: float,
                  max_messages: int, think_seconds: float, min_messages: int = 0
                  ) -> dict[str, Any]:
    await warm_up(stack)
    end_to_end, parse, capacity, lost = [], [], [], 0
    for level in levels:
        level_result, parse_result, capacity_result, level_lost = await measure_level(
            stack, level, seconds, max_messages, think_seconds, min_messages)
        end_to_end.append(level_result)
        parse.append(parse_result)
        capacity.append(capacity_result)
        lost += level_lost
    texts, expected = zip(*LABELLED)
    predicted = await driver.parse_intents(stack.rasa, stack.env["RASA_AUTH_TOKEN"], list(texts))
    accuracy = sum(p == e for p, e in zip(predicted, expected)) / len(expected)
    memory = {name: report.rss_megabytes(pid) for name, pid in stack.pids().items()}
    return {"end_to_end": end_to_end, "parse": parse, "parse_closed_loop": capacity,
            "conversations_out_of_order": lost,
            "intent_accuracy": round(accuracy, 3), "rss_mb": memory}


def run_stack(model: str, levels: list[int], seconds: float, max_messages: int,
              think_seconds: float, use_production: bool, min_messages: int = 0
              ) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir, \
            production.stores(use_production) as stores:
        stack = StackProcess(Path(workdir), model, production.environment(stores))
        stack.setup_database()
        stack.start()
        try:
            measured = asyncio.run(measure(stack, levels, seconds, max_messages, think_seconds,
                                           min_messages))
        finally:
            stack.stop()
    measured["topology"] = "production" if use_production else "embedded"
    return measured


def ratios(ours: dict[str, Any], stock: dict[str, Any]) -> dict[str, Any]:
    pairs = zip(ours["end_to_end"], stock["end_to_end"])
    return {
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
    parser.add_argument("--levels", default="1,4,16,64")
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
    parser.add_argument("--no-stock", action="store_true", help="skip the stock-Rasa comparison")
    parser.add_argument("--production", action="store_true",
                        help="PostgreSQL (127.0.0.1:5432, throwaway databases) for the helpdesk "
                             "and the tracker store, Redis lock store, two Rasa workers")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench")
    args = parser.parse_args()
    levels = [int(level) for level in args.levels.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    ours_model = (ROOT / "models" / "current.txt").read_text().strip()
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}"
          f" on {os.cpu_count()} cores", flush=True)
    runs: dict[str, dict[str, Any]] = {}
    print(f"ours: {ours_model}", flush=True)
    runs["ours"] = run_stack(ours_model, levels, args.seconds, args.max_messages,
                             args.think_seconds, args.production, args.min_messages)
    if not args.no_stock:
        model = stock_model()
        print(f"stock: {model}", flush=True)
        runs["stock"] = run_stack(model, levels, args.seconds, args.max_messages,
                                  args.think_seconds, args.production, args.min_messages)
    result: dict[str, Any] = {
        "when": dt.datetime.now(dt.timezone.utc).isoformat(), "levels": levels,
        "seconds_per_half_level": args.seconds, "min_messages_per_level": args.min_messages,
        "think_seconds": args.think_seconds,
        "cores": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()], **runs}
    if "stock" in runs:
        result["ratios"] = ratios(runs["ours"], runs["stock"])
    result["targets"] = report.targets(runs["ours"])
    report.write_json(args.out / "results.json", result)
    report.plot(args.out / "latency_throughput.png", runs)
    print(report.table(result))
    print(f"wrote {args.out / 'results.json'} and {args.out / 'latency_throughput.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
