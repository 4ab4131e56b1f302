"""Percentiles, the JSON report and the latency/throughput plot."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .driver import LevelResult
from .scenario import CONVERSATION

# The capacity run's bar: the highest throughput whose p95 stays under this (issue 27).
P95_LIMIT_MS = 1000.0
# Issue 27's capacity targets, msg/s by topology, and the ratio to stock Rasa on the same stores.
CAPACITY_TARGETS = {"embedded": 80.0, "production": 60.0}
CAPACITY_RATIO_TARGET = 1.3

# The kind of each turn of the conversation ("records", "policy"), by its text.
TURN_KINDS = {turn.text: turn.kind for turn in CONVERSATION if turn.kind}


def summarise(result: LevelResult) -> dict[str, Any]:
    latencies = np.array(result.latencies_ms) if result.latencies_ms else np.array([np.nan])
    p50, p95, p99 = np.percentile(latencies, [50, 95, 99])
    return {
        "concurrency": result.concurrency,
        "messages": result.messages,
        "seconds": round(result.seconds, 2),
        "messages_per_second": round(result.messages / result.seconds, 1) if result.seconds else 0,
        "p50_ms": round(float(p50), 1),
        "p95_ms": round(float(p95), 1),
        "p99_ms": round(float(p99), 1),
        "max_ms": round(float(np.nanmax(latencies)), 1),
        "errors": result.errors,
        "wrong_answers": result.wrong_answers,
        **({"wrong_by_turn": result.wrong_by_turn,
            "wrong_examples": result.wrong_examples} if result.wrong_answers else {}),
        **({"p50_ms_by_turn": p50_by_turn(result)} if result.by_turn else {}),
        **({"p95_ms_by_kind": p95_by_kind(result)} if p95_by_kind(result) else {}),
    }


def p50_by_turn(result: LevelResult) -> dict[str, float]:
    """Each turn's own p50: which kinds of message the level's p50 falls between, and where a
    change of the dialogue shows (the p50 of all messages moves only when it crosses one)."""
    return {text: round(float(np.percentile(latencies, 50)), 1)
            for text, latencies in result.by_turn.items()}


def p95_by_kind(result: LevelResult) -> dict[str, float]:
    """The p95 of all the answers of each kind of turn (the records answers, the policy
    answer): issue 19 compares the two at 16 conversations."""
    pooled: dict[str, list[float]] = {}
    for text, latencies in result.by_turn.items():
        if text in TURN_KINDS:
            pooled.setdefault(TURN_KINDS[text], []).extend(latencies)
    return {kind: round(float(np.percentile(values, 95)), 1)
            for kind, values in sorted(pooled.items()) if values}


def process_tree(pid: int) -> list[int]:
    """A process and all its descendants (Sanic and rasa-sdk fork workers)."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop()
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                pending.extend(int(child) for child in (task / "children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
        found.append(current)
    return found


def rss_megabytes(pid: int) -> float:
    """Resident memory of a process and all its descendants."""
    total_kb = 0
    for current in process_tree(pid):
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total_kb += int(next(line.split()[1] for line in status.splitlines()
                                 if line.startswith("VmRSS:")))
        except (FileNotFoundError, StopIteration, ProcessLookupError):
            continue
    return round(total_kb / 1024, 1)


def cpu_seconds(pid: int) -> float:
    """User + system CPU time used so far by a process and its descendants.

    CPU time, unlike wall time, says which process a message costs, whatever else the
    machine is running; per message it is comparable between runs on a busy machine.
    """
    ticks = 0
    for current in process_tree(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


def cpu_seconds_of(pids: list[int]) -> float:
    """CPU seconds of several processes (PostgreSQL's backends, a shared server's processes)."""
    return sum(cpu_seconds(pid) for pid in pids)


def load_average() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def cpu_total(cpu: dict[str, float]) -> float:
    """All processes' CPU per message: the stack's, its database's and the shared servers'."""
    return round(sum(cpu.values()), 1)


def ceiling(cpu_ms_per_message: float, cores: int) -> float:
    """The messages a second that `cores` fully busy cores allow at this CPU per message."""
    return round(1000 * cores / cpu_ms_per_message, 1) if cpu_ms_per_message else 0.0


def best_under(steps: list[dict[str, Any]], p95_limit_ms: float) -> dict[str, Any] | None:
    """The capacity step with the highest throughput whose p95 is under the limit and which
    had no error and no wrong answer (None when no step was)."""
    within = [step for step in steps if step["p95_ms"] < p95_limit_ms and not step["errors"]
              and not step.get("wrong_answers")]
    return max(within, key=lambda step: step["messages_per_second"], default=None)


def cpu_ms_per_message(before: dict[str, float], after: dict[str, float],
                       messages: int) -> dict[str, float]:
    return {name: round(1000 * (after[name] - before[name]) / messages, 1) if messages else 0.0
            for name in after}


def write_json(path: Path, report: dict[str, Any]) -> None:
    path.write_text(json.dumps(report, indent=2) + "\n")


def plot(path: Path, runs: dict[str, dict[str, Any]]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with_capacity = any(run.get("capacity") for run in runs.values())
    figure, axes = plt.subplots(1, 3 if with_capacity else 2,
                                figsize=(16.5 if with_capacity else 11, 4.2))
    latency_axis, throughput_axis = axes[0], axes[1]
    for name, run in runs.items():
        levels = [level["concurrency"] for level in run["end_to_end"]]
        for key, style in (("p50_ms", "-o"), ("p95_ms", "--o")):
            latency_axis.plot(levels, [level[key] for level in run["end_to_end"]], style,
                              label=f"{name} {key[:3]}")
        throughput_axis.plot(levels, [level["messages_per_second"] for level in run["end_to_end"]],
                             "-o", label=name)
    latency_axis.axhline(300, color="grey", linewidth=0.8, linestyle=":", label="300 ms target")
    throughput_axis.axhline(40, color="grey", linewidth=0.8, linestyle=":", label="40 msg/s target")
    for axis, label in ((latency_axis, "latency (ms)"), (throughput_axis, "messages per second")):
        axis.set_xscale("log", base=2)
        axis.set_xlabel("concurrent conversations")
        axis.set_ylabel(label)
        axis.grid(True, alpha=0.3)
        axis.legend(fontsize=8)
    latency_axis.set_title("end-to-end latency (message sent → last reply)")
    throughput_axis.set_title("throughput")
    if with_capacity:
        capacity_axis = axes[2]
        for name, run in runs.items():
            steps = run.get("capacity", {}).get("steps", [])
            capacity_axis.plot([step["messages_per_second"] for step in steps],
                               [step["p95_ms"] for step in steps], "-o", label=f"{name} p95")
            for step in steps:
                capacity_axis.annotate(str(step["concurrency"]),
                                       (step["messages_per_second"], step["p95_ms"]),
                                       fontsize=7, textcoords="offset points", xytext=(3, 3))
        capacity_axis.axhline(P95_LIMIT_MS, color="grey", linewidth=0.8, linestyle=":",
                              label="1 s p95")
        capacity_axis.set_yscale("log")
        capacity_axis.set_xlabel("messages per second (closed loop; labels: concurrency)")
        capacity_axis.set_ylabel("p95 latency (ms)")
        capacity_axis.set_title("capacity: throughput against p95, no pauses")
        capacity_axis.grid(True, alpha=0.3)
        capacity_axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _level(run: dict[str, Any], key: str, concurrency: int) -> dict[str, Any] | None:
    return next((level for level in run[key] if level["concurrency"] == concurrency), None)


def targets(run: dict[str, Any]) -> dict[str, Any]:
    """Issue 8's three targets and issue 19's policy-answer latency, each with the measured
    figure (a level not run, or without both kinds of answer, is not judged)."""
    verdicts: dict[str, Any] = {}
    at_16 = _level(run, "end_to_end", 16)
    if at_16:
        verdicts["p95_ms_at_16_le_300_zero_errors"] = {
            "measured": at_16["p95_ms"], "errors": at_16["errors"],
            "met": at_16["p95_ms"] <= 300 and at_16["errors"] == 0}
    at_64 = _level(run, "end_to_end", 64)
    if at_64:
        verdicts["msg_per_s_at_64_ge_40_zero_errors_none_lost"] = {
            "measured": at_64["messages_per_second"], "errors": at_64["errors"],
            "lost_or_reordered": at_64["conversations_lost_or_reordered"],
            "met": at_64["messages_per_second"] >= 40 and at_64["errors"] == 0
            and at_64["conversations_lost_or_reordered"] == 0}
    by_kind = (at_16 or {}).get("p95_ms_by_kind", {})
    if "policy" in by_kind and "records" in by_kind:
        ratio = _ratio(by_kind["policy"], by_kind["records"])
        verdicts["policy_p95_within_20pct_of_records_at_16"] = {
            "policy_p95_ms": by_kind["policy"], "records_p95_ms": by_kind["records"],
            "measured_ratio": ratio, "met": ratio <= 1.2}
    at_1, parse_1 = _level(run, "end_to_end", 1), _level(run, "parse", 1)
    if at_1 and parse_1:
        ratio = _ratio(at_1["p50_ms"], parse_1["p50_ms"])
        verdicts["p50_at_1_le_2x_parse_p50"] = {
            "measured_ratio": ratio, "end_to_end_p50_ms": at_1["p50_ms"],
            "parse_p50_ms": parse_1["p50_ms"], "met": ratio <= 2.0}
        closed_1 = _level(run, "parse_closed_loop", 1) if "parse_closed_loop" in run else None
        if closed_1:  # shown, not judged: the parse kept busy, the conversations paced
            verdicts["p50_at_1_le_2x_parse_p50"].update(
                parse_closed_loop_p50_ms=closed_1["p50_ms"],
                ratio_to_closed_loop_parse=_ratio(at_1["p50_ms"], closed_1["p50_ms"]))
    return verdicts


def production_targets(run: dict[str, Any], stock: dict[str, Any] | None) -> dict[str, Any]:
    """Issue 27's: paced p95 at 16 and 64 with no errors, the capacity (closed loop, p95 under
    1 s) against its bar for the topology and against stock Rasa's in the same run; the p95
    and errors at 256 shown, not judged."""
    verdicts: dict[str, Any] = {}
    for concurrency, limit in ((16, 300.0), (64, 500.0)):
        level = _level(run, "end_to_end", concurrency)
        if level:
            verdicts[f"p95_ms_at_{concurrency}_le_{limit:.0f}_zero_errors"] = {
                "measured": level["p95_ms"], "errors": level["errors"],
                "met": level["p95_ms"] <= limit and level["errors"] == 0}
    at_256 = _level(run, "end_to_end", 256)
    if at_256:
        verdicts["at_256_shown"] = {"p95_ms": at_256["p95_ms"], "errors": at_256["errors"],
                                    "messages_per_second": at_256["messages_per_second"],
                                    "met": True}
    if "capacity" not in run:
        return verdicts
    best = run["capacity"]["best"]
    bar = CAPACITY_TARGETS.get(run.get("topology", "embedded"), CAPACITY_TARGETS["embedded"])
    measured = best["messages_per_second"] if best else 0.0
    verdicts[f"capacity_msg_per_s_ge_{bar:.0f}"] = {
        "measured": measured, "at_concurrency": best and best["concurrency"],
        "p95_ms": best and best["p95_ms"], "met": measured >= bar}
    stock_best = (stock or {}).get("capacity", {}).get("best")
    if stock is not None and "capacity" in stock:
        stock_measured = stock_best["messages_per_second"] if stock_best else 0.0
        ratio = _ratio(measured, stock_measured)
        verdicts[f"capacity_ge_{CAPACITY_RATIO_TARGET}x_stock"] = {
            "ours": measured, "stock": stock_measured, "measured_ratio": ratio,
            "met": ratio >= CAPACITY_RATIO_TARGET}
    return verdicts


def _ratio(numerator: float, denominator: float) -> float:
    return round(numerator / denominator, 2) if denominator else float("inf")


def table(result: dict[str, Any]) -> str:
    """The results as Markdown tables, ready for docs/performance.md."""
    lines = [f"load average before/after: {result['load_average_before']} / "
             f"{result['load_average_after']} ({result['cores']} cores)"]
    for name in ("ours", "stock"):
        run = result.get(name)
        if not run:
            continue
        at_least = result.get("min_messages_per_level")
        minimum = f" (at least {at_least} messages)" if at_least else ""
        lines += ["", f"{name} ({run['topology']}), "
                      f"{result['seconds_per_half_level']:.0f} s per half level{minimum}, "
                      f"{result['think_seconds']} s think time:",
                  "| concurrency | msg/s | p50 ms | p95 ms | p99 ms | max ms | errors | wrong "
                  "| lost/reordered | parse p50 ms (paced) | parse p50 ms / msg/s (closed loop) "
                  "| CPU ms/msg (rasa / actions / web / database / all) | load |",
                  "| --- " * 13 + "|"]
        closed_loop = run.get("parse_closed_loop", run["parse"])
        for level, parse, capacity in zip(run["end_to_end"], run["parse"], closed_loop):
            cpu = level.get("cpu_ms_per_message", {})
            lines.append(
                f"| {level['concurrency']} | {level['messages_per_second']} | {level['p50_ms']} "
                f"| {level['p95_ms']} | {level['p99_ms']} | {level['max_ms']} "
                f"| {level['errors']} | {level['wrong_answers']} "
                f"| {level.get('conversations_lost_or_reordered', '')} | {parse['p50_ms']} "
                f"| {capacity['p50_ms']} / {capacity['messages_per_second']} "
                f"| {_cpu_columns(cpu)} | {_load(level)} |")
        lines.append(f"intent accuracy {run['intent_accuracy']}; resident MB {run['rss_mb']}")
        for key in ("end_to_end", "parse"):
            lines += [f"{key} p50 ms by turn at {level['concurrency']}: {level['p50_ms_by_turn']}"
                      for level in run[key][:1] if "p50_ms_by_turn" in level]
        lines += [f"end_to_end p95 ms by kind of answer at {level['concurrency']}: "
                  f"{level['p95_ms_by_kind']}"
                  for level in run["end_to_end"] if "p95_ms_by_kind" in level]
    for name in ("ours", "stock", "ours_broker_off"):
        if result.get(name, {}).get("capacity"):
            lines += ["", *capacity_table(name, result[name], result.get("cores") or 2)]
    if "ratios" in result:
        lines += ["", f"ours / stock: {result['ratios']}"]
    lines += ["", "targets (issue 8; the policy answer's, issue 19; production and capacity, "
                  "issue 27):"]
    lines += [f"  {'MET   ' if v['met'] else 'MISSED'} {k}: {v}"
              for k, v in result["targets"].items()]
    return "\n".join(lines)


def _cpu_columns(cpu: dict[str, float]) -> str:
    if not cpu:
        return ""
    return (f"{cpu.get('rasa', '')} / {cpu.get('action server', '')} / "
            f"{cpu.get('web app', '')} / {cpu.get('database', 'in-process')} / {cpu_total(cpu)}")


def _load(level: dict[str, Any]) -> str:
    return " ".join(f"{x:.2f}" for x in level.get("load_average", []))


def capacity_table(name: str, run: dict[str, Any], cores: int) -> list[str]:
    """The capacity search's steps, the CPU each process spent per message, and the answer."""
    capacity = run["capacity"]
    lines = [f"{name} capacity ({run.get('topology', '')}; closed loop, no pauses; the highest "
             f"msg/s with p95 under {capacity['p95_limit_ms']:.0f} ms and no error):",
             "| concurrency | msg/s | p50 ms | p95 ms | max ms | errors | wrong "
             "| CPU ms/msg (rasa / actions / web / database / all) | load |",
             "| --- " * 9 + "|"]
    for step in capacity["steps"]:
        lines.append(f"| {step['concurrency']} | {step['messages_per_second']} | {step['p50_ms']} "
                     f"| {step['p95_ms']} | {step['max_ms']} | {step['errors']} "
                     f"| {step['wrong_answers']} | {_cpu_columns(step['cpu_ms_per_message'])} "
                     f"| {_load(step)} |")
    best = capacity["best"]
    if best is None:
        lines.append("capacity: no step had its p95 under the limit with no error")
        return lines
    cpu = best["cpu_ms_per_message"]
    lines.append(f"capacity: {best['messages_per_second']} msg/s at {best['concurrency']} "
                 f"(p95 {best['p95_ms']} ms); CPU per message there {cpu}; all processes "
                 f"{cpu_total(cpu)} ms, a ceiling of {ceiling(cpu_total(cpu), cores)} msg/s "
                 f"on {cores} cores")
    return lines
