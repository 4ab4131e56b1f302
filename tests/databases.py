"""Throwaway helpdesk databases for tests: a SQLite file, or a fresh PostgreSQL database.

PostgreSQL is the one at TEST_POSTGRES_URL (default: the local server with trust auth). A test
that needs it and cannot reach it fails, naming the URL: CI always has the server.
"""
from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError

from bot.demo.organisation import seed_organisation
from bot.storage.database import Database
from bot.storage.migrate import upgrade

POSTGRES_ADMIN_URL = os.environ.get(
    "TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ("sqlite", "postgresql")


@contextmanager
def postgres_database() -> Iterator[str]:
    """Create a uniquely named database, yield its URL, drop it afterwards."""
    name = f"helpdesk_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except OperationalError as error:
        admin.dispose()
        raise RuntimeError(
            f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({error.orig}); "
            "these tests need it (set TEST_POSTGRES_URL to another server)"
        ) from error
    try:
        yield make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def empty_database(backend: str, tmp_path: Path) -> Iterator[str]:
    """The URL of a new, empty database of the given backend."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'helpdesk.db'}"
    else:
        with postgres_database() as url:
            yield url


@contextmanager
def demo_database(backend: str, tmp_path: Path, today: dt.date) -> Iterator[Database]:
    """A migrated database holding the demo organisation, as a `Database` handle."""
    with empty_database(backend, tmp_path) as url:
        upgrade(url)
        db = Database(url)
        try:
            with db.unit_of_work() as session:
                seed_organisation(session, today)
            yield db
        finally:
            db.dispose()
