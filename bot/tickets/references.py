"""Ticket references: PREFIX-NNNNNN per service line, gap-free and unique under concurrency.

The next number comes from the service line's row in `ticket_counters`, read and bumped in the
same transaction that inserts the ticket, so a rolled-back creation gives its number back.

- PostgreSQL: `SELECT ... FOR UPDATE` locks the counter row; a concurrent creation of the same
  service line waits until the first commits or rolls back, then reads the bumped value.
- SQLite has no row locks: the transaction starts with `BEGIN IMMEDIATE`
  (`bot.storage.concurrency.begin_write_transaction`), which takes the database's write lock up
  front, so creations run one after another.

`UNIQUE(reference)` and `UNIQUE(prefix, number)` back this up in the schema.
"""
from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from .categories import PREFIXES, SERVICE_LINES
from .enums import ServiceLine
from .models import TicketCounter

REFERENCE = re.compile(r"\b(HR|PAY|PEN|FIN|ACC)[\s-]?(\d{1,6})\b", re.IGNORECASE)


def format_reference(prefix: str, number: int) -> str:
    return f"{prefix}-{number:06d}"


def find_references(text: str) -> list[str]:
    """Ticket references in free text, normalised ("hr 123" → "HR-000123"), in order."""
    found: list[str] = []
    for prefix, digits in REFERENCE.findall(text or ""):
        reference = format_reference(prefix.upper(), int(digits))
        if reference not in found:
            found.append(reference)
    return found


def normalise_reference(value: str) -> str | None:
    """One reference from a slot or entity value, or None if it is not one."""
    found = find_references(value)
    return found[0] if len(found) == 1 else None


def allocate_reference(session: Session, category: ServiceLine) -> tuple[str, int, str]:
    """(prefix, number, reference) for a new ticket, inside the caller's write transaction."""
    prefix = SERVICE_LINES[category].prefix
    counter = session.scalars(
        select(TicketCounter)
        .where(TicketCounter.prefix == prefix)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    counter.last_number += 1
    session.flush()
    return prefix, counter.last_number, format_reference(prefix, counter.last_number)


def category_of(reference: str) -> ServiceLine | None:
    match = REFERENCE.fullmatch(reference or "")
    return PREFIXES.get(match.group(1).upper()) if match else None
