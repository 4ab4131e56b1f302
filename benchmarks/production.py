"""The `--production` topology for the benchmark: PostgreSQL, Redis, RabbitMQ, two Rasa
workers and two action servers.

Throwaway databases on the local PostgreSQL (127.0.0.1:5432, trust auth; `BENCH_POSTGRES_URL`
points elsewhere), one for the helpdesk and one for Rasa's tracker store, dropped afterwards;
the Redis lock store on a database number of its own (`BENCH_REDIS_DB`, default 13; a second
stack of the same run, stock Rasa's, takes the next number), flushed before and after so no
ticket of an earlier run is left; Rasa's pika event broker on the local RabbitMQ
(`BENCH_AMQP_URL`, default the loopback guest account) with an exchange and a queue named for
the run, deleted afterwards.
"""
from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_HOST = os.environ.get("BENCH_REDIS_HOST", "127.0.0.1")
REDIS_PORT = os.environ.get("BENCH_REDIS_PORT", "6379")
REDIS_DB = os.environ.get("BENCH_REDIS_DB", "13")
AMQP_URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
RASA_WORKERS = 2
ACTION_SERVERS = 2  # the action server's Sanic workers: two processes on one port


@dataclass(frozen=True)
class ProductionStores:
    helpdesk_url: str  # psycopg 3 (services runtime)
    tracker_url: str  # psycopg2 (Rasa's SQLAlchemy 1.4)
    redis_db: str = REDIS_DB
    broker_queue: str = "helpdesk-insight"
    broker_exchange: str = "rasa-exchange"

    @property
    def database_names(self) -> tuple[str, str]:
        return (make_url(self.helpdesk_url).database, make_url(self.tracker_url).database)


def environment(stores: ProductionStores | None) -> dict[str, str]:
    """Variables that switch the stack to the production stores (none: embedded defaults)."""
    if stores is None:
        return {}
    return {
        "HELPDESK_DATABASE_URL": stores.helpdesk_url,
        "TRACKER_STORE_URL": stores.tracker_url,
        "LOCK_STORE_TYPE": "redis",
        "LOCK_STORE_HOST": REDIS_HOST,
        "LOCK_STORE_PORT": REDIS_PORT,
        "LOCK_STORE_DB": stores.redis_db,
        "LOCK_STORE_PASSWORD": "",
        "SANIC_WORKERS": str(RASA_WORKERS),  # Rasa's own variable: worker processes
        "ACTION_SERVER_SANIC_WORKERS": str(ACTION_SERVERS),
        "ACTION_SERVER_START_SECONDS": os.environ.get("STACK_READY_TIMEOUT", "600"),
        # Each Sanic worker would start the action server's metrics listener on the one port
        # and the second could not bind it (the action server then stops: found here). On a
        # cluster each replica is a container of its own; on one host the listener is off.
        "ACTION_METRICS_PORT": "",
        "EVENT_BROKER_URL": AMQP_URL,
        "EVENT_BROKER_QUEUE": stores.broker_queue,
        "EVENT_BROKER_EXCHANGE": stores.broker_exchange,
    }


def _flush_redis(db: str = REDIS_DB) -> None:
    """SELECT + FLUSHDB in Redis's wire protocol (the services runtime has no Redis client)."""
    with socket.create_connection((REDIS_HOST, int(REDIS_PORT)), timeout=5) as connection:
        connection.sendall(f"SELECT {int(db)}\r\nFLUSHDB\r\n".encode("ascii"))
        answer = b""
        while answer.count(b"\r\n") < 2:
            chunk = connection.recv(1024)
            if not chunk:
                break
            answer += chunk
    if answer != b"+OK\r\n+OK\r\n":
        raise RuntimeError(f"Redis at {REDIS_HOST}:{REDIS_PORT} did not flush: {answer[:80]!r}")


def _delete_broker_objects(queue: str, exchange: str) -> None:
    """The run's queue and exchange on RabbitMQ, gone (nothing of a run is left behind)."""
    import pika

    connection = pika.BlockingConnection(pika.URLParameters(AMQP_URL))
    try:
        channel = connection.channel()
        channel.queue_delete(queue)
        channel.exchange_delete(exchange)
    finally:
        connection.close()


def database_pids(stores: ProductionStores | None) -> list[int]:
    """PostgreSQL's server processes serving the run's two databases (its backends), for
    their CPU time; none for the embedded stores (SQLite runs inside the processes)."""
    if stores is None:
        return []
    admin = create_engine(POSTGRES_ADMIN_URL)
    try:
        with admin.connect() as connection:
            return [int(pid) for pid in connection.execute(
                text("SELECT pid FROM pg_stat_activity WHERE datname = ANY(:names)"),
                {"names": list(stores.database_names)}).scalars()]
    finally:
        admin.dispose()


# The machine's shared servers (not started by the benchmark): their CPU time is the whole
# server's, other users' work included, so it is reported apart from the stack's.
SHARED_SERVERS = {"redis": "redis-server", "rabbitmq": "beam.smp"}


def shared_server_pids() -> dict[str, list[int]]:
    """The processes of Redis and RabbitMQ on this machine, by their command name."""
    found: dict[str, list[int]] = {name: [] for name in SHARED_SERVERS}
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        try:
            command = (process / "comm").read_text().strip()
        except OSError:
            continue
        for name, expected in SHARED_SERVERS.items():
            if command == expected:
                found[name].append(int(process.name))
    return found


@contextmanager
def stores(enabled: bool, redis_db: str = REDIS_DB) -> Iterator[ProductionStores | None]:
    """Create two uniquely named databases (and a RabbitMQ queue and exchange), yield their
    URLs, drop them (and flush Redis, delete the queue and the exchange)."""
    if not enabled:
        yield None
        return
    suffix = uuid.uuid4().hex[:10]
    queue, exchange = f"bench-insight-{suffix}", f"bench-events-{suffix}"
    names = (f"bench_helpdesk_{suffix}", f"bench_tracker_{suffix}")
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    base = make_url(POSTGRES_ADMIN_URL)
    try:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        _flush_redis(redis_db)
        yield ProductionStores(
            helpdesk_url=base.set(database=names[0]).render_as_string(hide_password=False),
            tracker_url=base.set(drivername="postgresql", database=names[1])
            .render_as_string(hide_password=False),
            redis_db=redis_db, broker_queue=queue, broker_exchange=exchange)
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        _flush_redis(redis_db)
        _delete_broker_objects(queue, exchange)
