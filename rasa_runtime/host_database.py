"""The SQLite file through which the Rasa workers of one host share their locks and claims.

`rasa_runtime.lock_store.SQLiteLockStore` keeps Rasa's conversation locks in it and
`connectors.dedup.SQLiteStore` the channels' "seen this event?" claims, each in a table of its
own: both must be visible to every worker, and neither may need a server on the embedded default.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Optional, Text

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
