"""Demo agent accounts (loaded by `python -m bot.cli setup`).

They sign in only while the development sign-in is enabled (HELPDESK_DEV_SIGNIN=1): their
password is the published demo one (or HELPDESK_DEMO_AGENT_PASSWORD), so they must never work
in production, even if `setup` is run there by mistake.
"""
from __future__ import annotations

import os

from sqlalchemy import select

from bot.storage.database import Database

from .accounts import create_agent
from .models import Agent

DEFAULT_DEMO_PASSWORD = "demo-agent-password"
# username, display name, skills, departments ("" = all)
DEMO_AGENTS = (
    ("sam.patel", "Sam Patel", "hr,pensions", ""),
    ("priya.shah", "Priya Shah", "payroll,finance", ""),
    ("tom.jones", "Tom Jones", "hr,payroll,pensions,finance,access", ""),
)


def demo_password() -> str:
    return os.environ.get("HELPDESK_DEMO_AGENT_PASSWORD") or DEFAULT_DEMO_PASSWORD


def load_demo_agents(db: Database, password: str | None = None) -> int:
    """Add the demo agents that are missing; how many were added."""
    added = 0
    with db.unit_of_work() as session:
        existing = set(session.scalars(select(Agent.username)))
        for username, name, skills, departments in DEMO_AGENTS:
            if username in existing:
                continue
            create_agent(session, username, name, password or demo_password(), skills,
                         departments, demo=True)
            added += 1
    return added
