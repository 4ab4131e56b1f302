"""Migrations build the schema the models describe, on both databases."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from bot.storage.database import build_engine
from bot.storage.migrate import alembic_config, current_revision, upgrade
from bot.storage.models import Base
import bot.backoffice.models  # noqa: F401,E402  (the back-office identity map and write ledger)
import bot.backoffice.record_tables  # noqa: F401,E402  (the HR and finance record tables)
import bot.handoff.models  # noqa: F401,E402
import bot.knowledge.models  # noqa: F401,E402
import bot.privacy.models  # noqa: F401,E402
import bot.signin.models  # noqa: F401,E402
import bot.email_notices.models  # noqa: F401,E402
import bot.records.models  # noqa: F401,E402
import bot.tickets.models  # noqa: F401,E402


def test_upgrade_reaches_the_single_head(database_url: str) -> None:
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    assert len(heads) == 1, f"migrations have several heads: {heads}"
    upgrade(database_url)
    assert current_revision(database_url) == heads[0]


def test_upgrade_twice_is_harmless(database_url: str) -> None:
    upgrade(database_url)
    upgrade(database_url)
    assert current_revision(database_url) is not None


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    """A model change without a migration shows up here as a difference."""
    upgrade(database_url)
    engine = build_engine(database_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection)
            differences = compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()
    assert differences == []


def test_a_database_holding_data_upgrades_without_losing_it(database_url: str) -> None:
    """Tables that other rows reference are rebuilt on SQLite (batch migrations): an upgrade of
    a database in use must keep its rows and their links (first seen upgrading 0005 -> 0008)."""
    upgrade(database_url, "0005")
    engine = build_engine(database_url)
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql(
                "INSERT INTO departments (id, code, name) VALUES (1, 'DDS', 'Digital')")
            connection.exec_driver_sql(
                "INSERT INTO employees (id, employee_number, given_name, family_name, email, "
                "department_id, grade) VALUES (1, 'E1', 'Ann', 'Lee', 'a@example.org', 1, 'EO')")
            connection.exec_driver_sql(
                "INSERT INTO leave_bookings (id, employee_id, leave_type, start_date, end_date, "
                "days, status, created_at) VALUES (7, 1, 'annual', '2026-03-02', '2026-03-06', "
                "5, 'pending', '2026-02-01 09:00:00+00:00')")
            connection.exec_driver_sql(
                "INSERT INTO records_notices (id, recipient_id, kind, booking_id, state, "
                "attempts, created_at) VALUES (3, 1, 'leave_requested', 7, 'pending', 0, "
                "'2026-02-01 09:00:00+00:00')")
    finally:
        engine.dispose()
    upgrade(database_url)
    engine = build_engine(database_url)
    try:
        with engine.connect() as connection:
            booking = connection.exec_driver_sql(
                "SELECT employee_id, status FROM leave_bookings WHERE id = 7").one()
            notice = connection.exec_driver_sql(
                "SELECT record_reference, subject_employee_id FROM records_notices "
                "WHERE id = 3").one()
    finally:
        engine.dispose()
    assert tuple(booking) == (1, "pending")
    assert tuple(notice) == ("7", 1)
