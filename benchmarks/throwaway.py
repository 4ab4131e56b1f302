"""Throwaway PostgreSQL, Redis and RabbitMQ servers for the soak and its faults.

Each server is started from this machine's binaries in a temporary directory, on a port taken
with `scripts.stack_process.free_port` (inside HELPDESK_PORT_RANGE when that is set), never the
machine's shared instances: the fault runs restart them. `restart()` stops the server the way
its container would be stopped and starts it again on the same port and data; the caller
measures how long the stack takes to serve again.

Readiness is polled (TCP accept, and for PostgreSQL `pg_ctl -w`), each with a deadline.
"""
from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from scripts.stack_process import free_port

START_TIMEOUT_SECONDS = 60.0


class ServerDidNotStart(RuntimeError):
    """A throwaway server did not accept connections in time; the message holds its log."""


def _binary(name: str, *extra_dirs: str) -> str:
    found = shutil.which(name) or next(
        (str(Path(d) / name) for d in extra_dirs if (Path(d) / name).exists()), None)
    if found is None:
        raise ServerDidNotStart(f"{name} is not installed on this machine")
    return found


def wait_for_port(port: int, process: subprocess.Popen | None, log: Path,
                  timeout: float = START_TIMEOUT_SECONDS) -> None:
    """Return once 127.0.0.1:port accepts a connection; raise if the process exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise ServerDidNotStart(f"exited with {process.returncode}:\n{_tail(log)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)  # polling a server's readiness, with a deadline
    raise ServerDidNotStart(f"port {port} not open after {timeout:.0f} s:\n{_tail(log)}")


def _tail(log: Path, lines: int = 20) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.exists() else ""


def _stop_group(process: subprocess.Popen | None, grace: float = 20.0) -> None:
    if process is None or process.poll() is not None:
        return
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


@dataclass
class Postgres:
    """A PostgreSQL cluster of its own (initdb), trust authentication on 127.0.0.1 only.

    PostgreSQL refuses to run as root: as root the cluster belongs to the `postgres` user.
    """

    directory: Path
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.data = self.directory / "data"
        self.log = self.directory / "postgres.log"
        bindir = "/usr/lib/postgresql"
        extra = sorted((str(p / "bin") for p in Path(bindir).glob("*")), reverse=True) \
            if Path(bindir).exists() else []
        self._initdb = _binary("initdb", *extra)
        self._pg_ctl = _binary("pg_ctl", *extra)
        self._user: list[str] = []
        if os.geteuid() == 0:
            pwd.getpwnam("postgres")
            self._user = ["runuser", "-u", "postgres", "--"]
            shutil.chown(self.directory, "postgres")

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run([*self._user, *args], capture_output=True, text=True)
        if check and done.returncode != 0:
            raise ServerDidNotStart(f"{Path(args[0]).name}: {done.stderr.strip()[-2000:]}")
        return done

    def start(self) -> None:
        if not self.data.exists():
            self._run(self._initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust",
                      "--no-sync", "-E", "UTF8")
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} "
                   "-c fsync=off -c max_connections=200 -c shared_buffers=64MB")
        done = self._run(self._pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w",
                         "-t", str(int(START_TIMEOUT_SECONDS)), "-o", options, "start",
                         check=False)
        if done.returncode != 0:
            raise ServerDidNotStart(f"pg_ctl start: {done.stderr}\n{_tail(self.log)}")

    def stop(self, mode: str = "fast") -> None:
        self._run(self._pg_ctl, "-D", str(self.data), "-m", mode, "-w", "stop", check=False)

    def restart(self) -> None:
        """As a database container restart does: connections are cut (fast shutdown)."""
        self.stop("fast")
        self.start()

    def url(self, database: str, driver: str = "psycopg") -> str:
        scheme = f"postgresql+{driver}" if driver else "postgresql"
        return f"{scheme}://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> None:
        done = self._run("psql", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
                         "-d", "postgres", "-v", "ON_ERROR_STOP=1", "-c",
                         f'CREATE DATABASE "{name}"', check=False)
        if done.returncode != 0:
            raise RuntimeError(f"CREATE DATABASE {name}: {done.stderr}")


@dataclass
class Redis:
    """redis-server with no persistence: a restart loses every lock, as a new pod would."""

    directory: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.log = self.directory / "redis.log"
        self._binary = _binary("redis-server")

    def start(self) -> None:
        with self.log.open("a") as output:
            self.process = subprocess.Popen(
                [self._binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.directory)],
                stdout=output, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port, self.process, self.log)

    def stop(self) -> None:
        _stop_group(self.process)

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class RabbitMQ:
    """A RabbitMQ node of its own (node name, ports, data and logs in its directory)."""

    directory: Path
    port: int = field(default_factory=free_port)
    dist_port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def __post_init__(self) -> None:
        self.log = self.directory / "rabbitmq.log"
        self._binary = _binary("rabbitmq-server", "/usr/lib/rabbitmq/bin")
        if Path("/usr/lib/rabbitmq/bin/rabbitmq-server").exists():
            # The /usr/sbin wrapper switches users; the node's own script runs as we are.
            self._binary = "/usr/lib/rabbitmq/bin/rabbitmq-server"
        (self.directory / "enabled_plugins").write_text("[].\n")
        (self.directory / "rabbitmq.conf").write_text(
            f"loopback_users = none\nlisteners.tcp.default = 127.0.0.1:{self.port}\n")

    @property
    def url(self) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/%2F"

    def start(self) -> None:
        d = self.directory
        env = {**os.environ, "HOME": str(d),
               "RABBITMQ_NODENAME": f"soak{self.port}@localhost",
               "RABBITMQ_NODE_IP_ADDRESS": "127.0.0.1",
               "RABBITMQ_NODE_PORT": str(self.port), "RABBITMQ_DIST_PORT": str(self.dist_port),
               "RABBITMQ_MNESIA_BASE": str(d / "mnesia"), "RABBITMQ_LOG_BASE": str(d / "log"),
               "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"),
               "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq"),
               "RABBITMQ_PID_FILE": str(d / "rabbitmq.pid")}
        with self.log.open("a") as output:
            self.process = subprocess.Popen([self._binary], env=env, stdout=output,
                                            stderr=subprocess.STDOUT, start_new_session=True)
        wait_for_port(self.port, self.process, self.log)

    def stop(self) -> None:
        _stop_group(self.process, grace=30.0)

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class ProductionServers:
    postgres: Postgres
    redis: Redis
    rabbitmq: RabbitMQ

    def environment(self, rasa_workers: int = 2) -> dict[str, str]:
        """The production stores, as docker-compose.yml and kubernetes/ configure them."""
        return {
            "HELPDESK_DATABASE_URL": self.postgres.url("helpdesk"),
            "TRACKER_STORE_URL": self.postgres.url("rasa_tracker", driver=""),
            "LOCK_STORE_TYPE": "redis",
            "LOCK_STORE_HOST": "127.0.0.1",
            "LOCK_STORE_PORT": str(self.redis.port),
            "LOCK_STORE_DB": "1",
            "LOCK_STORE_PASSWORD": "",
            "EVENT_BROKER_URL": self.rabbitmq.url,
            "SANIC_WORKERS": str(rasa_workers),
        }


@contextmanager
def production_servers() -> Iterator[ProductionServers]:
    """PostgreSQL (databases helpdesk and rasa_tracker), Redis and RabbitMQ, all throwaway."""
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="soak-servers-")))
        root.chmod(0o755)  # PostgreSQL's own user (as root: `postgres`) must reach its directory
        parts = []
        for kind in (Postgres, Redis, RabbitMQ):
            directory = root / kind.__name__.lower()
            directory.mkdir()
            server = kind(directory)
            server.start()
            stack.callback(server.stop)
            parts.append(server)
        postgres = parts[0]
        for name in ("helpdesk", "rasa_tracker"):
            postgres.create_database(name)
        yield ProductionServers(*parts)
