"""Where a waiting conversation stands: its position in its skill's queue and the expected wait.

Position = 1 + waiting handoffs of the same skill requested earlier (a transfer keeps the
original request time). The wait is estimated from the agents online for the skill and the
handling time of the skill's recent handoffs (`routing.estimate_wait_minutes`).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from bot.storage.times import as_utc
from bot.tickets.enums import ServiceLine

from .accounts import count_online
from .enums import HandoffStatus
from .models import Handoff
from .routing import average_handling_minutes, estimate_wait_minutes

HISTORY_FOR_ESTIMATE = 20


@dataclass(frozen=True)
class QueuePlace:
    handoff_id: int
    skill: ServiceLine
    status: HandoffStatus
    position: int | None  # None once claimed
    wait_minutes: int | None  # None: nobody online (or claimed)
    created: bool = False  # False: the conversation already had this open handoff


def position(session: Session, handoff: Handoff) -> int | None:
    """1 + the waiting handoffs of its skill requested before it; None unless waiting."""
    if handoff.status is not HandoffStatus.WAITING:
        return None
    ahead = session.scalar(
        select(func.count(Handoff.id)).where(
            Handoff.status == HandoffStatus.WAITING,
            Handoff.skill == handoff.skill,
            or_(Handoff.requested_at < handoff.requested_at,
                and_(Handoff.requested_at == handoff.requested_at, Handoff.id < handoff.id)),
        )
    ) or 0
    return ahead + 1


def _handling_minutes(session: Session, skill: ServiceLine) -> float:
    rows = session.execute(
        select(Handoff.claimed_at, Handoff.ended_at)
        .where(Handoff.skill == skill, Handoff.claimed_at.is_not(None),
               Handoff.ended_at.is_not(None))
        .order_by(Handoff.ended_at.desc()).limit(HISTORY_FOR_ESTIMATE)
    ).all()
    return average_handling_minutes(as_utc(ended) - as_utc(claimed) for claimed, ended in rows)


def place_of(session: Session, handoff: Handoff, now: dt.datetime,
             created: bool = False) -> QueuePlace:
    """The handoff's position and expected wait now."""
    where = position(session, handoff)
    wait = None
    if where is not None:
        online = count_online(session, handoff.skill, handoff.department_code, now)
        wait = estimate_wait_minutes(where, online, _handling_minutes(session, handoff.skill))
    return QueuePlace(handoff.id, handoff.skill, handoff.status, where, wait, created)
