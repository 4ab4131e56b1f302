"""The `--production` topology for the benchmark: PostgreSQL, Redis and two Rasa workers.

Throwaway databases on the local PostgreSQL (127.0.0.1:5432, trust auth; `BENCH_POSTGRES_URL`
points elsewhere), one for the helpdesk and one for Rasa's tracker store, dropped afterwards;
the Redis lock store on a database number of its own (`BENCH_REDIS_DB`, default 13), flushed
before and after so no ticket of an earlier run is left.
"""
from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ADMIN_URL = os.environ.get(
    "BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
REDIS_HOST = os.environ.get("BENCH_REDIS_HOST", "127.0.0.1")
REDIS_PORT = os.environ.get("BENCH_REDIS_PORT", "6379")
REDIS_DB = os.environ.get("BENCH_REDIS_DB", "13")
RASA_WORKERS = 2


@dataclass(frozen=True)
class ProductionStores:
    helpdesk_url: str  # psycopg 3 (services runtime)
    tracker_url: str  # psycopg2 (Rasa's SQLAlchemy 1.4)


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
        "LOCK_STORE_DB": REDIS_DB,
        "LOCK_STORE_PASSWORD": "",
        "SANIC_WORKERS": str(RASA_WORKERS),  # Rasa's own variable: worker processes
    }


def _flush_redis() -> None:
    """SELECT + FLUSHDB in Redis's wire protocol (the services runtime has no Redis client)."""
    with socket.create_connection((REDIS_HOST, int(REDIS_PORT)), timeout=5) as connection:
        connection.sendall(f"SELECT {int(REDIS_DB)}\r\nFLUSHDB\r\n".encode("ascii"))
        answer = b""
        while answer.count(b"\r\n") < 2:
            chunk = connection.recv(1024)
            if not chunk:
                break
            answer += chunk
    if answer != b"+OK\r\n+OK\r\n":
        raise RuntimeError(f"Redis at {REDIS_HOST}:{REDIS_PORT} did not flush: {answer[:80]!r}")


@contextmanager
def stores(enabled: bool) -> Iterator[ProductionStores | None]:
    """Create two uniquely named databases, yield their URLs, drop them (and flush Redis)."""
    if not enabled:
        yield None
        return
    suffix = uuid.uuid4().hex[:10]
    names = (f"bench_helpdesk_{suffix}", f"bench_tracker_{suffix}")
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    base = make_url(POSTGRES_ADMIN_URL)
    try:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'CREATE DATABASE "{name}"'))
        _flush_redis()
        yield ProductionStores(
            helpdesk_url=base.set(database=names[0]).render_as_string(hide_password=False),
            tracker_url=base.set(drivername="postgresql", database=names[1])
            .render_as_string(hide_password=False))
    finally:
        with admin.connect() as connection:
            for name in names:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
        _flush_redis()
