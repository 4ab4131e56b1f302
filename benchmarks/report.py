"""Percentiles, the JSON report and the latency/throughput plot."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

from .driver import LevelResult


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
        **({"p50_ms_by_turn": p50_by_turn(result)} if result.by_turn else {}),
    }


def p50_by_turn(result: LevelResult) -> dict[str, float]:
    """Each turn's own p50: which kinds of message the level's p50 falls between, and where a
    change of the dialogue shows (the p50 of all messages moves only when it crosses one)."""
    return {text: round(float(np.percentile(latencies, 50)), 1)
            for text, latencies in result.by_turn.items()}


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

    figure, (latency_axis, throughput_axis) = plt.subplots(1, 2, figsize=(11, 4.2))
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
    figure.tight_layout()
    figure.savefig(path, dpi=110)


def _level(run: dict[str, Any], key: str, concurrency: int) -> dict[str, Any] | None:
    return next((level for level in run[key] if level["concurrency"] == concurrency), None)


def targets(run: dict[str, Any]) -> dict[str, Any]:
    """Issue 8's three targets, each with the measured figure (None: level not run)."""
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
                  "| CPU ms/msg (rasa / actions / web) |",
                  "| --- " * 12 + "|"]
        closed_loop = run.get("parse_closed_loop", run["parse"])
        for level, parse, capacity in zip(run["end_to_end"], run["parse"], closed_loop):
            cpu = level.get("cpu_ms_per_message", {})
            lines.append(
                f"| {level['concurrency']} | {level['messages_per_second']} | {level['p50_ms']} "
                f"| {level['p95_ms']} | {level['p99_ms']} | {level['max_ms']} "
                f"| {level['errors']} | {level['wrong_answers']} "
                f"| {level.get('conversations_lost_or_reordered', '')} | {parse['p50_ms']} "
                f"| {capacity['p50_ms']} / {capacity['messages_per_second']} "
                f"| {cpu.get('rasa', '')} / "
                f"{cpu.get('action server', '')} / {cpu.get('web app', '')} |")
        lines.append(f"intent accuracy {run['intent_accuracy']}; resident MB {run['rss_mb']}")
        for key in ("end_to_end", "parse"):
            lines += [f"{key} p50 ms by turn at {level['concurrency']}: {level['p50_ms_by_turn']}"
                      for level in run[key][:1] if "p50_ms_by_turn" in level]
    if "ratios" in result:
        lines += ["", f"ours / stock: {result['ratios']}"]
    lines += ["", "targets (issue 8):"]
    lines += [f"  {'MET   ' if v['met'] else 'MISSED'} {k}: {v}"
              for k, v in result["targets"].items()]
    return "\n".join(lines)
