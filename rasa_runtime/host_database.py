"""The SQLite file through which the Rasa workers of one host share their locks and claims.

`rasa_runtime.lock_store.SQLiteLockStore` keeps Rasa's conversation locks in it and
`connectors.dedup.SQLiteStore` the channels' "seen this event?" claims, each in a table of its
own: both must be visible to every worker, and neither may need a server on the embedded default.
"""
from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Optional, Text, Tuple

BUSY_TIMEOUT_SECONDS = 5.0


def database_path(url: Optional[Text]) -> Path:
    """The file that a `url` of `sqlite:///path` or a plain path names."""
    if not url or not str(url).strip():
        raise ValueError("the host-local store needs its file's path (LOCK_STORE_HOST)")
    text = str(url).strip()
    return Path(text[len("sqlite:///"):] if text.startswith("sqlite:///") else text)


def open_database(path: Path, schema: Text) -> sqlite3.Connection:
    """An autocommit connection in WAL mode that waits for another process's write.

    `synchronous=NORMAL`: a commit does not wait for the disk. What these tables hold is only
    meaningful while the processes run, and WAL keeps the file consistent after a power cut.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    connection = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                                 timeout=BUSY_TIMEOUT_SECONDS)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute(schema)
    return connection


class HostDatabase:
    """One table's use of the host file: a connection per process, one statement at a time.

    A connection must not cross a fork, and Sanic forks its workers after the channels (and
    possibly a store) were built: each process opens its own on first use.
    """

    def __init__(self, url: Optional[Text], schema: Text) -> None:
        self.path = database_path(url)
        self._schema = schema
        self._guard = threading.Lock()
        self._connection: Optional[sqlite3.Connection] = None
        self._pid = -1

    def _connect(self) -> sqlite3.Connection:
        if self._connection is None or self._pid != os.getpid():
            self._connection = open_database(self.path, self._schema)
            self._pid = os.getpid()
        return self._connection

    def open(self) -> None:
        """Open this process's connection now (to fail at start-up, not on first use)."""
        with self._guard:
            self._connect()

    def execute(self, sql: Text, parameters: Tuple[object, ...] = ()) -> sqlite3.Cursor:
        with self._guard:
            return self._connect().execute(sql, parameters)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, holding the file's write lock from its first read."""
        with self._guard:
            connection = self._connect()
            connection.execute("BEGIN IMMEDIATE")
            try:
                yield connection
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
