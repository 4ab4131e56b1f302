"""The demo that `python -m bot.cli setup` loads is the data it was: seeded for a fixed day into
a new SQLite database, every table's rows (ordered by primary key) have the digest recorded
here. The times of the run itself (rows stamped "now" by a column default) and password
hashes (salted) are left out of the digest; everything else counts, row ids included.

The digests were recorded from the code before issue 22 moved all seeding into `bot/demo`
(bot/demo_data.py, bot/records/demo.py, bot/tickets/demo.py, bot/handoff/demo.py), so they
show that the move changed no row. Change them only with a change to the demo that is meant.
"""
from __future__ import annotations

import datetime as dt
import decimal
import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from bot.storage.database import Database
from bot.storage.migrate import upgrade

TODAY = dt.date(2026, 11, 30)
# table: (rows, the first 16 hex digits of the sha256 of its normalised rows)
RECORDED: dict[str, tuple[int, str]] = {
    "agents": (6, "be1177182c163371"),
    "audit_chain_head": (1, "e9a273473edf565d"),
    "channel_identities": (5, "ffb52b967c4efff7"),
    "cost_centres": (12, "77623fb39c8029d3"),
    "departments": (4, "e35905f19b4ceecb"),
    "employees": (200, "64c2293cba4e326d"),
    "employment_records": (200, "db73cf4336ac583a"),
    "expense_claims": (147, "7b654275d7bb4719"),
    "expense_lines": (288, "ba60a2e4deb261f9"),
    "leave_bookings": (566, "786a12d6dd2c2f98"),
    "leave_entitlements": (571, "7f9146008ab70052"),
    "pay_dates": (96, "d9791e3af24b1185"),
    "pay_ranges": (28, "84b2aaa06a2338cc"),
    "payslips": (4183, "d9bbb46a13cc7177"),
    "pension_memberships": (200, "aa16940d89248e82"),
    "personal_details": (200, "f33578b2d189809d"),
    "purchase_orders": (98, "e17c6858a8e3785c"),
    "salary_records": (400, "95981c6786140188"),
    "sickness_absences": (49, "56ba439c956ba11e"),
    "supplier_invoices": (69, "7d429684784cde5d"),
    "suppliers": (15, "75a23705f8a9939e"),
    "tax_codes": (218, "85f78e55773543c8"),
    "ticket_comments": (4, "1ae1f9ec65048208"),
    "ticket_counters": (5, "9294737964daefc7"),
    "ticket_events": (13, "be31e1feef35bae0"),
    "tickets": (5, "8a8fb06514aad585"),
    "working_patterns": (200, "756d37ab5e7ac548"),
}


def normalised(value: Any, started: dt.datetime, ended: dt.datetime) -> Any:
    if isinstance(value, str) and len(value) >= 19 and value[4] == "-" and value[10] in " T":
        try:
            value = dt.datetime.fromisoformat(value.replace(" ", "T"))
        except ValueError:
            return value
    if isinstance(value, dt.datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        if started <= moment <= ended:
            return "<now>"
        return moment.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat()
    if isinstance(value, (dt.date, decimal.Decimal)):
        return str(value)
    return value


def table_digests(url: str, started: dt.datetime, ended: dt.datetime
                  ) -> dict[str, tuple[int, str]]:
    engine = sa.create_engine(url)
    try:
        metadata = sa.MetaData()
        metadata.reflect(engine)
        digests = {}
        with engine.connect() as connection:
            for name in sorted(metadata.tables):
                table = metadata.tables[name]
                if name == "alembic_version":
                    continue
                order = list(table.primary_key.columns) or list(table.columns)
                rows = [{column: "<hash>" if column == "password_hash"
                         else normalised(value, started, ended)
                         for column, value in row.items()}
                        for row in connection.execute(sa.select(table).order_by(*order)).mappings()]
                if rows:
                    text = json.dumps(rows, sort_keys=True, default=str)
                    digests[name] = (len(rows), hashlib.sha256(text.encode()).hexdigest()[:16])
        return digests
    finally:
        engine.dispose()


def seeded_digests(tmp_path: Path, seed: Any) -> dict[str, tuple[int, str]]:
    """`seed(db, policy, today)` run on a new migrated database, then its tables' digests."""
    from bot.config import Settings
    from bot.tickets.sla import policy_from_settings

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    upgrade(url)
    db = Database(url)
    started = dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=5)
    try:
        seed(db, policy_from_settings(Settings.from_env()), TODAY)
    finally:
        db.dispose()
    ended = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=5)
    return table_digests(url, started, ended)


def test_the_seeded_tables_are_those_recorded(tmp_path: Path) -> None:
    from bot import demo

    assert seeded_digests(tmp_path, demo.seed) == RECORDED


def test_setup_says_what_it_loaded_and_then_that_it_is_there(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from bot import cli
    from bot.config import Settings

    url = f"sqlite:///{tmp_path / 'setup.db'}"
    monkeypatch.setenv("HELPDESK_DATABASE_URL", url)
    upgrade(url)
    caplog.set_level(logging.INFO, logger="bot.cli")
    for _ in range(2):
        cli.seed_demo(Settings.from_env())
    assert [record.getMessage() for record in caplog.records if record.name == "bot.cli"] == [
        "demo data loaded", "demo records loaded", "demo tickets loaded", "demo agents added: 6",
        "demo data already present", "demo records already present",
        "demo tickets already present", "demo agents already present",
    ]
