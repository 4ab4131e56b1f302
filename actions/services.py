"""Lazy, process-wide access to the helpdesk services for the action server.

The engine is created on first use, not at import (rasa-sdk imports this package to discover
actions, and tests import it without a database). Tests swap the database with `use_database`.
"""
from __future__ import annotations

import datetime as dt
from functools import lru_cache

from bot.config import Settings
from bot.storage.database import Database

_override: Database | None = None


@lru_cache(maxsize=1)
def _database_from_settings() -> Database:
    return Database(Settings.from_env().database_url)


def database() -> Database:
    return _override if _override is not None else _database_from_settings()


def use_database(db: Database | None) -> None:
    """Point actions at another database (tests), or back at the configured one (None)."""
    global _override
    _override = db


@lru_cache(maxsize=1)
def queries_url() -> str:
    """Where an employee's "My queries" pages are, for links in notices: HELPDESK_PUBLIC_URL +
    /queries (absolute, for Teams and Slack), or the web app's own path."""
    return f"{Settings.from_env().public_base_url}/queries"


def today() -> dt.date:
    return dt.date.today()
