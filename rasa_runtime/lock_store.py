"""Rasa's conversation locks in a SQLite file that every Rasa worker of one host shares.

Rasa handles each conversation under a ticket lock (`rasa.core.lock.TicketLock`): a message,
an agent's reply from the console or a ticket notification takes a ticket, waits until it is
served, and hands the lock on. The stock choices are an in-memory store (one process only: Rasa
then refuses a second Sanic worker) and Redis (any number of workers and replicas). The embedded
default runs two workers on one host with no Redis (docs/performance.md): this store keeps the
locks in a small SQLite file both workers open, so any worker may serve any request.

Each read-modify-write of a lock (issue a ticket, drop expired ones, finish serving) is one
`BEGIN IMMEDIATE` transaction, so two workers can never issue the same ticket number; Rasa's
base class does those steps as separate get/save calls, which is a race across processes.
The file holds nothing of value after the processes stop (a ticket lives `LOCK_LIFETIME`
seconds at most): `scripts/stack.py` deletes it before starting Rasa, so tickets of a crashed
run cannot hold a conversation for their remaining lifetime.

endpoints.yml: `type: rasa_runtime.lock_store.SQLiteLockStore`, `url:` the file's path
(`LOCK_STORE_HOST`; `sqlite:///` in front is accepted). Several hosts need Redis instead.
"""
from __future__ import annotations

import json
import sqlite3
from typing import Any, Optional, Text, Union

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore

from .host_database import HostDatabase

_SCHEMA = ("CREATE TABLE IF NOT EXISTS conversation_locks "
           "(conversation_id TEXT PRIMARY KEY, lock TEXT NOT NULL)")


class SQLiteLockStore(LockStore):
    """Ticket locks shared by the processes of one host through one SQLite file."""

    def __init__(self, endpoint_config: Any = None, path: Optional[Text] = None) -> None:
        self._database = HostDatabase(
            path if path is not None else getattr(endpoint_config, "url", None), _SCHEMA)
        self.path = self._database.path
        self._database.open()  # fail at start-up, not on the first message
        super().__init__()

    @staticmethod
    def _read(connection: Union[sqlite3.Connection, HostDatabase],
              conversation_id: Text) -> Optional[TicketLock]:
        row = connection.execute("SELECT lock FROM conversation_locks WHERE conversation_id = ?",
                                 (conversation_id,)).fetchone()
        return TicketLock.from_dict(json.loads(row[0])) if row else None

    @staticmethod
    def _write(connection: sqlite3.Connection, lock: TicketLock) -> None:
        if lock.tickets:
            connection.execute(
                "INSERT INTO conversation_locks (conversation_id, lock) VALUES (?, ?) "
                "ON CONFLICT (conversation_id) DO UPDATE SET lock = excluded.lock",
                (lock.conversation_id, lock.dumps()))
        else:
            connection.execute("DELETE FROM conversation_locks WHERE conversation_id = ?",
                               (lock.conversation_id,))

    def get_lock(self, conversation_id: Text) -> Optional[TicketLock]:
        return self._read(self._database, conversation_id)  # a plain read, no write lock

    def delete_lock(self, conversation_id: Text) -> None:
        deleted = self._database.execute(
            "DELETE FROM conversation_locks WHERE conversation_id = ?",
            (conversation_id,)).rowcount
        self._log_deletion(conversation_id, deletion_successful=deleted > 0)

    def save_lock(self, lock: TicketLock) -> None:
        with self._database.transaction() as connection:
            self._write(connection, lock)

    def issue_ticket(self, conversation_id: Text, lock_lifetime: float = LOCK_LIFETIME) -> int:
        """A new ticket, numbered after the last one any process issued (atomic)."""
        try:
            with self._database.transaction() as connection:
                lock = self._read(connection, conversation_id) or self.create_lock(
                    conversation_id)
                ticket = lock.issue_ticket(lock_lifetime)
                self._write(connection, lock)
            return ticket
        except sqlite3.Error as error:
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error

    def update_lock(self, conversation_id: Text) -> None:
        """Drop the conversation's expired tickets (atomic)."""
        with self._database.transaction() as connection:
            lock = self._read(connection, conversation_id)
            if lock:
                lock.remove_expired_tickets()
                self._write(connection, lock)

    def finish_serving(self, conversation_id: Text, ticket_number: int) -> None:
        """Remove one ticket (atomic); the row goes with the last ticket."""
        with self._database.transaction() as connection:
            lock = self._read(connection, conversation_id)
            if lock:
                lock.remove_ticket_for(ticket_number)
                self._write(connection, lock)

    def cleanup(self, conversation_id: Text, ticket_number: int) -> None:
        """`finish_serving`: a lock with no ticket left is deleted in the same transaction."""
        self.finish_serving(conversation_id, ticket_number)
