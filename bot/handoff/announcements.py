"""Keeping waiting employees informed: whose place or wait changed materially since they were
last told (`routing.is_material_change`).

Each announcement is claimed with a compare-and-set on the told values, so of several
processes running this at once only one announces each change. The web app sends them.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update

from bot.storage.database import Database
from bot.storage.times import utcnow

from .enums import HandoffStatus
from .models import Handoff
from .places import place_of
from .routing import is_material_change


@dataclass(frozen=True)
class Announcement:
    handoff_id: int
    conversation_id: str
    position: int
    wait_minutes: int | None


def announcements_due(db: Database, now: dt.datetime | None = None) -> list[Announcement]:
    """Waiting employees whose place or wait changed materially since they were last told."""
    moment = now or utcnow()
    due = []
    with db.unit_of_work() as session:
        waiting = session.scalars(
            select(Handoff).where(Handoff.status == HandoffStatus.WAITING)
            .order_by(Handoff.requested_at, Handoff.id)).all()
        places = [(h, place_of(session, h, moment)) for h in waiting]
    for handoff, place in places:
        if place.position is None or not is_material_change(
                handoff.told_position, handoff.told_wait_minutes, place.position,
                place.wait_minutes):
            continue
        with db.unit_of_work() as session:
            told = session.execute(
                update(Handoff)
                .where(Handoff.id == handoff.id, Handoff.status == HandoffStatus.WAITING,
                       _same(Handoff.told_position, handoff.told_position),
                       _same(Handoff.told_wait_minutes, handoff.told_wait_minutes))
                .values(told_position=place.position, told_wait_minutes=place.wait_minutes)
                .execution_options(synchronize_session=False)).rowcount
        if told == 1:
            due.append(Announcement(handoff.id, handoff.conversation_id, place.position,
                                    place.wait_minutes))
    return due


def _same(column: Any, value: Any) -> Any:
    """SQL "IS NOT DISTINCT FROM", written so that SQLite and PostgreSQL both take it."""
    return column.is_(None) if value is None else column == value
