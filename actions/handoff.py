"""Human handoff actions: queue the conversation for a person (and pause the assistant), offer
a person after two failed understandings, offer a ticket out of hours or when nobody is
online, and the employee's answer to either offer.

Thin: identity from the verified principal (`HelpdeskAction`); whether to queue or offer a
ticket, and the queue itself, in `bot.handoff.requester`; blocking work off the event loop. Another action that decides a case needs a person returns
`refer_to_person(skill)`.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from functools import lru_cache
from types import MappingProxyType
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused, FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.config import Settings
from bot.errors import UnknownPrincipal
from bot.handoff import wording
from bot.handoff.conversion import ticket_instead_of_handoff
from bot.handoff.enums import HandoffReason, HandoffStatus
from bot.handoff.errors import InvalidHandoffInput
from bot.handoff.requester import NewHandoff, TicketOffer, availability, queue_or_offer_ticket
from bot.handoff.routing import infer_skill, opening_hours_text, parse_skill
from bot.handoff.summary import ConversationFacts, build_summary
from bot.identity import Principal
from bot.tickets.enums import ServiceLine
from bot.tickets.errors import InvalidTicket
from bot.tickets.sla import policy_from_settings

from . import services
from .base import Events, HelpdeskAction, turn_id

logger = logging.getLogger(__name__)

OFFER_SLOT = "handoff_offer"  # "person" or "ticket": what the assistant just offered
SKILL_SLOT = "handoff_skill"  # the queue, when an action chose it
REASON_SLOT = "handoff_reason"
RECENT_TURNS = 10
YES_NO = [{"title": "Yes please", "payload": "/affirm"}, {"title": "No thanks",
                                                          "payload": "/deny"}]
REASON_LINES = {
    HandoffReason.REQUESTED: "Asked for a person",
    HandoffReason.NOT_UNDERSTOOD: "The assistant did not understand twice; accepted a person",
    HandoffReason.REFERRED: "Referred to a person by the assistant",
}


@lru_cache(maxsize=1)
def settings() -> Settings:
    return Settings.from_env()


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def refer_to_person(skill: ServiceLine) -> Events:
    """For other actions: hand this conversation to the `skill` team."""
    return [SlotSet(SKILL_SLOT, skill.value), SlotSet(REASON_SLOT, HandoffReason.REFERRED.value),
            FollowupAction("action_handoff_request")]


def conversation_facts(tracker: Tracker) -> tuple[ConversationFacts, float]:
    """Recent intents, slots and user messages; and the timestamp of the latest message."""
    intents: List[str] = []
    messages: List[str] = []
    latest = 0.0
    for event in tracker.events:
        if event.get("event") != "user":
            continue
        parse = event.get("parse_data") or {}
        intents.append(((parse.get("intent") or {}).get("name")) or "")
        text = event.get("text") or ""
        if text and not text.startswith("/"):  # button payloads are not words
            messages.append(text)
        latest = float(event.get("timestamp") or latest)
    facts = ConversationFacts(intents=intents[-RECENT_TURNS:], slots=dict(tracker.slots or {}),
                              user_messages=messages[-RECENT_TURNS:])
    return facts, latest


def _reason(tracker: Tracker, default: HandoffReason) -> HandoffReason:
    try:
        return HandoffReason(tracker.get_slot(REASON_SLOT) or default.value)
    except ValueError:
        return default


def _offer_ticket(dispatcher: CollectingDispatcher, skill: ServiceLine, is_open: bool) -> Events:
    dispatcher.utter_message(text=wording.offer_ticket(opening_hours_text(settings()),
                                                       closed=not is_open), buttons=YES_NO)
    return [SlotSet(OFFER_SLOT, "ticket"), SlotSet(SKILL_SLOT, skill.value)]


async def queue_for_person(dispatcher: CollectingDispatcher, tracker: Tracker,
                           principal: Principal, reason: HandoffReason) -> Events:
    """Queue the conversation (and pause), or offer a ticket when nobody can take it."""
    facts, latest = conversation_facts(tracker)
    skill = infer_skill(tracker.get_slot(SKILL_SLOT), facts.user_messages, facts.intents)
    summary = build_summary(facts, f"{REASON_LINES[reason]} ({skill.value} queue).")
    new = NewHandoff(tracker.sender_id, skill, reason, summary, latest)
    place = await asyncio.to_thread(queue_or_offer_ticket, services.database(), principal, new,
                                    settings(), now())
    if isinstance(place, TicketOffer):
        return _offer_ticket(dispatcher, place.skill, place.helpdesk_open)
    if place.created:
        text = wording.queued(place.skill, place.position or 1, place.wait_minutes)
    elif place.status is HandoffStatus.WAITING:
        text = wording.already_queued(place.skill, place.position or 1, place.wait_minutes)
    else:
        text = wording.already_with_agent()
    dispatcher.utter_message(text=text)
    logger.info("handoff.queued created=%s skill=%s", place.created, place.skill.value)
    return [SlotSet(OFFER_SLOT, None), SlotSet(SKILL_SLOT, None), SlotSet(REASON_SLOT, None),
            ConversationPaused()]


class ActionHandoffRequest(HelpdeskAction):
    """The employee asked for a person (or an action referred them)."""

    def name(self) -> Text:
        return "action_handoff_request"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     principal: Principal) -> Events:
        try:
            return await queue_for_person(dispatcher, tracker, principal,
                                          _reason(tracker, HandoffReason.REQUESTED))
        except InvalidHandoffInput:
            dispatcher.utter_message(response="utter_service_error")
            return []


class ActionHandoffOffer(HelpdeskAction):
    """Two failed understandings in a row: offer a person (or a ticket, when nobody can come)."""

    # Someone the directory does not know is asked to rephrase, as before the offer.
    refusal_responses = MappingProxyType({UnknownPrincipal: "utter_default"})

    def name(self) -> Text:
        return "action_handoff_offer"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     principal: Principal) -> Events:
        facts, _ = conversation_facts(tracker)
        skill = infer_skill(None, facts.user_messages, facts.intents)
        available = await asyncio.to_thread(availability, services.database(), principal, skill,
                                            settings(), now())
        if not available.someone_can_come:
            return _offer_ticket(dispatcher, skill, available.helpdesk_open)
        dispatcher.utter_message(text=wording.offer_person(), buttons=YES_NO)
        return [SlotSet(OFFER_SLOT, "person"), SlotSet(SKILL_SLOT, skill.value)]


class ActionHandoffAccept(HelpdeskAction):
    """"Yes" to the last offer: queue for a person, or raise the ticket."""

    def events_after_refusal(self, tracker: Tracker) -> Events:
        return [SlotSet(OFFER_SLOT, None)]

    def name(self) -> Text:
        return "action_handoff_accept"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     principal: Principal) -> Events:
        offer = tracker.get_slot(OFFER_SLOT)
        if offer == "person":
            return await queue_for_person(dispatcher, tracker, principal,
                                          HandoffReason.NOT_UNDERSTOOD)
        if offer == "ticket":
            return await self._raise(dispatcher, tracker, principal)
        dispatcher.utter_message(text=wording.nothing_to_accept())
        return []

    async def _raise(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     principal: Principal) -> Events:
        facts, _ = conversation_facts(tracker)
        skill = parse_skill(tracker.get_slot(SKILL_SLOT)) or infer_skill(
            None, facts.user_messages, facts.intents)
        summary = build_summary(facts, f"Asked for a person ({skill.value}); nobody was "
                                       "available, so a ticket was raised instead.")
        try:
            reference = await asyncio.to_thread(
                ticket_instead_of_handoff, services.database(), principal, tracker.sender_id,
                principal.channel, turn_id(tracker), skill, summary,
                policy_from_settings(settings()))
        except InvalidTicket:
            dispatcher.utter_message(response="utter_service_error")
            return [SlotSet(OFFER_SLOT, None)]
        dispatcher.utter_message(text=wording.ticket_from_chat(reference))
        return [SlotSet(OFFER_SLOT, None), SlotSet(SKILL_SLOT, None)]


class ActionHandoffDecline(Action):
    """"No" to the last offer."""

    def name(self) -> Text:
        return "action_handoff_decline"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=wording.declined())
        return [SlotSet(OFFER_SLOT, None), SlotSet(SKILL_SLOT, None)]


class ActionHandoffResume(Action):
    """Recorded by the console when an agent hands the conversation back (see
    the relay channel, connectors/relay.py); if Rasa ever runs it, it just says the assistant
    is back."""

    def name(self) -> Text:
        return "action_handoff_resume"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> List[Dict[Text, Any]]:
        dispatcher.utter_message(text=wording.nothing_to_accept())
        return []
