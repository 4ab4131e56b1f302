"""Writes that stay correct while several processes write the same database at once, on
SQLite and PostgreSQL alike.

- `begin_write_transaction`: a unit of work that reads and then writes must hold the write
  lock from its first statement on SQLite. SQLite has no row locks: `BEGIN IMMEDIATE` takes
  the database's write lock up front (waiting up to the connection's busy timeout), so such
  units of work run one after another. Starting deferred and upgrading to a write lock later
  can fail at once with "database is locked" when two connections both read first. On
  PostgreSQL it is a no-op: row locks (`SELECT ... FOR UPDATE`) and constraints do the work.
- `insert_ignoring_duplicates`: an INSERT that skips a row whose unique key is already there
  (`ON CONFLICT DO NOTHING`), so several processes may copy the same rows at once.
"""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Column, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert


def begin_write_transaction(session: Session) -> None:
    """Make the session's transaction a write transaction from its first statement.

    Must be the first thing the unit of work does. On PostgreSQL it is a no-op; on SQLite it
    issues BEGIN IMMEDIATE on the connection before pysqlite would issue its own deferred
    BEGIN.
    """
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    dbapi_connection = connection.connection.dbapi_connection
    if dbapi_connection is not None and dbapi_connection.in_transaction:
        raise RuntimeError("begin_write_transaction must run before any other statement")
    connection.exec_driver_sql("BEGIN IMMEDIATE")


def insert_ignoring_duplicates(session: Session, table: Table,
                               unique_key: Sequence[Column]) -> Insert:
    """INSERT into `table` that skips rows whose `unique_key` is already there.

    Count what was inserted with RETURNING, not rowcount: drivers disagree on rowcount after
    ON CONFLICT DO NOTHING.
    """
    dialect = session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(table).on_conflict_do_nothing(index_elements=list(unique_key))
