"""The whole assistant as `make run` starts it, on free loopback ports with throwaway databases.

Shared by the tests that need the real processes (tests/browser; tests/system can use it too):

    with running_stack(tmp_path, {"HANDOFF_HOURS": "always"}) as stack:
        ... drive stack.web over HTTP or in a browser ...

The model is `TEST_RASA_MODEL` when set (a scratch model), else the one `make test` trained
(models/current.txt).
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from scripts.stack_process import PORT_VARIABLES, free_port

ROOT = Path(__file__).resolve().parents[1]


class StackDidNotStart(RuntimeError):
    """stack.py exited or never printed "Ready"; the message holds the end of its log."""


@dataclass
class Stack:
    web: str
    rasa: str
    action_server: str
    env: dict[str, str]
    log: Path
    database_url: str
    tracker_url: str


def current_model() -> str:
    override = os.environ.get("TEST_RASA_MODEL")
    if override:
        return override
    marker = ROOT / "models" / "current.txt"
    if not marker.exists():
        raise StackDidNotStart("no trained model: run `make test`, which trains it first "
                               "(models/current.txt), or set TEST_RASA_MODEL")
    return marker.read_text().strip()


@contextmanager
def running_stack(workdir: Path, extra_env: dict[str, str] | None = None,
                  dev_signin: bool = True) -> Iterator[Stack]:
    # Free ports, unless the caller names its own (a session given a port range, say).
    ports = {name: int((extra_env or {}).get(name) or free_port()) for name in PORT_VARIABLES}
    database_url = f"sqlite:///{workdir / 'helpdesk.db'}"
    tracker_url = f"sqlite:///{workdir / 'tracker.db'}"
    env = {
        **os.environ,
        **{name: str(port) for name, port in ports.items()},
        "HELPDESK_VAR_DIR": str(workdir),
        "HELPDESK_DATABASE_URL": database_url,
        "TRACKER_STORE_URL": tracker_url,
        "RASA_AUTH_TOKEN": secrets.token_urlsafe(40),
        "WIDGET_TOKEN_SECRET": secrets.token_urlsafe(40),
        **{name: secrets.token_urlsafe(40) for name in (
            "ACTION_SERVER_TOKEN", "HELPDESK_PRINCIPAL_KEY", "RELAY_CONSOLE_KEY",
            "RELAY_TICKETS_KEY", "RELAY_RECORDS_KEY")},
        "PYTHONPATH": str(ROOT),
        **(extra_env or {}),
    }
    subprocess.run([sys.executable, "-m", "bot.cli", "setup"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    log = workdir / "stack.log"
    command = [sys.executable, str(ROOT / "scripts" / "stack.py"), "--model", current_model()]
    if dev_signin:
        command.append("--dev-signin")
    with log.open("w", buffering=1) as output:  # line-buffered: tests read it while it runs
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                   stderr=output, text=True)
        ready = False
        for line in process.stdout:  # stack.py prints "Ready" once every health check passed
            output.write(line)
            if line.startswith("Ready in"):
                ready = True
                break
        if not ready:
            process.wait()
            output.flush()
            raise StackDidNotStart(f"the stack did not start:\n{log.read_text()[-3000:]}")
        drain = threading.Thread(target=lambda: output.writelines(process.stdout), daemon=True)
        drain.start()  # keeps the pipe from filling up; the log file gets everything
        try:
            yield Stack(f"http://127.0.0.1:{ports['WEB_PORT']}",
                        f"http://127.0.0.1:{ports['RASA_PORT']}",
                        f"http://127.0.0.1:{ports['ACTION_SERVER_PORT']}",
                        env, log, database_url, tracker_url)
        finally:
            process.terminate()
            process.wait(timeout=60)
            drain.join(timeout=10)
    if process.returncode != 0:
        raise RuntimeError(f"stack.py exited with {process.returncode}")
