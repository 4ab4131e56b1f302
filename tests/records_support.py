"""Databases with the records demo (bot/demo/records.py), for the records, leave-booking,
pay and access tests. Kept apart from tests/databases.py, whose demo the older tests use."""

from __future__ import annotations

import atexit
import os
import datetime as dt
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.demo.records import seed_records
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.migrate import upgrade
from bot.storage.models import AuditEvent, ChannelIdentity, Employee
from tests.databases import POSTGRES_ADMIN_URL

TODAY = dt.date(2026, 11, 26)  # a Thursday


_templates: dict[tuple[str, dt.date, int], str] = {}


def _build(url: str, today: dt.date, employees: int) -> None:
    upgrade(url)
    db = Database(url)
    try:
        with db.unit_of_work() as session:
            seed_records(session, today, employees=employees)
    finally:
        db.dispose()


def _template(backend: str, today: dt.date, employees: int) -> str:
    """A migrated demo database built once per test run; each test gets a copy of it.

    Migrating takes about two seconds, copying a few milliseconds: SQLite copies the file,
    PostgreSQL creates the test's database from the template (CREATE DATABASE ... TEMPLATE).
    """
    key = (backend, today, employees)
    if key in _templates:
        return _templates[key]
    if backend == "sqlite":
        folder = Path(tempfile.mkdtemp(prefix="helpdesk-template-"))
        atexit.register(shutil.rmtree, folder, True)
        path = folder / "template.db"
        _build(f"sqlite:///{path}", today, employees)
        _templates[key] = str(path)
    else:
        name = f"helpdesk_template_{uuid.uuid4().hex[:12]}"
        _admin(f'CREATE DATABASE "{name}"')
        atexit.register(_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _build(
            make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False),
            today,
            employees,
        )
        _templates[key] = name
    return _templates[key]


def _admin(statement: str) -> None:
    engine = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text(statement))
    finally:
        engine.dispose()


@contextmanager
def records_database(
    backend: str, tmp_path: Path, today: dt.date = TODAY, employees: int = 40
) -> Iterator[Database]:
    """A fresh copy of the migrated records demo (see `_template`)."""
    template = _template(backend, today, employees)
    if backend == "sqlite":
        target = tmp_path / f"helpdesk-{uuid.uuid4().hex[:8]}.db"
        shutil.copyfile(template, target)
        url, name = f"sqlite:///{target}", None
    else:
        name = f"helpdesk_test_{uuid.uuid4().hex[:12]}"
        _admin(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        url = make_url(POSTGRES_ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    db = Database(url)
    try:
        with _systems_of_record(db, today):
            yield db
    finally:
        db.dispose()
        if name:
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _systems_of_record(db: Database, today: dt.date) -> Iterator[None]:
    """With TEST_BACKOFFICE=oracle|successfactors, the records are served by that vendor's
    adapter over HTTP from local fakes seeded with this database (tests/backoffice_fakes),
    so a suite (the access battery) runs unchanged on each adapter."""
    if os.environ.get("TEST_BACKOFFICE", "sql") == "sql":
        yield
        return
    from tests.backoffice_fakes import plugged_in

    with plugged_in(db, today):
        yield


def build_records_database(url: str, today: dt.date = TODAY, employees: int = 40) -> None:
    """Migrate and load the demo into an empty database, without the template cache."""
    _build(url, today, employees)


def widget(subject: str, issuer: str = DEMO_WIDGET_ISSUER) -> Principal:
    return Principal("widget", issuer, subject)


def widget_metadata(subject: str, issuer: str = DEMO_WIDGET_ISSUER) -> dict[str, Any]:
    return {"principal": {"channel": "widget", "tenant": issuer, "subject": subject}}


def employee_id(db: Database, number: str) -> int:
    with db.unit_of_work() as session:
        return session.scalar(select(Employee.id).where(Employee.employee_number == number))  # type: ignore[return-value]


def give_widget_identity(db: Database, number: str, subject: str) -> Principal:
    with db.unit_of_work() as session:
        person = session.scalar(select(Employee.id).where(Employee.employee_number == number))
        session.add(
            ChannelIdentity(
                channel="widget", tenant=DEMO_WIDGET_ISSUER, subject=subject, employee_id=person
            )
        )
    return widget(subject)


def audit_since(db: Database, after_id: int) -> list[AuditEvent]:
    with db.unit_of_work() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.id > after_id).order_by(AuditEvent.id)
            )
        )


def last_audit_id(db: Database) -> int:
    with db.unit_of_work() as session:
        return session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0
