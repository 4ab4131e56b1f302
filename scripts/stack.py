"""Run the whole assistant on this machine: action server, Rasa server and web app.

Embedded defaults (SQLite helpdesk database and tracker store; two Rasa workers sharing a
SQLite lock store on this host), every HTTP surface bound to 127.0.0.1, secrets generated once into var/secrets.env. Any variable
already in the environment wins, which is how production stores are configured. Ctrl-C (or
SIGTERM) stops every child process; so does the exit of any one of them.

Usage: python scripts/stack.py [--model models/x.tar.gz] [--dev-signin]
Run with the services runtime's Python (it only needs the standard library).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("HELPDESK_VAR_DIR") or ROOT / "var")
SECRETS_FILE = VAR / "secrets.env"
SECRET_NAMES = ("RASA_AUTH_TOKEN", "RASA_JWT_SECRET", "WIDGET_TOKEN_SECRET")
READY_TIMEOUT_SECONDS = float(os.environ.get("STACK_READY_TIMEOUT", "180"))
STOP_GRACE_SECONDS = 10
HOST_LOCK_STORE = "rasa_runtime.lock_store.SQLiteLockStore"


@dataclass
class Child:
    name: str
    command: list[str]
    health_url: str | None  # None: up as soon as it runs (a worker with no HTTP surface)
    process: subprocess.Popen | None = None
    # Rasa: up when every worker has loaded its model (scripts/rasa_server.py's marker files).
    all_workers_ready: Callable[[], bool] | None = None


def load_or_create_secrets() -> dict[str, str]:
    """Secrets from var/secrets.env (mode 0600), generating any that are missing."""
    VAR.mkdir(exist_ok=True)
    stored: dict[str, str] = {}
    if SECRETS_FILE.exists():
        for line in SECRETS_FILE.read_text().splitlines():
            name, _, value = line.partition("=")
            if name in SECRET_NAMES and value:
                stored[name] = value
    missing = [name for name in SECRET_NAMES if name not in stored]
    if missing:
        stored.update({name: secrets.token_urlsafe(48) for name in missing})
        SECRETS_FILE.touch(mode=0o600)
        SECRETS_FILE.write_text("".join(f"{k}={v}\n" for k, v in stored.items()))
    return stored


def default_rasa_workers() -> int:
    """One Rasa worker per core, at most two: a worker holds ~1.5 GB and uses one core."""
    return max(1, min(2, os.cpu_count() or 1))


def stack_environment(dev_signin: bool) -> dict[str, str]:
    env = dict(os.environ)
    for name, value in load_or_create_secrets().items():
        env.setdefault(name, value)
    action_port = env.setdefault("ACTION_SERVER_PORT", "5055")
    rasa_port = env.setdefault("RASA_PORT", "5005")
    defaults = {
        "HELPDESK_DATABASE_URL": f"sqlite:///{VAR / 'helpdesk.db'}",
        "TRACKER_STORE_URL": f"sqlite:///{VAR / 'rasa_tracker.db'}",
        # Rasa's workers share conversation locks (and the channels' claims) in one file.
        "LOCK_STORE_TYPE": HOST_LOCK_STORE,
        "LOCK_STORE_HOST": str(VAR / "rasa_locks.db"),
        "LOCK_STORE_PORT": "6379",
        "LOCK_STORE_DB": "0",
        "LOCK_STORE_PASSWORD": "",
        "ACTION_ENDPOINT_URL": f"http://127.0.0.1:{action_port}/webhook",
        "RASA_URL": f"http://127.0.0.1:{rasa_port}",
        "SANIC_HOST": "127.0.0.1",
        "SANIC_WORKERS": str(default_rasa_workers()),  # Rasa's own variable
        "RASA_INTERFACE": "127.0.0.1",
        "WEB_HOST": "127.0.0.1",
        "WEB_PORT": "8080",
        "HELPDESK_DEV_SIGNIN": "1" if dev_signin else "0",
        # Human handoff: Rasa pushes agent replies to the web app; business hours or "always".
        "WIDGET_PUSH_URL": f"http://127.0.0.1:{env.get('WEB_PORT', '8080')}/internal/widget/push",
        "HANDOFF_HOURS": "business",
        # Teams and Slack channels: off (503) unless all of a channel's values are set.
        "TEAMS_APP_ID": "",
        "TEAMS_APP_PASSWORD": "",
        "TEAMS_TENANT_ID": "",
        "SLACK_SIGNING_SECRET": "",
        "SLACK_BOT_TOKEN": "",
        "SLACK_TEAM_ID": "",
        # Their endpoints: empty = Microsoft's and Slack's public services (set for test fakes).
        "TEAMS_OPENID_METADATA_URL": "",
        "TEAMS_AUTHORITY_HOST": "",
        "SLACK_API_URL": "",
        "PYTHONPATH": str(ROOT),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "RASA_TELEMETRY_ENABLED": "false",
        "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    }
    for name, value in defaults.items():
        env.setdefault(name, value)
    return env


def use_sqlite_write_ahead_log(database_url: str) -> None:
    """Put an embedded (SQLite) helpdesk database into WAL mode; a no-op for other databases.

    The action server, the web app and the ticket worker write the same file at once. In
    SQLite's default rollback-journal mode a writer blocks every reader and each commit syncs
    the disk several times; under load the writers queue on the busy timeout (seconds of tail
    latency). WAL lets readers go on during a write and syncs once per commit. The mode is
    stored in the file, so it holds for every process that opens it.
    """
    prefix = "sqlite:///"
    if not database_url.startswith(prefix):
        return
    path = Path(database_url[len(prefix):].split("?", 1)[0])
    if not path.is_file():
        return  # not created yet: `python -m bot.cli setup` creates it
    with closing(sqlite3.connect(path)) as connection:
        connection.execute("PRAGMA journal_mode=WAL")


def clear_host_locks(env: dict[str, str]) -> None:
    """Delete the host-local lock file before Rasa starts: it only holds the tickets of running
    processes, and a crashed run's could hold a conversation for up to a minute."""
    if env.get("LOCK_STORE_TYPE") != HOST_LOCK_STORE:
        return
    path = Path(env["LOCK_STORE_HOST"].removeprefix("sqlite:///"))
    for leftover in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        leftover.unlink(missing_ok=True)


def rasa_readiness(env: dict[str, str]) -> Callable[[], bool]:
    """Empty the directory where each Rasa worker announces it has loaded; count them."""
    directory = VAR / "rasa-ready"
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("worker-*"):
        stale.unlink()
    env["RASA_READY_DIR"] = str(directory)
    workers = int(env.get("SANIC_WORKERS") or 1)
    return lambda: len(list(directory.glob("worker-*"))) >= workers


def children(env: dict[str, str], model: str) -> list[Child]:
    services_python = str(ROOT / ".venv" / "services" / "bin" / "python")
    rasa_python = str(ROOT / ".venv" / "rasa" / "bin" / "python")
    env["RASA_MODEL"] = model
    return [
        Child("action server",
              [services_python, "-m", "rasa_sdk", "--actions", "actions",
               "--port", env["ACTION_SERVER_PORT"]],
              f"http://127.0.0.1:{env['ACTION_SERVER_PORT']}/health"),
        Child("rasa", [rasa_python, str(ROOT / "scripts" / "rasa_server.py")],
              f"http://127.0.0.1:{env['RASA_PORT']}/", all_workers_ready=rasa_readiness(env)),
        Child("web app", [services_python, "-m", "bot.web"],
              f"http://127.0.0.1:{env['WEB_PORT']}/healthz"),
        # SLA breach flags and ticket notifications (proactive messages through Rasa's API).
        Child("ticket worker", [services_python, "-m", "bot.tickets.worker", "--interval", "5"],
              None),
    ]


def is_up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status < 500
    except (urllib.error.URLError, OSError):
        return False


def stop(started: list[Child]) -> None:
    for child in started:
        if child.process and child.process.poll() is None:
            os.killpg(child.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for child in started:
        if child.process is None:
            continue
        try:
            child.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(child.process.pid, signal.SIGKILL)
            child.process.wait()


def wait_until_ready(started: list[Child]) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    pending = list(started)
    while pending:
        for child in list(pending):
            if child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited with code {child.process.returncode}")
            if ((child.health_url is None or is_up(child.health_url))
                    and (child.all_workers_ready is None or child.all_workers_ready())):
                print(f"  {child.name} is up", flush=True)
                pending.remove(child)
        if pending and time.monotonic() > deadline:
            names = ", ".join(c.name for c in pending)
            raise RuntimeError(f"not ready after {READY_TIMEOUT_SECONDS:.0f} s: {names}")
        if pending:
            time.sleep(0.5)  # polling a readiness probe, not synchronising a test


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model archive (default: models/current.txt)")
    parser.add_argument("--dev-signin", action="store_true", help="offer the demo sign-in page")
    args = parser.parse_args()
    model = args.model or (ROOT / "models" / "current.txt").read_text().strip()
    env = stack_environment(args.dev_signin)
    use_sqlite_write_ahead_log(env["HELPDESK_DATABASE_URL"])
    clear_host_locks(env)
    started: list[Child] = []

    def on_signal(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)  # also when started in the background
    began = time.monotonic()
    try:
        for child in children(env, model):
            print(f"starting {child.name}", flush=True)
            child.process = subprocess.Popen(child.command, cwd=ROOT, env=env,
                                             start_new_session=True)
            started.append(child)
        wait_until_ready(started)
        (VAR / "stack.pids.json").write_text(
            json.dumps({child.name: child.process.pid for child in started}))
        web = f"http://localhost:{env['WEB_PORT']}"
        print(f"\nReady in {time.monotonic() - began:.0f} s.\n"
              f"  chat page      {web}/\n"
              f"  health         {web}/healthz\n"
              f"  Rasa HTTP API  {env['RASA_URL']} (loopback, token in var/secrets.env)\n"
              f"  action server  http://127.0.0.1:{env['ACTION_SERVER_PORT']} (loopback)\n"
              "Press Ctrl-C to stop.", flush=True)
        while all(child.process.poll() is None for child in started):
            time.sleep(0.5)
        failed = [c.name for c in started if c.process.poll() is not None]
        print(f"stopping: {', '.join(failed)} exited", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nstopping", flush=True)
        return 0
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        stop(started)


if __name__ == "__main__":
    sys.exit(main())
