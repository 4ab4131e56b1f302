"""Turning a handoff into a helpdesk ticket (console), or raising one instead of a handoff
(out of hours, nobody online), through the ticket services of `bot.tickets`.

The ticket is raised for the employee of the conversation: its requester is the employee behind
the handoff's verified principal, exactly as if they had raised it in chat, with the
conversation id and channel so that ticket updates reach them in the same chat. The idempotency
key is derived from the handoff (console) or the conversation turn (chat), so a retried
conversion finds the same ticket.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.identity import Principal
from bot.storage.database import Database
from bot.tickets.enums import ServiceLine
from bot.tickets.requester import NewTicket, idempotency_key, raise_ticket
from bot.tickets.sla import SlaPolicy

from .accounts import ConsoleAgent
from .agent import Ended, check_assignee, end_handoff
from .enums import HandoffStatus
from .transcript import ticket_description

MIN_DESCRIPTION = 10


@dataclass(frozen=True)
class Converted:
    ended: Ended
    reference: str


def convert_to_ticket(db: Database, agent: ConsoleAgent, handoff_id: int,
                      category: ServiceLine, policy: SlaPolicy,
                      now: dt.datetime | None = None) -> Converted:
    """Raise the employee's ticket from the conversation and end the handoff."""
    view = check_assignee(db, agent, handoff_id)
    description = ticket_description(view)
    raised = raise_ticket(
        db, view.employee_principal,
        NewTicket(category=category, description=description,
                  conversation_id=view.conversation_id, channel=view.channel,
                  idempotency_key=idempotency_key(view.conversation_id, f"handoff-{view.id}")),
        policy, now=now)
    reference = raised.summary.reference
    ended = end_handoff(db, agent, handoff_id, HandoffStatus.TICKETED, reference, now=now)
    return Converted(ended, reference)


def ticket_instead_of_handoff(db: Database, principal: Principal, conversation_id: str,
                              channel: str, turn_id: str, category: ServiceLine, summary: str,
                              policy: SlaPolicy) -> str:
    """Out of hours: raise the ticket the employee accepted; its reference."""
    description = summary if len(summary.strip()) >= MIN_DESCRIPTION else (
        f"The employee asked to talk to the {category.value} helpdesk team.\n{summary}")
    raised = raise_ticket(
        db, principal,
        NewTicket(category=category, description=description[:2000],
                  conversation_id=conversation_id, channel=channel,
                  idempotency_key=idempotency_key(conversation_id, f"handoff-ticket-{turn_id}")),
        policy)
    return raised.summary.reference
