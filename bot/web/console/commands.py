"""Console commands (POST): claim, reply, note, transfer, hand back, convert to a ticket.

Each works as a plain HTML form (303 back to the conversation) and as a `fetch` call from
console.js (`Accept: application/json`, JSON answer). Database first where the database
decides (a claim is won or lost there), Rasa first where the employee must not be left in the
wrong state: the conversation is handed back in Rasa before the handoff is marked ended, so a
failure leaves it with the agent, who can try again. Everything the employee is told goes
through Rasa's relay channel (bot/relay.py), which saves a message only once delivered.
"""
from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from aiohttp import web

from bot.handoff import agent as handoffs
from bot.handoff import wording
from bot.handoff.enums import HandoffStatus
from bot.handoff.errors import (
    AlreadyClaimed,
    HandoffClosed,
    HandoffNotFound,
    InvalidHandoffInput,
    NotAssignee,
    NotEligible,
)
from bot.handoff.routing import parse_skill
from bot.handoff.transcript import ticket_description
from bot.handoff.views import HandoffView
from bot.tickets.requester import NewTicket, idempotency_key, raise_ticket

from bot.relay import Relay, RelayError

from ..forms import form_text, small_id
from ..keys import DATABASE
from . import views
from .auth import SESSION, agent_command, wants_json
from .keys import HUB, RELAY, TICKET_POLICY

log = logging.getLogger(__name__)

MESSAGES: dict[type[Exception], tuple[int, str]] = {
    AlreadyClaimed: (409, "Someone else claimed this conversation first."),
    HandoffClosed: (409, "This conversation has already ended."),
    NotAssignee: (403, "Only the agent who claimed this conversation can do that."),
    NotEligible: (403, "This conversation is in a queue you do not work."),
    HandoffNotFound: (404, "There is no such conversation."),
}
RASA_DOWN = ("The employee's chat could not be reached, so nothing was sent. Try again in a "
             "moment.")


def _id(request: web.Request) -> int:
    handoff_id = small_id(request.match_info["handoff_id"])
    if handoff_id is None:
        raise web.HTTPNotFound()
    return handoff_id


def _answer(request: web.Request, status: int, message: str,
            extra: dict[str, Any] | None = None) -> web.StreamResponse:
    if wants_json(request):
        body = {"message": message} if status < 400 else {"error": message}
        return web.json_response({**body, **(extra or {})}, status=status)
    if status < 400:
        return web.Response(status=303,
                            headers={"Location": f"/console/handoffs/{_id(request)}"})
    back = f'<p><a href="/console/handoffs/{_id(request)}">Back to the conversation</a></p>'
    return web.Response(text=f"<!doctype html><html lang='en-GB'><title>Not done</title>"
                             f"<main><h1>Not done</h1><p>{views.escape(message)}</p>{back}"
                             "</main></html>", content_type="text/html", status=status)


def _refused(request: web.Request, error: Exception) -> web.StreamResponse:
    status, message = MESSAGES.get(type(error), (400, str(error)))
    if isinstance(error, InvalidHandoffInput):
        message = f"Not done: {error}."
    return _answer(request, status, message)


def _relay(request: web.Request) -> Relay:
    relay = request.app.get(RELAY)
    if relay is None:
        raise web.HTTPServiceUnavailable(text="The console is not connected to the assistant "
                                              "(RELAY_CONSOLE_KEY is not set).")
    return relay


@agent_command
async def claim(request: web.Request) -> web.StreamResponse:
    agent = request[SESSION].agent
    db = request.app[DATABASE]
    try:
        won = await asyncio.to_thread(handoffs.claim, db, agent, _id(request))
    except (AlreadyClaimed, NotEligible, HandoffNotFound) as error:
        return _refused(request, error)
    await request.app[HUB].notify()
    note = "You have the conversation."
    try:
        await _relay(request).say(won.conversation_id,
                                 wording.agent_joined(agent.display_name, won.skill),
                                 author=agent.display_name)
    except RelayError:
        note = "You have the conversation, but the employee could not be told yet."
    log.info("console.claim handoff_id=%s", won.handoff_id)
    return _answer(request, 200, note)


@agent_command
async def reply(request: web.Request) -> web.StreamResponse:
    agent = request[SESSION].agent
    db = request.app[DATABASE]
    text = await form_text(request, "text")
    key = await form_text(request, "submission") or uuid.uuid4().hex
    try:
        recorded = await asyncio.to_thread(handoffs.add_reply, db, agent, _id(request), text, key)
    except (HandoffClosed, NotAssignee, HandoffNotFound, InvalidHandoffInput) as error:
        return _refused(request, error)
    delivered = True
    try:
        await _relay(request).say(recorded.conversation_id, recorded.body,
                                 author=agent.display_name)
    except RelayError:
        delivered = False
    await asyncio.to_thread(handoffs.mark_delivery, db, recorded.entry_id, delivered)
    await request.app[HUB].notify()
    if not delivered:
        return _answer(request, 502, RASA_DOWN)
    return _answer(request, 200, "Reply sent.", {"entry_id": recorded.entry_id})


@agent_command
async def note(request: web.Request) -> web.StreamResponse:
    agent = request[SESSION].agent
    try:
        entry_id = await asyncio.to_thread(handoffs.add_note, request.app[DATABASE], agent,
                                           _id(request), await form_text(request, "text"))
    except (NotEligible, HandoffNotFound, InvalidHandoffInput) as error:
        return _refused(request, error)
    await request.app[HUB].notify()
    return _answer(request, 200, "Note added.", {"entry_id": entry_id})


@agent_command
async def transfer(request: web.Request) -> web.StreamResponse:
    agent = request[SESSION].agent
    skill = parse_skill(await form_text(request, "skill"))
    if skill is None:
        return _answer(request, 400, "Choose a team to transfer to.")
    try:
        moved = await asyncio.to_thread(handoffs.transfer, request.app[DATABASE], agent,
                                        _id(request), skill)
    except (HandoffClosed, NotAssignee, HandoffNotFound, InvalidHandoffInput) as error:
        return _refused(request, error)
    await request.app[HUB].notify()
    note = f"Transferred to the {views.team(skill)} queue."
    try:
        await _relay(request).say(moved.conversation_id, wording.transferred(
            skill, moved.place.position or 1, moved.place.wait_minutes))
    except RelayError:
        note += " The employee could not be told yet."
    return _answer(request, 200, note)


@agent_command
async def handback(request: web.Request) -> web.StreamResponse:
    agent = request[SESSION].agent
    db = request.app[DATABASE]
    try:
        view = await asyncio.to_thread(handoffs.check_assignee, db, agent, _id(request))
    except (HandoffClosed, NotAssignee, HandoffNotFound) as error:
        return _refused(request, error)
    try:
        await _relay(request).hand_back(view.conversation_id,
                                       wording.handed_back(agent.display_name))
    except RelayError:
        return _answer(request, 502, RASA_DOWN)
    try:
        await asyncio.to_thread(handoffs.end_handoff, db, agent, view.id, HandoffStatus.RESUMED)
    except (HandoffClosed, NotAssignee) as error:
        return _refused(request, error)
    await request.app[HUB].notify()
    log.info("console.handback handoff_id=%s", view.id)
    return _answer(request, 200, "Handed back to the assistant.")


def _raise_for(db, view: HandoffView, category, policy) -> str:  # noqa: ANN001
    raised = raise_ticket(
        db, view.employee_principal,
        NewTicket(category=category, description=ticket_description(view),
                  conversation_id=view.conversation_id, channel=view.channel,
                  idempotency_key=idempotency_key(view.conversation_id, f"handoff-{view.id}")),
        policy)
    return raised.summary.reference


@agent_command
async def ticket(request: web.Request) -> web.StreamResponse:
    """Raise the employee's ticket (idempotent), hand back in Rasa, then end the handoff."""
    agent = request[SESSION].agent
    db = request.app[DATABASE]
    category = parse_skill(await form_text(request, "category"))
    if category is None:
        return _answer(request, 400, "Choose a category for the ticket.")
    try:
        view = await asyncio.to_thread(handoffs.check_assignee, db, agent, _id(request))
    except (HandoffClosed, NotAssignee, HandoffNotFound) as error:
        return _refused(request, error)
    reference = await asyncio.to_thread(_raise_for, db, view, category,
                                        request.app[TICKET_POLICY])
    try:
        await _relay(request).hand_back(view.conversation_id,
                                       wording.ticket_raised(agent.display_name, reference))
    except RelayError:
        return _answer(request, 502, RASA_DOWN + f" (Ticket {reference} exists.)")
    try:
        ended = await asyncio.to_thread(handoffs.end_handoff, db, agent, view.id,
                                        HandoffStatus.TICKETED, reference)
    except (HandoffClosed, NotAssignee) as error:
        return _refused(request, error)
    await request.app[HUB].notify()
    log.info("console.ticket handoff_id=%s", ended.handoff_id)
    return _answer(request, 200, f"Ticket {reference} raised; the conversation is back with "
                                 "the assistant.", {"reference": reference})

