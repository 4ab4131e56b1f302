"""`python -m benchmarks.profile`: py-spy on every process of the stack under load.

Starts the stack as `make bench` does, drives `--level` simulated employees for `--seconds`,
and meanwhile samples the Rasa server(s), the action server and the web app with py-spy.
Writes, per process, a flamegraph SVG and a collapsed-stack file, and `summary.txt`: the
functions with the largest inclusive and self share of the sampled CPU time. Profiles show
proportions, so they stay meaningful on a busy machine where absolute timings do not.
"""
from __future__ import annotations

import argparse
import asyncio
import collections
import subprocess
import sys
import tempfile
from pathlib import Path

from scripts.stack_process import ROOT, StackProcess, current_model

from . import driver, production
from .subjects import provision_subjects, warm_up

PY_SPY = Path(sys.executable).with_name("py-spy")
SAMPLES_PER_SECOND = 100
TOP = 30
MAX_MESSAGES = 20_000


def start_py_spy(pid: int, output: Path, fmt: str, seconds: float) -> subprocess.Popen:
    """Sample `pid` and its children without pausing them (--nonblocking keeps the load real)."""
    return subprocess.Popen(
        [str(PY_SPY), "record", "--pid", str(pid), "--subprocesses", "--nonblocking",
         "--rate", str(SAMPLES_PER_SECOND), "--duration", str(int(seconds)),
         "--format", fmt, "--output", str(output)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def load_collapsed(path: Path) -> collections.Counter[tuple[str, ...]]:
    """py-spy's raw format: `frame;frame;...;leaf count` per line, root first."""
    stacks: collections.Counter[tuple[str, ...]] = collections.Counter()
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            frames = tuple(_function(frame) for frame in stack.split(";"))
            stacks[frames] += int(count)
    return stacks


def _function(frame: str) -> str:
    """`name (file.py:123)` → `name (file.py)`: aggregate over lines of one function."""
    name, _, where = frame.partition(" (")
    return f"{name} ({where.rsplit(':', 1)[0]})" if where else name


# Leaves where a thread waits rather than computes. py-spy's own idle detection reads the
# thread's state from the OS and, on this machine's kernel, counted such waits as busy (a
# thread pool's idle workers were a third of Rasa's samples): they are left out of the
# proportions, and their share is shown.
WAITING = frozenset({
    "select (selectors.py)", "_PollLikeSelector.select (selectors.py)",
    "EpollSelector.select (selectors.py)", "PollPoller.poll (pika/adapters/select_connection.py)",
    "poll (multiprocessing/popen_fork.py)", "_worker (concurrent/futures/thread.py)",
    "serve (sanic/server/runners.py)", "_run_server_forever (sanic/server/runners.py)",
    "wait (threading.py)", "Condition.wait (threading.py)",
    "_recv (multiprocessing/connection.py)", "Connection._recv (multiprocessing/connection.py)",
    "Connection.wait (psycopg/connection.py)", "wait (psycopg/waiting.py)",
    "_read_from_socket (redis/connection.py)", "sleep (time.py)",
})


def busy(stacks: collections.Counter[tuple[str, ...]]) -> collections.Counter[tuple[str, ...]]:
    """The samples whose innermost frame is not a wait (WAITING)."""
    return collections.Counter({frames: count for frames, count in stacks.items()
                                if frames[-1] not in WAITING})


def summarise(name: str, stacks: collections.Counter[tuple[str, ...]]) -> str:
    sampled = sum(stacks.values())
    stacks = busy(stacks)
    total = sum(stacks.values())
    if not total:
        return f"== {name}: no samples\n"
    inclusive: collections.Counter[str] = collections.Counter()
    self_time: collections.Counter[str] = collections.Counter()
    for frames, count in stacks.items():
        for frame in set(frames[1:]):  # frames[0] is the process/thread label
            inclusive[frame] += count
        self_time[frames[-1]] += count
    lines = [f"== {name}: {total} busy samples ({total / SAMPLES_PER_SECOND:.1f} CPU-seconds; "
             f"{sampled - total} more waiting, left out)", "-- inclusive"]
    lines += [f"{100 * c / total:5.1f}%  {f}" for f, c in inclusive.most_common(TOP)]
    lines.append("-- self")
    lines += [f"{100 * c / total:5.1f}%  {f}" for f, c in self_time.most_common(TOP)]
    return "\n".join(lines) + "\n\n"


async def _load(stack: StackProcess, level: int, seconds: float) -> driver.LevelResult:
    await warm_up(stack)
    subjects = provision_subjects(stack.database_url, level,
                                  driver.identities_needed(level, MAX_MESSAGES))
    return await driver.run_conversations(stack.web, subjects, level, seconds, MAX_MESSAGES)


Spies = list[tuple[str, Path, subprocess.Popen, subprocess.Popen]]


def start_spies(stack: StackProcess, seconds: float, out: Path) -> Spies:
    """A raw and a flamegraph recorder on each process of the stack but the ticket worker."""
    out.mkdir(parents=True, exist_ok=True)
    spies = []
    for name, pid in stack.pids().items():
        if name == "ticket worker":
            continue
        slug = name.replace(" ", "_")
        spies.append((name, out / f"{slug}.txt",
                      start_py_spy(pid, out / f"{slug}.txt", "raw", seconds),
                      start_py_spy(pid, out / f"{slug}.svg", "flamegraph", seconds)))
    return spies


def profile(stack: StackProcess, level: int, seconds: float, out: Path) -> str:
    spies = start_spies(stack, seconds, out)
    result = asyncio.run(_load(stack, level, seconds))
    return collect(spies, result)


def collect(spies: Spies, result: driver.LevelResult) -> str:
    """Wait for each process's two py-spy recorders; the summary of every raw profile."""
    summary = [f"load: c={result.concurrency}, {result.messages} messages in "
               f"{result.seconds:.1f} s, {result.errors} errors\n\n"]
    for name, raw, *processes in spies:
        for process in processes:
            _, errors = process.communicate(timeout=120)
            if process.returncode:
                summary.append(f"py-spy on {name} failed: {errors.strip()[-300:]}\n")
        if raw.exists():
            summary.append(summarise(name, load_collapsed(raw)))
    return "".join(summary)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile", description=__doc__)
    parser.add_argument("--level", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--production", action="store_true",
                        help="PostgreSQL + Redis, two Rasa workers (as `python -m benchmarks`)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "profile")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="profile-") as workdir, \
            production.stores(args.production) as stores:
        stack = StackProcess(Path(workdir), current_model(), production.environment(stores))
        stack.setup_database()
        stack.start()
        try:
            summary = profile(stack, args.level, args.seconds, args.out)
        finally:
            stack.stop()
    (args.out / "summary.txt").write_text(summary)
    print(summary)
    print(f"wrote {args.out}/*.svg, *.txt and summary.txt")
    return 0


if __name__ == "__main__":
    sys.exit(main())
