"""Every persistence test runs against SQLite and PostgreSQL."""
from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.storage.database import Database
from tests.databases import BACKENDS, demo_database, empty_database

TODAY = dt.date(2026, 11, 26)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def database_url(backend: str, tmp_path: Path) -> Iterator[str]:
    """An empty database (not migrated)."""
    with empty_database(backend, tmp_path) as url:
        yield url


@pytest.fixture
def demo_db(backend: str, tmp_path: Path) -> Iterator[Database]:
    """A migrated database with the demo organisation, dated around TODAY."""
    with demo_database(backend, tmp_path, TODAY) as db:
        yield db
