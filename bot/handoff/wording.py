"""What the employee reads about their handoff, in one place (actions and the console use it)."""
from __future__ import annotations

from bot.tickets.enums import ServiceLine

from .routing import SKILL_TEAMS


def _wait(minutes: int | None) -> str:
    if minutes is None:
        return "as soon as someone is free"
    if minutes <= 1:
        return "in about a minute"
    return f"in about {minutes} minutes"


def _place(position: int) -> str:
    return "next in line" if position == 1 else f"number {position} in the queue"


def queued(skill: ServiceLine, position: int, wait_minutes: int | None) -> str:
    return (f"I've asked the {SKILL_TEAMS[skill]} helpdesk team to join this chat. You're "
            f"{_place(position)}, and someone should be with you {_wait(wait_minutes)}. "
            "Anything you type now goes to them, so you can start explaining if you like.")


def already_queued(skill: ServiceLine, position: int, wait_minutes: int | None) -> str:
    return (f"You're already waiting for the {SKILL_TEAMS[skill]} helpdesk team: you're "
            f"{_place(position)}, and someone should be with you {_wait(wait_minutes)}.")


def already_with_agent() -> str:
    return "You're already talking to someone from the helpdesk in this chat."


def position_update(position: int, wait_minutes: int | None) -> str:
    return (f"Update: you're now {_place(position)}; someone should be with you "
            f"{_wait(wait_minutes)}.")


def agent_joined(agent_name: str, skill: ServiceLine) -> str:
    return f"{agent_name} from the {SKILL_TEAMS[skill]} helpdesk team has joined the chat."


def transferred(skill: ServiceLine, position: int, wait_minutes: int | None) -> str:
    return (f"I'm passing your conversation to the {SKILL_TEAMS[skill]} helpdesk team. You're "
            f"{_place(position)}, and someone should be with you {_wait(wait_minutes)}.")


def handed_back(agent_name: str) -> str:
    return (f"{agent_name} has handed you back to the assistant. What else can I help you "
            "with?")


def ticket_raised(agent_name: str, reference: str) -> str:
    return (f"{agent_name} has turned this conversation into a helpdesk ticket, {reference}. "
            f"You'll hear here when it changes; you can also ask me \"any update on "
            f"{reference}?\". What else can I help you with?")


def offer_person() -> str:
    return ("Sorry, I'm not managing to help with that. Would you like to talk to someone "
            "from the helpdesk?")


def offer_ticket(opening_hours: str, closed: bool) -> str:
    why = (f"The helpdesk team is available {opening_hours}, so nobody can join this chat "
           "right now." if closed else
           "Nobody from the helpdesk team is available to join this chat right now.")
    return (f"{why} I can raise a ticket for you instead, with a summary of our conversation, "
            "so an adviser picks it up. Shall I?")


def ticket_from_chat(reference: str) -> str:
    return (f"I've raised ticket {reference} with a summary of our conversation. An adviser "
            f"will pick it up, and you'll hear here when it changes.")


def declined() -> str:
    return "OK. Is there anything else I can help with?"


def nothing_to_accept() -> str:
    return "OK. What can I help you with?"
