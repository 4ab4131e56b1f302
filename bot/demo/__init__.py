"""The demo: a deterministic organisation to try the helpdesk with, loaded by
`python -m bot.cli setup` (or `seed-demo`).

`description` describes it (departments, grades, the five sign-in employees and every fact
shown of them, tickets, console accounts, the word lists the rest is generated from); the
other modules turn the description into rows: `organisation` (the sign-in employees, their
widget identities and leave), `records` (everyone's HR and finance records, 200 employees),
`finance` (suppliers, purchase orders, invoices), `tickets`, `agents`. `seed` loads them all,
each part only if it is missing.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.storage.database import Database
from bot.tickets.sla import SlaPolicy

from .agents import seed_agents
from .organisation import seed_organisation
from .records import seed_records
from .tickets import seed_tickets


@dataclass(frozen=True)
class Seeded:
    """What one `seed` added: each part is True when it was loaded now."""

    organisation: bool
    records: bool
    tickets: bool
    agents: int  # console accounts added

    def lines(self) -> list[str]:
        def state(loaded: bool) -> str:
            return "loaded" if loaded else "already present"

        return [f"demo data {state(self.organisation)}",
                f"demo records {state(self.records)}",
                f"demo tickets {state(self.tickets)}",
                "demo agents " + (f"added: {self.agents}" if self.agents else "already present")]


def seed(db: Database, policy: SlaPolicy, today: dt.date) -> Seeded:
    """Load every part of the demo that is missing, each in its own unit of work."""
    with db.unit_of_work() as session:
        organisation = seed_organisation(session, today)
    with db.unit_of_work() as session:
        records = seed_records(session, today)
    return Seeded(organisation, records, seed_tickets(db, policy, today), seed_agents(db))
