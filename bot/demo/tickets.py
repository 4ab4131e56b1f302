"""The demo tickets of `description`, dated relative to `today`.

References come from the same counters as real tickets, so the demo never causes gaps or
clashes. Loading is idempotent: the demo tickets carry idempotency keys `demo-1`, `demo-2`...
Demo tickets have no conversation, so changes to them are recorded but not pushed to a chat.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from bot.storage.concurrency import begin_write_transaction
from bot.storage.database import Database
from bot.storage.models import Employee
from bot.tickets.categories import subject_from
from bot.tickets.enums import ActorKind, EventKind, TicketStatus, Visibility
from bot.tickets.lifecycle import move
from bot.tickets.models import Ticket, TicketComment, TicketEvent
from bot.tickets.references import allocate_reference
from bot.tickets.sla import SlaPolicy

from .description import DEMO_TICKET_AGENT, DEMO_TICKETS

RAISED_AT = dt.time(10, 0)  # each demo ticket was raised at ten in the morning


def seed_tickets(db: Database, policy: SlaPolicy, today: dt.date) -> bool:
    """Add the demo tickets unless present; True when something was added."""
    with db.unit_of_work() as session:
        begin_write_transaction(session)
        if session.scalar(select(Ticket.id).where(Ticket.idempotency_key == DEMO_TICKETS[0].key)):
            return False
        people = dict(session.execute(select(Employee.employee_number, Employee.id)).all())
        if not all(demo.employee_number in people for demo in DEMO_TICKETS):
            return False  # the demo organisation is not loaded
        for demo in DEMO_TICKETS:
            raised = dt.datetime.combine(today - dt.timedelta(days=demo.days_ago), RAISED_AT,
                                         tzinfo=dt.timezone.utc)
            prefix, number, reference = allocate_reference(session, demo.category)
            due = policy.due_times(demo.priority, raised)
            ticket = Ticket(
                reference=reference, prefix=prefix, number=number, idempotency_key=demo.key,
                requester_id=people[demo.employee_number], category=demo.category,
                subject=subject_from(demo.description), description=demo.description,
                priority=demo.priority, status=TicketStatus.NEW, created_at=raised,
                updated_at=raised, response_due_at=due.response,
                resolution_due_at=due.resolution, response_breached=False,
                resolution_breached=False, reopen_count=0,
            )
            session.add(ticket)
            session.flush()
            session.add(TicketEvent(ticket_id=ticket.id, at=raised, kind=EventKind.CREATED,
                                    actor_kind=ActorKind.EMPLOYEE,
                                    actor=f"employee:{ticket.requester_id}",
                                    to_status=TicketStatus.NEW))
            for step, status in enumerate(demo.moves, start=1):
                move(session, ticket, status, actor_kind=ActorKind.AGENT,
                     actor=DEMO_TICKET_AGENT, policy=policy,
                     now=raised + dt.timedelta(hours=2 * step))
            for body, visibility in ((demo.public_reply, Visibility.PUBLIC),
                                     (demo.internal_note, Visibility.INTERNAL)):
                if body:
                    session.add(TicketComment(
                        ticket_id=ticket.id, author_kind=ActorKind.AGENT,
                        author_agent=DEMO_TICKET_AGENT, visibility=visibility, body=body,
                        created_at=raised + dt.timedelta(hours=1)))
        return True
