"""The operational gauges read from the helpdesk database at each Prometheus scrape: people
waiting for a person by skill, agents online, ticket notifications pending, open and breached
tickets by category. A few indexed counts; a scrape every 15-30 s costs next to nothing."""
from __future__ import annotations

import datetime as dt
from typing import Callable

from sqlalchemy import func, or_, select

from bot.config import Settings
from bot.handoff.models import AgentSession, Handoff, HandoffStatus
from bot.storage.database import Database
from bot.tickets.models import NotificationState, Ticket, TicketNotification, TicketStatus

ONLINE_WITHIN = dt.timedelta(minutes=5)
OPEN_TICKETS = (TicketStatus.NEW, TicketStatus.OPEN, TicketStatus.AWAITING_CUSTOMER)

Values = dict[str, dict[tuple[str, ...], float]]


def read(db: Database, now: dt.datetime) -> Values:
    with db.unit_of_work() as session:
        waiting = session.execute(
            select(Handoff.skill, func.count()).where(Handoff.status == HandoffStatus.WAITING)
            .group_by(Handoff.skill)).all()
        online = session.execute(
            select(func.count(func.distinct(AgentSession.agent_id)))
            .where(AgentSession.last_seen_at >= now - ONLINE_WITHIN,
                   AgentSession.expires_at > now)).scalar_one()
        pending = session.execute(
            select(func.count()).select_from(TicketNotification)
            .where(TicketNotification.state == NotificationState.PENDING)).scalar_one()
        open_tickets = session.execute(
            select(Ticket.category, func.count()).where(Ticket.status.in_(OPEN_TICKETS))
            .group_by(Ticket.category)).all()
        breached = session.execute(
            select(Ticket.category, func.count()).where(
                Ticket.status.in_(OPEN_TICKETS),
                or_(Ticket.response_breached.is_(True), Ticket.resolution_breached.is_(True)))
            .group_by(Ticket.category)).all()
    return {
        "helpdesk_handoffs_waiting": {(skill.value,): float(n) for skill, n in waiting},
        "helpdesk_agents_online": {(): float(online)},
        "helpdesk_ticket_notifications_pending": {(): float(pending)},
        "helpdesk_tickets_open": {(category.value,): float(n) for category, n in open_tickets},
        "helpdesk_tickets_breached_open": {(category.value,): float(n)
                                           for category, n in breached},
    }


def reader(settings: Settings) -> Callable[[], Values]:
    db = Database(settings.database_url)
    return lambda: read(db, dt.datetime.now(dt.timezone.utc))
