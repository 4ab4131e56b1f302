"""`python -m benchmarks`: start the stack, load it at several concurrency levels, report.

Run through `make bench`, which trains the models first. Everything runs on loopback with
throwaway databases; every loop is bounded in time and in message count.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
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

from . import driver, report
from .scenario import LABELLED

RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"
STOCK_CONFIG = "rasa/cli/initial_project/config.yml"


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


async def measure(stack: StackProcess, levels: list[int], seconds: float,
                  max_messages: int) -> dict[str, Any]:
    token = stack.env["RASA_AUTH_TOKEN"]
    await driver.run_conversations(stack.web, provision_subjects(stack.database_url, 0, 2),
                                   seconds=3, max_messages=30)  # warm-up
    end_to_end, parse, lost = [], [], 0
    for level in levels:
        subjects = provision_subjects(stack.database_url, level, level)
        result = await driver.run_conversations(stack.web, subjects, seconds, max_messages)
        for subject, sent in result.sent.items():
            stored = await driver.user_texts_in_tracker(
                stack.rasa, token, conversation_id("widget", DEMO_WIDGET_ISSUER, subject))
            lost += stored != sent
        end_to_end.append(report.summarise(result))
        print(f"  end-to-end c={level}: {end_to_end[-1]}", flush=True)
        parse.append(report.summarise(await driver.run_parse(
            stack.rasa, token, level, seconds / 2, max_messages)))
        print(f"  /model/parse c={level}: {parse[-1]}", flush=True)
    texts, expected = zip(*LABELLED)
    predicted = await driver.parse_intents(stack.rasa, token, list(texts))
    accuracy = sum(p == e for p, e in zip(predicted, expected)) / len(expected)
    memory = {name: report.rss_megabytes(pid) for name, pid in stack.pids().items()}
    return {"end_to_end": end_to_end, "parse": parse, "conversations_out_of_order": lost,
            "intent_accuracy": round(accuracy, 3), "rss_mb": memory}


def run_stack(model: str, levels: list[int], seconds: float, max_messages: int,
              extra_env: dict[str, str]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        stack = StackProcess(Path(workdir), model, extra_env)
        stack.setup_database()
        stack.start()
        try:
            return asyncio.run(measure(stack, levels, seconds, max_messages))
        finally:
            stack.stop()


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
    parser.add_argument("--seconds", type=float, default=20.0, help="per level")
    parser.add_argument("--max-messages", type=int, default=3000, help="per level")
    parser.add_argument("--no-stock", action="store_true", help="skip the stock-Rasa comparison")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "bench")
    args = parser.parse_args()
    levels = [int(level) for level in args.levels.split(",")]
    args.out.mkdir(parents=True, exist_ok=True)
    ours_model = (ROOT / "models" / "current.txt").read_text().strip()
    runs: dict[str, dict[str, Any]] = {}
    print(f"ours: {ours_model}", flush=True)
    runs["ours"] = run_stack(ours_model, levels, args.seconds, args.max_messages, {})
    if not args.no_stock:
        model = stock_model()
        print(f"stock: {model}", flush=True)
        runs["stock"] = run_stack(model, levels, args.seconds, args.max_messages, {})
    result: dict[str, Any] = {"when": dt.datetime.now(dt.timezone.utc).isoformat(),
                              "levels": levels, "seconds_per_level": args.seconds, **runs}
    if "stock" in runs:
        result["ratios"] = ratios(runs["ours"], runs["stock"])
    report.write_json(args.out / "results.json", result)
    report.plot(args.out / "latency_throughput.png", runs)
    print(f"wrote {args.out / 'results.json'} and {args.out / 'latency_throughput.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
