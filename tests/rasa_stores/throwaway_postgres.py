"""A PostgreSQL database that exists for one test (127.0.0.1:5432, trust auth), then is dropped."""
from __future__ import annotations

import uuid
from contextlib import contextmanager
from typing import Iterator

import psycopg2

POSTGRES = dict(host="127.0.0.1", port=5432, user="postgres")


@contextmanager
def throwaway_database(prefix: str = "rasa_tracker_test") -> Iterator[str]:
    """The SQLAlchemy URL of a fresh database; fails (does not skip) when PostgreSQL is down."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    try:
        admin = psycopg2.connect(dbname="postgres", **POSTGRES)
    except psycopg2.OperationalError as error:
        raise RuntimeError(f"PostgreSQL is not reachable at {POSTGRES}: {error}") from error
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
