"""Percentiles, the JSON report and the latency/throughput plot."""
from __future__ import annotations

import json
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
    }


def rss_megabytes(pid: int) -> float:
    """Resident memory of a process and all its descendants (Sanic forks workers)."""
    total_kb = 0
    pending = [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
            total_kb += int(next(line.split()[1] for line in status.splitlines()
                                 if line.startswith("VmRSS:")))
            for task in Path(f"/proc/{current}/task").iterdir():
                children = (task / "children").read_text().split()
                pending.extend(int(child) for child in children)
        except (FileNotFoundError, StopIteration, ProcessLookupError):
            continue
    return round(total_kb / 1024, 1)


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
