"""The back-office tests: each runs against the SQL adapter and each vendor adapter (over
HTTP to its local fake), on a fresh copy of the records demo."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from actions import services
from bot.storage.database import Database
from tests.backoffice_fakes import CONFIGURATIONS, RunningFakes, fake_systems, plugged_in
from tests.records_support import TODAY, records_database


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    with records_database("sqlite", tmp_path, employees=12) as database:
        yield database


VENDORS = [c for c in CONFIGURATIONS if c != "sql"]


@contextmanager
def serving(db: Database, configuration: str,
            monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningFakes]:
    """The actions and services see `db`, a pinned today, and this configuration's adapters."""
    services.use_database(db)
    monkeypatch.setattr(services, "today", lambda: TODAY)
    try:
        with plugged_in(db, TODAY, configuration) as fakes:
            yield fakes
    finally:
        services.use_database(None)


@pytest.fixture(params=CONFIGURATIONS)
def serving_each(request: pytest.FixtureRequest, db: Database,
                 monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningFakes]:
    with serving(db, request.param, monkeypatch) as fakes:
        yield fakes


@pytest.fixture(params=VENDORS)
def serving_vendor(request: pytest.FixtureRequest, db: Database,
                   monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningFakes]:
    with serving(db, request.param, monkeypatch) as fakes:
        yield fakes


@pytest.fixture(params=CONFIGURATIONS)
def systems(request: pytest.FixtureRequest, db: Database) -> Iterator[RunningFakes]:
    with fake_systems(db, TODAY, request.param) as running:
        yield running


@pytest.fixture(params=VENDORS)
def vendor(request: pytest.FixtureRequest, db: Database) -> Iterator[RunningFakes]:
    with fake_systems(db, TODAY, request.param) as running:
        yield running
