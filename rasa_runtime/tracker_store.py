"""Rasa's SQL tracker store, minus the reads and counts that do not need to happen.

Stock `SQLTrackerStore` (Rasa 3.6), on every user message: opens a new connection (SQLite
files get SQLAlchemy 1.4's NullPool), reads and JSON-decodes every event of the conversation's
session and rebuilds the tracker event by event (`retrieve`), then counts those events again to
find which ones are new (`save`), and commits with a full fsync. It all runs synchronously on
the event loop, so every other conversation waits: 22 % of the Rasa process's CPU at 16
conversations, growing with the conversation's length (docs/performance.md).

`CachingSQLTrackerStore` writes through to the same tables (any stock store, tool or replica
reads them unchanged) and keeps the trackers of the conversations this process is serving:

- `save` appends only the events after the ones it knows are stored: no COUNT, no re-read.
- `retrieve` hands back the kept tracker after one indexed query, `max(id)` of the
  conversation's events, still equals what this process last wrote or read. Any write by
  another process (a second worker, a replica) changes it: the rows added since are then
  applied to the kept tracker (a new session is read in full).
- A kept tracker holding events that were never saved (a message whose handling failed) is
  never handed out: the number of its events must equal the number stored.
- A save that starts a new session drops the tracker, so the next read returns the new session
  only, as the stock store does.
- A new conversation (no stored events, one index seek) is written and kept the same way; a
  conversation with no events is looked up with that one seek; and a full read runs the stock
  query's statement on a Core connection, not through the ORM (4-5 ms at concurrency 1, while
  the message's parse waits for the event loop).

Why this is safe: Rasa handles each conversation under its lock store's lock (in-memory for one
process, Redis across workers and replicas), and every write to a conversation, whether a user
message or an HTTP API call, retrieves, updates and saves under that lock. So between this
process's save and its next retrieve of a conversation, only a writer holding the lock can have
added events, and those raise `max(id)`. Event ids only grow (autoincrement, a sequence on
PostgreSQL), and another writer's transaction has committed before it releases the lock.

On SQLite the store also uses a connection pool and WAL with `synchronous=NORMAL`: a commit then
writes the log without waiting for the disk (a power cut may lose the last commits, never
corrupt the file; PostgreSQL is the production store).
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Text

import sqlalchemy as sa
from sqlalchemy.pool import QueuePool

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, SessionStarted, deserialise_events
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT_NAME_KEY

logger = logging.getLogger(__name__)

DEFAULT_CACHE_SIZE = 500
# A database that drops its connections (a restart, a fail-over) is tried again for this long
# (issue 27). Rasa wraps every tracker store in `FailSafeTrackerStore`, which turns a failed
# save into a save to memory (the message is answered and never stored) and a failed read into
# "no conversation" (a new session: the form in progress forgotten): a restart of PostgreSQL
# under load lost 3 of 200 messages that way before this.
RETRY_SECONDS = float(os.environ.get("TRACKER_STORE_RETRY_SECONDS", "15"))
RETRY_PAUSES = (0.1, 0.25, 0.5, 1.0)


def _transient(error: BaseException) -> bool:
    """A failure of the connection, not of the statement: worth one more try."""
    return isinstance(error, sa.exc.OperationalError) or (
        isinstance(error, sa.exc.DBAPIError) and error.connection_invalidated)


@dataclass
class _Kept:
    """A tracker this process read or wrote, with how much of it is in the database."""

    tracker: DialogueStateTracker
    stored: int  # the first `stored` events of `tracker.events` are in the database
    last_id: Optional[int]  # max(events.id) of the conversation when it was read or written


def _latest_session_query(events: sa.Table) -> Any:
    """Stock `_event_query(..., fetch_events_from_all_sessions=False)` in Core, (id, data) only:
    the events timestamped at or after the latest `session_started` (all of them if there is
    none), in id order. A scalar subquery where the stock query joins a one-row subquery: the
    same rows."""
    session_start = sa.select(sa.func.max(events.c.timestamp)).where(
        events.c.sender_id == sa.bindparam("sender_id"),
        events.c.type_name == SessionStarted.type_name).scalar_subquery()
    return sa.select(events.c.id, events.c.data).where(
        events.c.sender_id == sa.bindparam("sender_id"),
        sa.or_(events.c.timestamp >= session_start, session_start.is_(None)),
    ).order_by(events.c.id)


# `count` new ids from the sequence behind the events table's id (a SERIAL on PostgreSQL).
DRAW_EVENT_IDS = sa.text(
    "SELECT nextval(pg_get_serial_sequence('events', 'id')) FROM generate_series(1, :count)")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


class CachingSQLTrackerStore(SQLTrackerStore):
    """`SQLTrackerStore` with write-through caching of the conversations this process serves.

    endpoints.yml: `type: rasa_runtime.tracker_store.CachingSQLTrackerStore`, `url:` a full
    SQLAlchemy URL, optional `cache_size` (conversations kept, least recently used dropped).
    """

    def __init__(
        self,
        domain: Optional[Domain] = None,
        host: Optional[Text] = None,
        event_broker: Optional[EventBroker] = None,
        cache_size: Any = DEFAULT_CACHE_SIZE,
        **kwargs: Any,
    ) -> None:
        super().__init__(domain=domain, host=host, event_broker=event_broker, **kwargs)
        self.cache_size = int(cache_size)
        self._kept: "OrderedDict[Text, _Kept]" = OrderedDict()
        events = self.SQLEvent.__table__
        self._insert_event = events.insert()
        self._latest_id = sa.select(sa.func.max(events.c.id)).where(
            events.c.sender_id == sa.bindparam("sender_id"))
        self._latest_session = _latest_session_query(events)
        if self.engine.dialect.name == "sqlite":
            self._pool_sqlite_connections()

    def _pool_sqlite_connections(self) -> None:
        """A pooled engine (one file open, not one per query) with WAL and NORMAL sync."""
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, poolclass=QueuePool, pool_size=1, max_overflow=4)
        sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self.sessionmaker = sa.orm.session.sessionmaker(bind=self.engine)

    # --- reading -------------------------------------------------------------------------------

    async def _retrying(self, operation: Any, *args: Any) -> Any:
        """`await operation(*args)`, again after a transient database failure (the pool drops
        the dead connections; the next try takes a new one) until RETRY_SECONDS have passed.
        A failed try has changed nothing: each write is one transaction, and the kept state
        changes only after it commits."""
        deadline = time.monotonic() + RETRY_SECONDS
        for attempt in itertools.count():
            try:
                return await operation(*args)
            except sa.exc.DBAPIError as error:
                pause = RETRY_PAUSES[min(attempt, len(RETRY_PAUSES) - 1)]
                if not _transient(error) or time.monotonic() + pause > deadline:
                    raise
                logger.warning("tracker_store.retry error=%s", type(error).__name__)
                await asyncio.sleep(pause)  # backing off while the database comes back

    async def retrieve(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        return await self._retrying(self._retrieve_current, sender_id)

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self._retrying(self._save, tracker)

    async def _retrieve_current(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """The conversation's current session, from memory when it is provably current, or
        brought up to date with the events another process added since."""
        kept = self._kept.get(sender_id)
        if kept is not None and len(kept.tracker.events) == kept.stored:
            latest = self._latest_event_id(sender_id)
            if latest == kept.last_id or self._catch_up(sender_id, kept, latest):
                self._kept.move_to_end(sender_id)
                return kept.tracker
        self._kept.pop(sender_id, None)
        return self._load(sender_id)

    def _catch_up(self, sender_id: Text, kept: _Kept, latest: Optional[int]) -> bool:
        """Apply the events stored after `kept.last_id` (another worker's writes) to the kept
        tracker, as `from_dict` would replay them; False when only a full read will do.

        With two workers a conversation's messages alternate between them, and re-reading the
        whole session each time cost more than the rest of the dialogue. Safe for the same
        reason as the cache: every write to a conversation is committed under its lock, so
        the rows after `last_id` are exactly what was added, in order. A new session (a
        `session_started` row) needs the full read: `retrieve` returns the latest session only.
        """
        if kept.last_id is None or latest is None or latest < kept.last_id:
            return False
        events = self.SQLEvent.__table__
        with self.engine.connect() as connection:
            rows = connection.execute(
                sa.select(events.c.id, events.c.data)
                .where(events.c.sender_id == sender_id, events.c.id > kept.last_id)
                .order_by(events.c.id)).all()
        added = [json.loads(row.data) for row in rows]
        if not added or any(event.get("event") == SessionStarted.type_name for event in added):
            return False
        for event in deserialise_events(added):
            # What `from_events` does for each event of a fresh tracker; `update` would also
            # stamp this process's model id on the event's metadata, which a fresh read does not.
            kept.tracker.events.append(event)
            event.apply_to(kept.tracker)
        kept.stored += len(added)
        kept.last_id = rows[-1].id
        return True

    def _latest_event_id(self, sender_id: Text) -> Optional[int]:
        # A Core connection, not Rasa's ORM session: the same statement through half the
        # layers (30 vs 66 µs here); it runs before every message.
        with self.engine.connect() as connection:
            return self._latest_event_id_in(connection, sender_id)

    def _latest_event_id_in(self, connection: Any, sender_id: Text) -> Optional[int]:
        """One index seek: the conversation's newest event id (None: no events)."""
        return connection.execute(self._latest_id, {"sender_id": sender_id}).scalar()

    def _load(self, sender_id: Text) -> Optional[DialogueStateTracker]:
        """Stock `retrieve` (the latest session's events in id order), keeping the result.

        On a Core connection: the stock ORM query costs 4-5 ms in the stack at concurrency 1,
        on the event loop while the message's parse waits for it. A conversation with no
        events (every new one) takes one index seek.
        """
        with self.engine.connect() as connection:
            latest = self._latest_event_id_in(connection, sender_id)
            if latest is None or not self.domain:
                return None
            rows = connection.execute(self._latest_session, {"sender_id": sender_id}).all()
        events = [json.loads(row.data) for row in rows]
        if not events:
            return None
        tracker = DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        self._keep(sender_id, _Kept(tracker, stored=len(rows), last_id=latest))
        return tracker

    # --- writing -------------------------------------------------------------------------------

    async def _save(self, tracker: DialogueStateTracker) -> None:
        """Append the events not yet stored; stock behaviour for a tracker not kept here."""
        kept = self._kept.get(tracker.sender_id)
        if (kept is None and len(tracker.events) > 0
                and self._latest_event_id(tracker.sender_id) is None):
            # A new conversation: the stock count would be 0, so every event is new.
            kept = _Kept(tracker, stored=0, last_id=None)
            self._keep(tracker.sender_id, kept)
        elif kept is None or kept.tracker is not tracker or len(tracker.events) < kept.stored:
            self._kept.pop(tracker.sender_id, None)
            await super().save(tracker)  # counts what is stored, as Rasa does
            return
        new_events = list(itertools.islice(tracker.events, kept.stored, None))
        if not new_events:
            return
        kept.last_id = self._insert(tracker.sender_id, new_events) or kept.last_id
        kept.stored = len(tracker.events)
        if self.event_broker is not None:
            # The new events are known here: the stock `stream_events` would re-read the
            # tracker to diff it (a full read, as the kept one is already ahead). Published
            # after the insert commits, so the broker never carries an event that is not stored.
            await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)
        if any(isinstance(event, SessionStarted) for event in new_events):
            self._kept.pop(tracker.sender_id, None)  # the next read returns the new session only

    def _insert(self, sender_id: Text, events: List[Event]) -> Optional[int]:
        """Insert the events in order (ids give the order) in one transaction; return the last
        id.

        On PostgreSQL the ids are drawn first, as many as there are events, and handed to the
        rows in ascending order, then all rows go in one batched statement: three round trips
        to the server (draw, insert, commit) instead of one per event and the commit, each a
        blocking call on Rasa's event loop (issue 27's profile of the production benchmark:
        SQL calls were the largest part of a Rasa worker's busy samples). A multi-row VALUES
        list alone would not promise to draw sequence numbers in row order; ids drawn from the
        sequence are unique and increase from one call to the next, so sorting them does. On
        SQLite, one statement per event, as before.
        """
        rows = [self._row(sender_id, event) for event in events]
        with self.engine.begin() as connection:  # one transaction, committed on leaving
            if self.engine.dialect.name == "postgresql" and len(rows) > 1:
                ids = sorted(connection.execute(DRAW_EVENT_IDS, {"count": len(rows)}).scalars())
                for row, event_id in zip(rows, ids):
                    row["id"] = event_id
                connection.execute(self._insert_event, rows)
                return ids[-1]
            last_id = None
            for row in rows:
                last_id = connection.execute(self._insert_event, row).inserted_primary_key[0]
        return last_id

    @staticmethod
    def _row(sender_id: Text, event: Event) -> Dict[Text, Any]:
        """The row stock `save` writes for an event (same columns, same JSON)."""
        data: Dict[Text, Any] = event.as_dict()
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp"),
            "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
            "action_name": data.get("name"),
            "data": json.dumps(data),
        }

    def _keep(self, sender_id: Text, kept: _Kept) -> None:
        self._kept[sender_id] = kept
        self._kept.move_to_end(sender_id)
        while len(self._kept) > self.cache_size:
            self._kept.popitem(last=False)
