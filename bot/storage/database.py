"""The database handle: one engine per process, one short session per unit of work."""
from __future__ import annotations

import logging
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from . import audit_chain

log = logging.getLogger(__name__)

# Audit events reach the database only through the hash chain (see audit_chain).
audit_chain.install()


# How long a writer waits for SQLite's one write lock. Five processes share the embedded file;
# the insight consumer's batch (bot.insight.consumer.BATCH) is the longest holder. 5 s was
# exceeded on a machine at load 18 (a console sign-in answered 500 "database is locked");
# waiting longer is the better failure on a machine that busy.
SQLITE_BUSY_TIMEOUT_MS = 15_000


def _enable_sqlite_foreign_keys(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.close()


def build_engine(url: str) -> Engine:
    """Create an engine for `url`, with foreign keys enforced on SQLite."""
    engine = create_engine(url, pool_pre_ping=True)
    if make_url(url).get_backend_name() == "sqlite":
        event.listen(engine, "connect", _enable_sqlite_foreign_keys)
    return engine


# A unit of work this long holds SQLite's one write lock (if it wrote) while every other
# writer waits: logged with its caller so that a "database is locked" can be traced to it.
SLOW_UNIT_OF_WORK_SECONDS = 2.0


def _log_slow(seconds: float) -> None:
    frames = [f for f in traceback.extract_stack(limit=8)[:-3] if "contextlib" not in f.filename]
    caller = frames[-1] if frames else None
    where = f"{Path(caller.filename).stem}.{caller.name}" if caller else "unknown"
    log.warning("storage.unit_of_work.slow seconds=%.1f caller=%s", seconds, where)


class Database:
    """Owns the engine; hands out sessions that commit on success and roll back on error.

    Create one per process (it is lazy: no connection is made until the first unit of work).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = build_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def unit_of_work(self) -> Iterator[Session]:
        started = time.monotonic()
        try:
            with self._sessions.begin() as session:
                yield session
        finally:
            seconds = time.monotonic() - started
            if seconds >= SLOW_UNIT_OF_WORK_SECONDS:
                _log_slow(seconds)

    def dispose(self) -> None:
        self.engine.dispose()
