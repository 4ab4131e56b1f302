"""Moments as the database stores them: timezone-aware UTC."""
from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """An aware UTC moment from a `DateTime(timezone=True)` column.

    SQLite hands back naive datetimes for such columns (it keeps no zone); they are UTC.
    """
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)
