"""Which adapter serves which business area: chosen by configuration, one set per database.

`backoffice(db)` is what the services call. The embedded default is the SQL adapter for all
four areas; `BACKOFFICE_PEOPLE`, `BACKOFFICE_ABSENCE`, `BACKOFFICE_PAYROLL` and
`BACKOFFICE_FINANCE` name another adapter per area (docs/backoffice.md). Tests plug in a
`BackOffice` of their own with `use_backoffice`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from bot.storage.database import Database

from .configure import build_from_settings
from .measured import measured
from .ports import BackOffice


Builder = Callable[[Database], BackOffice]

_lock = threading.Lock()
_override: Builder | None = None
_built: dict[int, tuple[Database, BackOffice]] = {}


def backoffice(db: Database) -> BackOffice:
    """The adapters for this helpdesk database (built once per database and process)."""
    key = id(db)
    with _lock:
        found = _built.get(key)
        if found is not None and found[0] is db:
            return found[1]
        office = measured((_override or build_from_settings)(db))  # call metrics (measured.py)
        _built[key] = (db, office)
        return office


def use_backoffice(builder: Builder | None) -> None:
    """Plug in other adapters (tests, a fake), or go back to the configured ones (None)."""
    global _override
    with _lock:
        _override = builder
        _built.clear()
