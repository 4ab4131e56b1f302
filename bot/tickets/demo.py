"""Demo tickets for the demo organisation (bot/demo_data.py), dated relative to `today`.

References come from the same counters as real tickets, so the demo never causes gaps or
clashes. Loading is idempotent: the demo tickets carry idempotency keys `demo-1`, `demo-2`...
Demo tickets have no conversation, so changes to them are recorded but not pushed to a chat.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select

from bot.storage.database import Database
from bot.storage.models import Employee

from .categories import subject_from
from .lifecycle import move
from .models import (
    ActorKind,
    EventKind,
    Priority,
    ServiceLine,
    Ticket,
    TicketComment,
    TicketEvent,
    TicketStatus,
    Visibility,
)
from .references import allocate_reference, begin_write_transaction
from .sla import SlaPolicy


@dataclass(frozen=True)
class DemoTicket:
    key: str
    employee_number: str
    category: ServiceLine
    priority: Priority
    description: str
    days_ago: int
    moves: tuple[TicketStatus, ...] = ()
    public_reply: str | None = None
    internal_note: str | None = None


S = TicketStatus
DEMO_TICKETS = (
    DemoTicket("demo-1", "E1001", ServiceLine.HR, Priority.NORMAL,
               "My flexi balance looks wrong after my week of annual leave in October. "
               "It shows minus 7 hours.", 6, (S.OPEN,),
               public_reply="Thanks Alice, we're checking your October timesheets.",
               internal_note="Timesheet import failed for DDS on 14 Oct; re-run pending."),
    DemoTicket("demo-2", "E1001", ServiceLine.PAYROLL, Priority.HIGH,
               "The overtime I worked in September is missing from my October payslip.", 20,
               (S.OPEN, S.RESOLVED),
               public_reply="The overtime will be paid as arrears in your November pay."),
    DemoTicket("demo-3", "E1002", ServiceLine.PAYROLL, Priority.HIGH,
               "My tax code has changed to an emergency code and I don't know why.", 1),
    DemoTicket("demo-4", "E1004", ServiceLine.FINANCE, Priority.NORMAL,
               "My expense claim for the train to Bristol on 3 November was rejected.", 4,
               (S.OPEN, S.AWAITING_CUSTOMER),
               public_reply="Could you send us the receipt for the return ticket, please?"),
    DemoTicket("demo-5", "E1005", ServiceLine.ACCESS, Priority.HIGH,
               "I'm locked out of the HR self-service portal after resetting my password.", 30,
               (S.OPEN, S.RESOLVED, S.CLOSED)),
)
DEMO_AGENT = "demo.agent"


def load_demo_tickets(db: Database, policy: SlaPolicy, today: dt.date) -> bool:
    """Add the demo tickets unless present; True when something was added."""
    with db.unit_of_work() as session:
        begin_write_transaction(session)
        if session.scalar(select(Ticket.id).where(Ticket.idempotency_key == "demo-1")):
            return False
        people = dict(session.execute(select(Employee.employee_number, Employee.id)).all())
        if not all(demo.employee_number in people for demo in DEMO_TICKETS):
            return False  # the demo organisation is not loaded
        for demo in DEMO_TICKETS:
            raised = dt.datetime.combine(today - dt.timedelta(days=demo.days_ago),
                                         dt.time(10, 0), tzinfo=dt.timezone.utc)
            prefix, number, reference = allocate_reference(session, demo.category)
            due = policy.due_times(demo.priority, raised)
            ticket = Ticket(
                reference=reference, prefix=prefix, number=number, idempotency_key=demo.key,
                requester_id=people[demo.employee_number], category=demo.category,
                subject=subject_from(demo.description), description=demo.description,
                priority=demo.priority, status=S.NEW, created_at=raised, updated_at=raised,
                response_due_at=due.response, resolution_due_at=due.resolution,
                response_breached=False, resolution_breached=False, reopen_count=0,
            )
            session.add(ticket)
            session.flush()
            session.add(TicketEvent(ticket_id=ticket.id, at=raised, kind=EventKind.CREATED,
                                    actor_kind=ActorKind.EMPLOYEE,
                                    actor=f"employee:{ticket.requester_id}",
                                    to_status=S.NEW))
            for step, status in enumerate(demo.moves, start=1):
                move(session, ticket, status, actor_kind=ActorKind.AGENT, actor=DEMO_AGENT,
                     policy=policy, now=raised + dt.timedelta(hours=2 * step))
            for body, visibility in ((demo.public_reply, Visibility.PUBLIC),
                                     (demo.internal_note, Visibility.INTERNAL)):
                if body:
                    session.add(TicketComment(ticket_id=ticket.id, author_kind=ActorKind.AGENT,
                                              author_agent=DEMO_AGENT, visibility=visibility,
                                              body=body, created_at=raised + dt.timedelta(hours=1)))
        return True
