"""Builds the configured adapters from `Settings.backoffice` (see docs/backoffice.md); a vendor's
adapters are imported only when configured."""

from __future__ import annotations

from bot.config import Settings
from bot.storage.database import Database

from .ports import BackOffice
from .sql import SqlAbsence, SqlFinance, SqlPayroll, SqlPeople


def build_from_settings(db: Database, settings: Settings | None = None) -> BackOffice:
    config = (settings or Settings.from_env()).backoffice
    sql = {
        "people": SqlPeople(db),
        "absence": SqlAbsence(db),
        "payroll": SqlPayroll(db),
        "finance": SqlFinance(db),
    }
    chosen = {}
    for area, default in sql.items():
        name = getattr(config, area)
        chosen[area] = default if name == "sql" else _vendor(db, config, name, area)
    return BackOffice(**chosen)


def _vendor(db, config, name: str, area: str):  # type: ignore[no-untyped-def]
    from .vendors import adapter_for

    return adapter_for(db, config, name, area)
