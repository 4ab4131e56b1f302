"""Start `scripts/stack.py` as a child process on free loopback ports with throwaway databases.

Shared by the system tests and the benchmark: both drive the real processes over HTTP only.
"""
from __future__ import annotations

import json
import os
import random
import secrets
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parent.parent


# Every port stack.py listens on: a test or benchmark stack takes free ones for all of them.
PORT_VARIABLES = ("WEB_PORT", "RASA_PORT", "ACTION_SERVER_PORT", "WEB_METRICS_PORT",
                  "ACTION_METRICS_PORT", "WORKER_METRICS_PORT", "INSIGHT_METRICS_PORT")


_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A loopback port nobody listens on: the system's choice, or, with HELPDESK_PORT_RANGE
    set (e.g. "18500-18599"), one from that range, never the same one twice in a process
    (sessions sharing a machine each keep to their own range)."""
    span = os.environ.get("HELPDESK_PORT_RANGE", "").strip()
    if not span:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            return sock.getsockname()[1]
    low, _, high = span.partition("-")
    candidates = [port for port in range(int(low), int(high or low) + 1)
                  if port not in _HANDED_OUT]
    random.shuffle(candidates)
    for port in candidates:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _HANDED_OUT.add(port)
        return port
    raise RuntimeError(f"no free port left in HELPDESK_PORT_RANGE={span}")


def stack_ports() -> dict[str, str]:
    """A free port for each of PORT_VARIABLES (from HELPDESK_PORT_RANGE when that is set)."""
    return {name: str(free_port()) for name in PORT_VARIABLES}


def current_model() -> str:
    marker = ROOT / "models" / "current.txt"
    if not marker.exists():
        raise FileNotFoundError("no trained model: `make test` or `make model` trains it "
                                "(models/current.txt)")
    return marker.read_text().strip()


@dataclass
class StackProcess:
    """A running stack: its URLs, environment, log file and child process ids."""

    workdir: Path
    model: str
    extra_env: dict[str, str] = field(default_factory=dict)
    restart: bool = False  # stack.py --restart: a process that exits is started again
    env: dict[str, str] = field(init=False)
    log: Path = field(init=False)
    _process: subprocess.Popen | None = field(default=None, init=False)
    _output: IO[str] | None = field(default=None, init=False)
    _drain: threading.Thread | None = field(default=None, init=False)

    def __post_init__(self) -> None:
        ports = stack_ports()
        self.env = {
            **os.environ,
            **ports,
            "HELPDESK_VAR_DIR": str(self.workdir),
            "HELPDESK_DATABASE_URL": f"sqlite:///{self.workdir / 'helpdesk.db'}",
            "TRACKER_STORE_URL": f"sqlite:///{self.workdir / 'tracker.db'}",
            "RASA_AUTH_TOKEN": secrets.token_urlsafe(40),
            "WIDGET_TOKEN_SECRET": secrets.token_urlsafe(40),
            "ACTION_SERVER_TOKEN": secrets.token_urlsafe(40),
            "HELPDESK_PRINCIPAL_KEY": secrets.token_urlsafe(40),
            "RELAY_CONSOLE_KEY": secrets.token_urlsafe(40),
            "RELAY_TICKETS_KEY": secrets.token_urlsafe(40),
            "RELAY_RECORDS_KEY": secrets.token_urlsafe(40),
            "PYTHONPATH": str(ROOT),
            **self.extra_env,
        }
        self.log = self.workdir / "stack.log"

    @property
    def web(self) -> str:
        return f"http://127.0.0.1:{self.env['WEB_PORT']}"

    @property
    def rasa(self) -> str:
        return f"http://127.0.0.1:{self.env['RASA_PORT']}"

    @property
    def action_server(self) -> str:
        return f"http://127.0.0.1:{self.env['ACTION_SERVER_PORT']}"

    @property
    def database_url(self) -> str:
        return self.env["HELPDESK_DATABASE_URL"]

    def setup_database(self, python: str = sys.executable) -> None:
        subprocess.run([python, "-m", "bot.cli", "setup"], cwd=ROOT, env=self.env, check=True,
                       capture_output=True)

    def start(self, python: str = sys.executable) -> None:
        """Start and return once every process passed its health check; raise if it died."""
        self._output = self.log.open("w", buffering=1)  # line-buffered: read while running
        self._process = subprocess.Popen(
            [python, str(ROOT / "scripts" / "stack.py"), "--dev-signin", "--model", self.model,
             *(["--restart"] if self.restart else [])],
            cwd=ROOT, env=self.env, stdout=subprocess.PIPE, stderr=self._output, text=True,
        )
        for line in self._process.stdout:  # stack.py prints "Ready" after every health check
            self._output.write(line)
            if line.startswith("Ready in"):
                break
        else:
            self._process.wait()
            self._output.close()
            raise RuntimeError(f"the stack did not start:\n{self.log.read_text()[-3000:]}")
        self._drain = threading.Thread(
            target=lambda: self._output.writelines(self._process.stdout), daemon=True)
        self._drain.start()  # keeps the pipe from filling up

    def pids(self) -> dict[str, int]:
        return json.loads((self.workdir / "stack.pids.json").read_text())

    def stop(self) -> int:
        """Stop the stack like Ctrl-C would; return its exit code."""
        if self._process is None:
            return 0
        self._process.terminate()
        code = self._process.wait(timeout=60)
        if self._drain:
            self._drain.join(timeout=10)
        if self._output:
            self._output.close()
        return code
