"""The demo console accounts of `description`.

They sign in only while the development sign-in is enabled (HELPDESK_DEV_SIGNIN=1): their
password is the published demo one (or HELPDESK_DEMO_AGENT_PASSWORD), so they must never work
in production, even if `setup` is run there by mistake.
"""
from __future__ import annotations

import os

from sqlalchemy import select

from bot.handoff.accounts import create_agent
from bot.handoff.models import Agent
from bot.storage.database import Database

from .description import DEFAULT_DEMO_AGENT_PASSWORD, DEMO_AGENTS


def demo_password() -> str:
    return os.environ.get("HELPDESK_DEMO_AGENT_PASSWORD") or DEFAULT_DEMO_AGENT_PASSWORD


def seed_agents(db: Database, password: str | None = None) -> int:
    """Add the demo agents that are missing; how many were added."""
    added = 0
    with db.unit_of_work() as session:
        existing = set(session.scalars(select(Agent.username)))
        for agent in DEMO_AGENTS:
            if agent.username in existing:
                continue
            create_agent(session, agent.username, agent.name, password or demo_password(),
                         agent.skills, agent.departments, demo=True, roles=agent.roles)
            added += 1
    return added
