"""Run the whole assistant on this machine: action server, Rasa server and web app.

Embedded defaults (SQLite helpdesk database and tracker store; two Rasa workers sharing a
SQLite lock store on this host), every HTTP surface bound to 127.0.0.1, secrets generated once into var/secrets.env. Any variable
already in the environment wins, which is how production stores are configured. Ctrl-C (or
SIGTERM) stops every child process; so does the exit of any one of them.

With --logs DIR each process writes its output to DIR/<process>.log and this terminal shows
only progress, the addresses and anything that stops the stack (`make run` does this, into
var/logs); without it every process writes here (the tests and the benchmark read that).

Usage: python scripts/stack.py [--model models/x.tar.gz] [--dev-signin] [--logs DIR] [--restart]
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
from typing import IO, Callable

ROOT = Path(__file__).resolve().parent.parent
VAR = Path(os.environ.get("HELPDESK_VAR_DIR") or ROOT / "var")
SECRETS_FILE = VAR / "secrets.env"
SECRET_NAMES = ("RASA_AUTH_TOKEN", "WIDGET_TOKEN_SECRET", "ACTION_SERVER_TOKEN",
                "HELPDESK_PRINCIPAL_KEY", "RELAY_CONSOLE_KEY", "RELAY_TICKETS_KEY",
                "RELAY_RECORDS_KEY")
# Which process holds which secret, and no other (docs/security.md has why); docker-compose.yml
# and kubernetes/ give each container the same.
SECRETS_OF = {
    "rasa": ("RASA_AUTH_TOKEN", "WIDGET_TOKEN_SECRET", "ACTION_SERVER_TOKEN",
             "HELPDESK_PRINCIPAL_KEY", "RELAY_CONSOLE_KEY", "RELAY_TICKETS_KEY",
             "RELAY_RECORDS_KEY"),
    "action server": ("ACTION_SERVER_TOKEN", "HELPDESK_PRINCIPAL_KEY", "RELAY_RECORDS_KEY"),
    "web app": ("WIDGET_TOKEN_SECRET", "RELAY_CONSOLE_KEY"),
    "ticket worker": ("RELAY_TICKETS_KEY",),
    "insight consumer": (),
}
# Secrets a deployment may set and make run never generates: each, when set, goes to the one
# process that uses it, like the generated ones (docs/security.md).
OPTIONAL_SECRETS_OF = {
    "rasa": ("TEAMS_APP_PASSWORD", "SLACK_SIGNING_SECRET", "SLACK_BOT_TOKEN",
             "LOCK_STORE_PASSWORD"),
    "action server": ("ORACLE_HCM_CLIENT_SECRET", "ORACLE_ERP_CLIENT_SECRET", "SF_PRIVATE_KEY"),
    "web app": ("ENTRA_CLIENT_SECRET",),
    "ticket worker": ("NOTIFY_API_KEY",),
    "insight consumer": (),
}
PRIVATE = frozenset(SECRET_NAMES).union(*OPTIONAL_SECRETS_OF.values())
# Rasa loads its model in about 100 s on an idle 2-core machine, many minutes on a busy one.
READY_TIMEOUT_SECONDS = float(os.environ.get("STACK_READY_TIMEOUT", "600"))
STOP_GRACE_SECONDS = 10
PROGRESS_SECONDS = 30
HOST_LOCK_STORE = "rasa_runtime.lock_store.SQLiteLockStore"
WORKER_HEARTBEAT = "ticket-worker.alive"  # touched after each good pass of the worker


@dataclass
class Child:
    name: str
    command: list[str]
    health_url: str | None  # None: up as soon as it runs (a worker with no HTTP surface)
    process: subprocess.Popen | None = None
    # Rasa: up when every worker has loaded its model (scripts/rasa_server.py's marker files).
    all_workers_ready: Callable[[], bool] | None = None
    # Variables of this child only (its own internal metrics port, its own secrets).
    own_env: dict[str, str] | None = None
    log: Path | None = None  # where its output goes (None: this process's own output)

    def start(self, env: dict[str, str], logs: Path | None) -> None:
        output: IO[bytes] | None = None
        if logs is not None:
            self.log = logs / f"{self.name.replace(' ', '-')}.log"
            output = self.log.open("wb")
        # Every secret is taken out of the shared environment; the child gets its own back.
        shared = {name: value for name, value in env.items() if name not in PRIVATE}
        try:
            self.process = subprocess.Popen(self.command, cwd=ROOT,
                                            env={**shared, **(self.own_env or {})}, stdout=output,
                                            stderr=subprocess.STDOUT if output else None,
                                            start_new_session=True)
        finally:
            if output is not None:
                output.close()  # the child has its own copy of the file

    def last_words(self, lines: int = 30) -> str:
        """The end of its log (for a process that stopped), or nothing without a log."""
        if self.log is None or not self.log.exists():
            return ""
        tail = self.log.read_text(errors="replace").splitlines()[-lines:]
        return "\n".join([f"--- the end of {self.log}:", *tail])


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
        # Service insight: Rasa's SQL event broker in its own file; "off" for none (benchmark),
        # amqp://... for RabbitMQ. The consumer reads it into the helpdesk database.
        "EVENT_BROKER_URL": f"sqlite:///{VAR / 'rasa_events.db'}",
        "EVENT_BROKER_QUEUE": "helpdesk-insight",
        "EVENT_BROKER_EXCHANGE": "rasa-exchange",
        # Prometheus metrics, each process on its own loopback port (never the web app's).
        "WEB_METRICS_PORT": "9101",
        "ACTION_METRICS_PORT": "9102",
        "WORKER_METRICS_PORT": "9103",
        "INSIGHT_METRICS_PORT": "9104",
        # Teams and Slack channels: off (503) unless all of a channel's values are set.
        "TEAMS_APP_ID": "",
        "TEAMS_APP_PASSWORD": "",
        "TEAMS_TENANT_ID": "",
        # Sign-in with Entra ID (bot/signin): off unless all three identifiers are set.
        "ENTRA_TENANT_ID": "",
        "SLACK_SIGNING_SECRET": "",
        "SLACK_BOT_TOKEN": "",
        "SLACK_TEAM_ID": "",
        # Their endpoints: empty = Microsoft's and Slack's public services (set for test fakes).
        "TEAMS_OPENID_METADATA_URL": "",
        "TEAMS_AUTHORITY_HOST": "",
        "SLACK_API_URL": "",
        "SLACK_EMAIL_IDENTITY": "",
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

    def own(name: str, metrics_port: str | None = None) -> dict[str, str]:
        """The child's secrets (SECRETS_OF, and those of OPTIONAL_SECRETS_OF that are set) and
        its internal metrics port."""
        variables = {secret: env[secret] for secret in SECRETS_OF[name]}
        variables.update({secret: env[secret] for secret in OPTIONAL_SECRETS_OF[name]
                          if secret in env})
        if metrics_port:
            variables["METRICS_PORT"] = env[metrics_port]
        return variables

    return [
        Child("action server",
              [services_python, str(ROOT / "scripts" / "action_server.py"), "--actions", "actions",
               "--port", env["ACTION_SERVER_PORT"]],
              f"http://127.0.0.1:{env['ACTION_SERVER_PORT']}/health",
              own_env=own("action server", "ACTION_METRICS_PORT")),
        Child("rasa", [rasa_python, str(ROOT / "scripts" / "rasa_server.py")],
              f"http://127.0.0.1:{env['RASA_PORT']}/", all_workers_ready=rasa_readiness(env),
              own_env=own("rasa")),
        Child("web app", [services_python, "-m", "bot.web"],
              f"http://127.0.0.1:{env['WEB_PORT']}/healthz",
              own_env=own("web app", "WEB_METRICS_PORT")),
        # SLA breach flags and ticket notifications (through Rasa's relay channel).
        Child("ticket worker", [services_python, "-m", "bot.ticket_worker", "--interval", "5",
                                "--heartbeat", str(VAR / WORKER_HEARTBEAT)],
              None, own_env=own("ticket worker", "WORKER_METRICS_PORT")),
    ] + ([] if env.get("INSIGHT_CONSUMER") == "external" else [
        # Conversation facts from Rasa's event broker (bot/insight/consumer.py);
        # INSIGHT_CONSUMER=external leaves it to the caller (the insight week's fault runs).
        Child("insight consumer", [services_python, "-m", "bot.insight.consumer"], None,
              own_env=own("insight consumer", "INSIGHT_METRICS_PORT")),
    ])


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


def wait_until_ready(started: list[Child], began: float) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    next_note = time.monotonic() + PROGRESS_SECONDS
    pending = list(started)
    while pending:
        for child in list(pending):
            if child.process.poll() is not None:
                raise RuntimeError(f"{child.name} exited with code {child.process.returncode}\n"
                                   f"{child.last_words()}".rstrip())
            if ((child.health_url is None or is_up(child.health_url))
                    and (child.all_workers_ready is None or child.all_workers_ready())):
                print(f"  {child.name} is up ({time.monotonic() - began:.0f} s)", flush=True)
                pending.remove(child)
        now = time.monotonic()
        if pending and now > deadline:
            names = ", ".join(c.name for c in pending)
            raise RuntimeError(f"not ready after {READY_TIMEOUT_SECONDS:.0f} s: {names}")
        if pending and now >= next_note:  # Rasa loading its model takes a minute or more
            names = ", ".join(c.name for c in pending)
            print(f"  waiting for {names} ({now - began:.0f} s)", flush=True)
            next_note = now + PROGRESS_SECONDS
        if pending:
            time.sleep(0.5)  # polling a readiness probe, not synchronising a test


def display(path: Path) -> str:
    """A path relative to the repository when it is inside it."""
    resolved = path.resolve()
    return str(resolved.relative_to(ROOT)) if resolved.is_relative_to(ROOT) else str(path)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=None, help="model archive (default: models/current.txt)")
    parser.add_argument("--dev-signin", action="store_true", help="offer the demo sign-in page")
    parser.add_argument("--logs", type=Path, default=None,
                        help="write each process's output to LOGS/<process>.log")
    parser.add_argument("--restart", action="store_true",
                        help="start a process that exits again instead of stopping the stack "
                             "(as the containers' restart policy does; the soak's fault runs)")
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
        if args.logs is not None:
            args.logs.mkdir(parents=True, exist_ok=True)
        for child in children(env, model):
            print(f"starting {child.name}", flush=True)
            child.start(env, args.logs)
            started.append(child)
        wait_until_ready(started, began)
        (VAR / "stack.pids.json").write_text(
            json.dumps({child.name: child.process.pid for child in started}))
        web = f"http://localhost:{env['WEB_PORT']}"
        print(f"\nReady in {time.monotonic() - began:.0f} s.\n"
              f"  chat page      {web}/\n"
              f"  health         {web}/healthz\n"
              f"  Rasa HTTP API  {env['RASA_URL']} (loopback, token in var/secrets.env)\n"
              f"  action server  http://127.0.0.1:{env['ACTION_SERVER_PORT']} (loopback)\n"
              + (f"  logs           {display(args.logs)}/*.log\n" if args.logs else "")
              + "Press Ctrl-C to stop.", flush=True)
        pids = VAR / "stack.pids.json"
        while all(child.process.poll() is None for child in started) or args.restart:
            for child in started:
                if args.restart and child.process.poll() is not None:
                    # As docker-compose's `restart: unless-stopped` and Kubernetes do.
                    print(f"restarting {child.name} (exited with {child.process.returncode})",
                          flush=True)
                    child.start(env, args.logs)
                    pids.write_text(json.dumps({c.name: c.process.pid for c in started}))
            time.sleep(0.5)
        failed = [c for c in started if c.process.poll() is not None]
        print(f"stopping: {', '.join(c.name for c in failed)} exited", file=sys.stderr)
        for child in failed:
            print(child.last_words(), file=sys.stderr)
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
