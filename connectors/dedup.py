"""A small shared store for the channels: "seen this event?" claims and short-lived values.

Slack retries an event up to three times (and an attacker may replay a signed request within
the five-minute window); Bot Framework may redeliver an activity. Each event must become one
user message, across all Rasa replicas, so the claim lives where every replica sees it:

- `InMemoryStore` for one Rasa process (the in-memory lock store);
- `SQLiteStore` for the embedded default: the Rasa workers of one host, in the SQLite file of
  their lock store (`rasa_runtime.lock_store.SQLiteLockStore`);
- `RedisStore` for production (several replicas, the same Redis as the lock store).

The same store keeps conversation references (where to send a proactive reply) for a while.
Keys are namespaced with a prefix; values are short strings (JSON), never message text.
"""
from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from typing import Callable, Dict, Optional, Protocol, Sequence, Text, Tuple

from rasa_runtime.host_database import HostDatabase

logger = logging.getLogger(__name__)

DEFAULT_PREFIX = "helpdesk:channels:"


class SharedStore(Protocol):
    async def claim(self, key: Text, ttl_seconds: int) -> bool:
        """True for the first caller of `key` within `ttl_seconds`, False for every later one."""

    async def put(self, key: Text, value: Text, ttl_seconds: int) -> None:
        """Store `value` under `key` for `ttl_seconds`."""

    async def get(self, key: Text) -> Optional[Text]:
        """The value stored under `key`, or None when absent or expired."""


class InMemoryStore:
    """One process only. Expired entries are dropped lazily, so memory stays bounded by TTL."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: Dict[Text, Tuple[float, Text]] = {}
        self._next_sweep = 0.0

    def _sweep(self, now: float) -> None:
        if now < self._next_sweep:
            return
        self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
        self._next_sweep = now + 60

    def _live(self, key: Text, now: float) -> Optional[Text]:
        entry = self._entries.get(key)
        if entry is None or entry[0] <= now:
            return None
        return entry[1]

    async def claim(self, key: Text, ttl_seconds: int) -> bool:
        now = self._clock()
        self._sweep(now)
        if self._live(key, now) is not None:
            return False
        self._entries[key] = (now + ttl_seconds, "1")
        return True

    async def put(self, key: Text, value: Text, ttl_seconds: int) -> None:
        now = self._clock()
        self._sweep(now)
        self._entries[key] = (now + ttl_seconds, value)

    async def get(self, key: Text) -> Optional[Text]:
        return self._live(key, self._clock())


class RedisStore:
    """Redis (`SET key value NX EX ttl`): atomic across every replica that shares the server."""

    def __init__(self, host: Text, port: int, db: int, password: Optional[Text],
                 prefix: Text = DEFAULT_PREFIX) -> None:
        self._prefix = prefix
        self._options = dict(host=host, port=port, db=db, password=password or None,
                             socket_timeout=5, socket_connect_timeout=5)
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._redis = None

    def _client(self):  # type: ignore[no-untyped-def]
        """A client for the running loop (a redis.asyncio pool belongs to one event loop).

        Rasa runs one loop per process, so this creates one client; tests may use several.
        """
        import redis.asyncio as redis  # imported here: the embedded default never needs it

        loop = asyncio.get_running_loop()
        if self._redis is None or self._loop is not loop:
            self._redis = redis.Redis(**self._options)
            self._loop = loop
        return self._redis

    async def claim(self, key: Text, ttl_seconds: int) -> bool:
        return bool(await self._client().set(self._prefix + key, b"1", nx=True, ex=ttl_seconds))

    async def put(self, key: Text, value: Text, ttl_seconds: int) -> None:
        await self._client().set(self._prefix + key, value.encode(), ex=ttl_seconds)

    async def get(self, key: Text) -> Optional[Text]:
        raw = await self._client().get(self._prefix + key)
        return None if raw is None else raw.decode()


class SQLiteStore:
    """A table in the host's lock-store file: atomic across the processes that open it."""

    _SCHEMA = ("CREATE TABLE IF NOT EXISTS channel_claims "
               "(key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL NOT NULL)")
    SWEEP_SECONDS = 60.0

    def __init__(self, path: Text, prefix: Text = DEFAULT_PREFIX,
                 clock: Callable[[], float] = time.time) -> None:
        self._database = HostDatabase(path, self._SCHEMA)
        self.path = self._database.path
        self._prefix = prefix
        self._clock = clock  # wall time: shared by every process, unlike a monotonic clock
        self._next_sweep = 0.0

    def _execute(self, sql: Text, parameters: Tuple[object, ...]) -> sqlite3.Cursor:
        return self._database.execute(sql, parameters)

    def _sweep(self, now: float) -> None:
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_SECONDS
            self._execute("DELETE FROM channel_claims WHERE expires <= ?", (now,))

    async def claim(self, key: Text, ttl_seconds: int) -> bool:
        now = self._clock()
        self._sweep(now)
        # One statement: a new key, or an expired one taken over; a live key is left alone.
        cursor = self._execute(
            "INSERT INTO channel_claims (key, value, expires) VALUES (?, '1', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = '1', expires = excluded.expires "
            "WHERE channel_claims.expires <= ?",
            (self._prefix + key, now + ttl_seconds, now))
        return cursor.rowcount == 1

    async def put(self, key: Text, value: Text, ttl_seconds: int) -> None:
        now = self._clock()
        self._sweep(now)
        self._execute(
            "INSERT INTO channel_claims (key, value, expires) VALUES (?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires",
            (self._prefix + key, value, now + ttl_seconds))

    async def get(self, key: Text) -> Optional[Text]:
        row = self._execute("SELECT value FROM channel_claims WHERE key = ? AND expires > ?",
                            (self._prefix + key, self._clock())).fetchone()
        return None if row is None else str(row[0])


class Ingestion:
    """At-least-once ingestion with exactly-once effect, on a `SharedStore`.

    A platform's delivery first takes a *lease* on each of its ids (`begin`): a claim that
    expires after `lease_seconds`. Only once the message has been handled are the ids marked
    done for `done_seconds` (`finish`). So a retry of a handled message is acknowledged and
    dropped; a retry while another process still works on it is told to come back later; and a
    lease left by a process that crashed before handling expires, so the platform's next retry
    is taken and handled, once. The lease outlasts any handling (Rasa gives an action 300 s at
    most per call; a turn is seconds) and ends before Slack's last retry (about 6 minutes after
    the event).
    """

    NEW, DONE, BUSY = "new", "done", "busy"

    def __init__(self, store: SharedStore, lease_seconds: int = 240,
                 done_seconds: int = 2 * 3600) -> None:
        self.store = store
        self.lease_seconds = lease_seconds
        self.done_seconds = done_seconds

    async def begin(self, keys: Sequence[Text]) -> Text:
        """NEW (every id leased to this caller), DONE (handled before) or BUSY (in hand)."""
        taken = [key for key in keys if not await self.store.claim(key, self.lease_seconds)]
        if not taken:
            return self.NEW
        states = [await self.store.get(key) for key in taken]
        if any(state == DONE_VALUE for state in states):
            await self.finish(keys)  # one of its ids was handled: the message was
            return self.DONE
        return self.BUSY

    async def finish(self, keys: Sequence[Text]) -> None:
        for key in keys:
            await self.store.put(key, DONE_VALUE, self.done_seconds)


DONE_VALUE = "done"

# LOCK_STORE_TYPE of the host-local lock store (endpoints.yml), lower case as compared below.
SQLITE_LOCK_STORE_TYPE = "rasa_runtime.lock_store.sqlitelockstore"


def store_from_credentials(credentials: Dict[Text, object]) -> SharedStore:
    """The store a channel's credentials ask for: `store_type` in_memory (default), redis, or
    the host-local SQLite lock store's type (`store_host` is then its file).

    credentials.yml passes the lock store's variables (LOCK_STORE_TYPE, _HOST, _PORT, _DB,
    _PASSWORD): the channels need exactly the sharing the lock store needs.
    """
    kind = str(credentials.get("store_type") or "in_memory").strip().lower()
    if kind in ("in_memory", "inmemory", "memory"):
        return InMemoryStore()
    if kind == "redis":
        return RedisStore(
            host=str(credentials.get("store_host") or "localhost"),
            port=int(str(credentials.get("store_port") or 6379)),
            db=int(str(credentials.get("store_db") or 0)),
            password=str(credentials.get("store_password") or "") or None,
            prefix=str(credentials.get("store_prefix") or DEFAULT_PREFIX),
        )
    if kind == SQLITE_LOCK_STORE_TYPE:
        return SQLiteStore(str(credentials.get("store_host") or ""),
                           prefix=str(credentials.get("store_prefix") or DEFAULT_PREFIX))
    raise ValueError(f"unknown channel store_type {kind!r}: use in_memory, redis or "
                     f"rasa_runtime.lock_store.SQLiteLockStore")
