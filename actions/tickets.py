"""Helpdesk ticket actions: raise (a form with confirmation), status, list, add a note, close,
reopen, and the proactive notice of an agent's change.

Thin: identity comes from the verified principal (`HelpdeskAction`), the work from
`bot.tickets`, run off the event loop. A reference in the message names a ticket, never a
person: the services check that it is the caller's own.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging
from functools import lru_cache
from typing import Any, Dict, List, Optional, Text

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from bot.config import Settings
from bot.errors import UnknownPrincipal
from bot.identity import Principal
from bot.tickets.categories import (
    PRIORITY_TITLES,
    SERVICE_LINES,
    parse_category,
    parse_priority,
)
from bot.tickets.enums import Priority, ServiceLine, TicketStatus
from bot.tickets.errors import (
    InvalidTicket,
    InvalidTransition,
    NotYourTicket,
    ReopenWindowPassed,
    TicketNotFound,
)
from bot.tickets.notifications import NOTIFY_ACTION, STATUS_WORDS, claim_for_conversation
from bot.tickets.references import find_references, normalise_reference
from bot.tickets.requester import (
    MAX_TEXT,
    MIN_COMMENT,
    MIN_DESCRIPTION,
    NewTicket,
    add_my_comment,
    close_my_ticket,
    idempotency_key,
    my_latest_ticket,
    my_reopenable_tickets,
    my_ticket,
    my_tickets,
    raise_ticket,
    reopen_my_ticket,
)
from bot.tickets.sla import SlaPolicy, policy_from_settings
from bot.tickets.views import TicketDetail, TicketSummary

from . import services
from .base import Events, HelpdeskAction, SafeFormValidation, turn_id, verified_principal
from .satisfaction import ask_if_due

logger = logging.getLogger(__name__)

FORM_SLOTS = ("ticket_category", "ticket_description", "ticket_priority", "ticket_confirmed")
COMMENT_SLOTS = ("ticket_reference", "ticket_comment", "ticket_nothing_open")
SUGGESTED = "suggested"
MAX_BUTTONS = 5


@lru_cache(maxsize=1)
def _policy_from_env() -> SlaPolicy:
    return policy_from_settings(Settings.from_env())


def sla_policy() -> SlaPolicy:
    """The SLA policy of this process (tests replace this function)."""
    return _policy_from_env()


def _reset(names: tuple[str, ...]) -> Events:
    return [SlotSet(name, None) for name in names]


def when(moment: dt.datetime, policy: SlaPolicy) -> str:
    """'Friday 27 November at 17:00' in the business calendar's time zone."""
    local = moment.astimezone(policy.calendar.zone)
    return f"{local:%A} {local.day} {local:%B} at {local:%H:%M}"


def day(moment: dt.datetime, policy: SlaPolicy) -> str:
    local = moment.astimezone(policy.calendar.zone)
    return f"{local:%a} {local.day} {local:%b}"


def category_title(category: ServiceLine) -> str:
    return SERVICE_LINES[category].title


def category_of(tracker: Tracker) -> Optional[ServiceLine]:
    return parse_category(str(tracker.get_slot("ticket_category") or ""))


def read_back(category: Optional[ServiceLine], priority: Priority, description: str) -> str:
    """What will be raised, in the employee's own words, before they confirm it."""
    team = category_title(category) if category else "the helpdesk"
    word = PRIORITY_TITLES[priority].lower()
    article = "an" if word[0] in "aeiou" else "a"
    return f"I'll raise {article} {word} priority query with {team}:\n\"{description}\""


def mentioned_reference(tracker: Tracker) -> Optional[str]:
    """The one ticket reference in the latest message (entity first, then the text)."""
    for value in tracker.get_latest_entity_values("ticket_reference"):
        reference = normalise_reference(str(value))
        if reference:
            return reference
    found = find_references((tracker.latest_message or {}).get("text") or "")
    return found[0] if len(found) == 1 else None


def describe_summary(ticket: TicketSummary, policy: SlaPolicy) -> str:
    line = (f"{ticket.reference} ({category_title(ticket.category)}): {ticket.subject} - "
            f"{STATUS_WORDS[ticket.status]}")
    if ticket.status in (TicketStatus.NEW, TicketStatus.OPEN):
        line += f", due to be resolved by {when(ticket.resolution_due_at, policy)}"
    return line


def describe_detail(detail: TicketDetail, policy: SlaPolicy) -> str:
    ticket = detail.summary
    text = (f"{ticket.reference} ({category_title(ticket.category)}, "
            f"{PRIORITY_TITLES[ticket.priority].lower()} priority), raised "
            f"{day(ticket.created_at, policy)}: {ticket.subject}\n"
            f"Status: {STATUS_WORDS[ticket.status]}.")
    if ticket.status in (TicketStatus.NEW, TicketStatus.OPEN):
        if ticket.first_responded_at is None:
            text += f" We aim to reply by {when(ticket.response_due_at, policy)}"
            text += f" and to resolve it by {when(ticket.resolution_due_at, policy)}."
        else:
            text += f" We aim to resolve it by {when(ticket.resolution_due_at, policy)}."
    helpdesk = [c for c in detail.comments if c.author != "you"]
    if helpdesk:
        latest = helpdesk[-1]
        text += f"\nLatest from the helpdesk ({day(latest.created_at, policy)}): {latest.body}"
    if ticket.status is TicketStatus.AWAITING_CUSTOMER:
        text += f"\nTo reply, say \"add a note to {ticket.reference}\"."
    return text


def choice_buttons(tickets: List[TicketSummary], intent: Optional[str]) -> List[Dict[str, str]]:
    """One button per ticket; with an intent the payload carries the reference as an entity."""
    buttons = []
    for ticket in tickets[:MAX_BUTTONS]:
        payload = (f'/{intent}{{"ticket_reference":"{ticket.reference}"}}' if intent
                   else ticket.reference)
        buttons.append({"title": f"{ticket.reference}: {ticket.subject[:40]}",
                        "payload": payload})
    return buttons

def pick_reference(dispatcher: CollectingDispatcher, tracker: Tracker,
                   candidates: List[TicketSummary], verb: str, none_response: str,
                   intent: str) -> Optional[str]:
    """The reference the message names, else the only candidate; otherwise answer and None."""
    reference = mentioned_reference(tracker)
    if reference is not None:
        return reference
    if not candidates:
        dispatcher.utter_message(response=none_response)
        return None
    if len(candidates) > 1:
        dispatcher.utter_message(text=f"Which case would you like to {verb}?",
                                 buttons=choice_buttons(candidates, intent))
        return None
    return candidates[0].reference



# ------------------------------------------------------------------ raising a ticket (form)


class ValidateTicketForm(SafeFormValidation, FormValidationAction):
    """Category (from the opening message when it is clear), description, priority, yes/no."""

    def name(self) -> Text:
        return "validate_ticket_form"

    async def extract_ticket_category(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        # Only when the form starts: "I want to raise a query about my pension" needs no
        # question about the team. Later answers come through the from_text mapping.
        if tracker.get_slot("requested_slot") or tracker.get_slot("ticket_category"):
            return {}
        if (tracker.latest_message or {}).get("intent", {}).get("name") != "ticket_create":
            return {}
        category = parse_category((tracker.latest_message or {}).get("text") or "")
        return {"ticket_category": category.value} if category else {}

    def validate_ticket_category(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        category = parse_category(str(value or ""))
        if category is None:
            dispatcher.utter_message(response="utter_ticket_category_unclear")
            return {"ticket_category": None}
        return {"ticket_category": category.value}

    def validate_ticket_description(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        text = str(value or "").strip()
        if len(text) < MIN_DESCRIPTION:
            dispatcher.utter_message(response="utter_ticket_description_too_short")
            return {"ticket_description": None}
        return {"ticket_description": text[:MAX_TEXT]}

    def validate_ticket_priority(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        category = category_of(tracker)
        if value == SUGGESTED:
            priority = SERVICE_LINES[category].suggested_priority if category else Priority.NORMAL
        else:
            priority = parse_priority(str(value or ""))
        if priority is None:
            dispatcher.utter_message(response="utter_ticket_priority_unclear")
            return {"ticket_priority": None}
        # The last answer before the confirmation (utter_ask_ticket_confirmed): the query is
        # read back here, with the question asked by the form right after, because a response
        # template cannot quote the employee's text safely (Rasa's interpolation returns the
        # bare template when a value contains "0[", RasaHQ/rasa#4550).
        dispatcher.utter_message(text=read_back(
            category, priority, str(tracker.get_slot("ticket_description") or "")))
        return {"ticket_priority": priority.value}

    def validate_ticket_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        return {"ticket_confirmed": value if isinstance(value, bool) else None}


class ActionTicketCreate(HelpdeskAction):
    """Raises the confirmed ticket, once per conversation turn, and gives the reference."""

    def name(self) -> Text:
        return "action_ticket_create"

    def events_after_refusal(self, tracker: Tracker) -> Events:
        return _reset(FORM_SLOTS)

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     principal: Principal) -> Events:
        reset = _reset(FORM_SLOTS)
        if tracker.get_slot("ticket_confirmed") is not True:
            dispatcher.utter_message(response="utter_ticket_not_raised")
            return reset
        category = parse_category(str(tracker.get_slot("ticket_category") or ""))
        priority = parse_priority(str(tracker.get_slot("ticket_priority") or ""))
        if category is None:
            dispatcher.utter_message(response="utter_ticket_not_raised")
            return reset
        request = NewTicket(
            category=category,
            description=str(tracker.get_slot("ticket_description") or ""),
            priority=priority,
            conversation_id=tracker.sender_id,
            channel=principal.channel,
            idempotency_key=idempotency_key(tracker.sender_id, turn_id(tracker)),
        )
        policy = sla_policy()
        try:
            raised = await asyncio.to_thread(raise_ticket, services.database(), principal,
                                             request, policy)
        except InvalidTicket:
            dispatcher.utter_message(response="utter_ticket_description_too_short")
            return reset
        ticket = raised.summary
        reset = [*reset, SlotSet("ticket_raised", ticket.reference)]  # counted by bot.insight
        dispatcher.utter_message(
            text=(f"Done. Your query is logged as {ticket.reference}. "
                  f"We aim to reply by {when(ticket.response_due_at, policy)} and to resolve "
                  f"it by {when(ticket.resolution_due_at, policy)}. "
                  f"You can ask me about {ticket.reference} at any time.")
        )
        return reset


class ActionTicketCancel(Action):
    def name(self) -> Text:
        return "action_ticket_cancel"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> Events:
        dispatcher.utter_message(response="utter_ticket_cancelled")
        return _reset(FORM_SLOTS + COMMENT_SLOTS)


# ------------------------------------------------------------------ reading


class ActionTicketStatus(HelpdeskAction):
    """A named ticket of the caller's, or their most recently updated one."""

    def name(self) -> Text:
        return "action_ticket_status"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     principal: Principal) -> Events:
        db, policy = services.database(), sla_policy()
        reference = mentioned_reference(tracker)
        try:
            if reference:
                detail: Optional[TicketDetail] = await asyncio.to_thread(
                    my_ticket, db, principal, reference)
            else:
                detail = await asyncio.to_thread(my_latest_ticket, db, principal)
        except (TicketNotFound, NotYourTicket):
            dispatcher.utter_message(response="utter_ticket_not_found")
            return []
        if detail is None:
            dispatcher.utter_message(response="utter_no_tickets")
            return []
        dispatcher.utter_message(text=describe_detail(detail, policy))
        return []


class ActionTicketList(HelpdeskAction):
    def name(self) -> Text:
        return "action_ticket_list"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     principal: Principal) -> Events:
        policy = sla_policy()
        tickets = await asyncio.to_thread(my_tickets, services.database(), principal)
        if not tickets:
            dispatcher.utter_message(response="utter_no_open_tickets")
            return []
        count = len(tickets)
        lines = [f"You have {count} open {'query' if count == 1 else 'queries'}:"]
        lines += [f"- {describe_summary(t, policy)}" for t in tickets]
        dispatcher.utter_message(text="\n".join(lines))
        return []


# ------------------------------------------------------------------ adding a note (form)


class ValidateTicketCommentForm(SafeFormValidation, FormValidationAction):
    """Which case (named, or the only open one, or chosen), then the note itself."""

    def name(self) -> Text:
        return "validate_ticket_comment_form"

    async def required_slots(self, domain_slots: List[Text], dispatcher: CollectingDispatcher,
                             tracker: Tracker, domain: DomainDict) -> List[Text]:
        if tracker.get_slot("ticket_nothing_open"):
            return []  # nothing to add to: the form ends and the submit action says so
        return domain_slots

    async def extract_ticket_reference(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> Dict[Text, Any]:
        requested = tracker.get_slot("requested_slot")
        if tracker.get_slot("ticket_reference") or requested not in (None, "ticket_reference"):
            return {}
        reference = mentioned_reference(tracker)
        if reference:
            return {"ticket_reference": reference}
        if requested is not None:
            return {}
        principal = verified_principal(tracker)
        if principal is None:
            return {"ticket_nothing_open": True}
        try:
            open_tickets = await asyncio.to_thread(my_tickets, services.database(), principal)
        except UnknownPrincipal:  # not a reply: nobody the directory knows has a case open
            return {"ticket_nothing_open": True}
        if not open_tickets:
            return {"ticket_nothing_open": True}
        if len(open_tickets) == 1:
            return {"ticket_reference": open_tickets[0].reference}
        return {}

    def validate_ticket_reference(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        reference = normalise_reference(str(value or ""))
        if reference is None:
            dispatcher.utter_message(response="utter_ticket_no_reference")
        return {"ticket_reference": reference}

    def validate_ticket_comment(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
        domain: DomainDict,
    ) -> Dict[Text, Any]:
        text = str(value or "").strip()
        if len(text) < MIN_COMMENT:
            dispatcher.utter_message(response="utter_ticket_comment_too_short")
            return {"ticket_comment": None}
        return {"ticket_comment": text[:MAX_TEXT]}


class ActionAskTicketReference(HelpdeskAction):
    """Offers the caller's open cases as buttons."""

    def name(self) -> Text:
        return "action_ask_ticket_reference"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     principal: Principal) -> Events:
        tickets = await asyncio.to_thread(my_tickets, services.database(), principal)
        dispatcher.utter_message(text="Which case would you like to add a note to?",
                                 buttons=choice_buttons(tickets, None))
        return []


class ActionTicketAddComment(HelpdeskAction):
    def name(self) -> Text:
        return "action_ticket_add_comment"

    def events_after_refusal(self, tracker: Tracker) -> Events:
        return _reset(COMMENT_SLOTS)

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     principal: Principal) -> Events:
        reset = _reset(COMMENT_SLOTS)
        reference = tracker.get_slot("ticket_reference")
        comment = tracker.get_slot("ticket_comment")
        if tracker.get_slot("ticket_nothing_open") or not reference or not comment:
            dispatcher.utter_message(response="utter_no_open_tickets")
            return reset
        try:
            ticket = await asyncio.to_thread(add_my_comment, services.database(), principal,
                                             reference, comment, sla_policy())
        except (TicketNotFound, NotYourTicket):
            dispatcher.utter_message(response="utter_ticket_not_found")
            return reset
        except InvalidTransition:
            dispatcher.utter_message(
                text=f"{reference} is already resolved or closed, so I can't add a note. "
                     f"If it isn't sorted, say \"reopen {reference}\".")
            return reset
        except InvalidTicket:
            dispatcher.utter_message(response="utter_ticket_comment_too_short")
            return reset
        dispatcher.utter_message(
            text=f"I've added your note to {ticket.reference}. The helpdesk can see it now.")
        return reset


# ------------------------------------------------------------------ closing and reopening


class ActionTicketClose(HelpdeskAction):
    """Closes the named case, or the only open one; with several, asks which."""

    def name(self) -> Text:
        return "action_ticket_close"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     principal: Principal) -> Events:
        db, policy = services.database(), sla_policy()
        try:
            candidates = ([] if mentioned_reference(tracker)
                          else await asyncio.to_thread(my_tickets, db, principal))
            reference = pick_reference(dispatcher, tracker, candidates, "close",
                                       "utter_no_open_tickets", "ticket_close")
            if reference is None:
                return []
            ticket = await asyncio.to_thread(close_my_ticket, db, principal, reference, policy)
        except (TicketNotFound, NotYourTicket):
            dispatcher.utter_message(response="utter_ticket_not_found")
            return []
        except InvalidTransition:
            dispatcher.utter_message(response="utter_ticket_already_closed")
            return []
        dispatcher.utter_message(
            text=(f"I've closed {ticket.reference} ({ticket.subject}). If it turns out not to "
                  f"be sorted, say \"reopen {ticket.reference}\" within "
                  f"{policy.reopen_working_days} working days."))
        return []


class ActionTicketReopen(HelpdeskAction):
    """Reopens the named case, or the only recently finished one; with several, asks which."""

    def name(self) -> Text:
        return "action_ticket_reopen"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                     principal: Principal) -> Events:
        db, policy = services.database(), sla_policy()
        try:
            candidates = ([] if mentioned_reference(tracker)
                          else await asyncio.to_thread(my_reopenable_tickets, db, principal, policy))
            reference = pick_reference(dispatcher, tracker, candidates, "reopen",
                                       "utter_nothing_to_reopen", "ticket_reopen")
            if reference is None:
                return []
            ticket = await asyncio.to_thread(reopen_my_ticket, db, principal, reference, policy)
        except (TicketNotFound, NotYourTicket):
            dispatcher.utter_message(response="utter_ticket_not_found")
            return []
        except (InvalidTransition, ReopenWindowPassed):
            dispatcher.utter_message(response="utter_ticket_not_reopenable")
            return []
        dispatcher.utter_message(
            text=(f"I've reopened {ticket.reference}. It's back with the "
                  f"{category_title(ticket.category)} team, who aim to resolve it by "
                  f"{when(ticket.resolution_due_at, policy)}. Say \"add a note to "
                  f"{ticket.reference}\" to tell them what's still wrong."))
        return []


# ------------------------------------------------------------------ proactive notices


class ActionTicketNotify(Action):
    """Run by the notification sender through Rasa's `execute` endpoint, not predicted.

    No user message precedes it, so there is no principal to check: it may only say what the
    outbox holds for tickets raised from this very conversation (the sender id), each once.
    """

    def name(self) -> Text:
        return NOTIFY_ACTION

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> Events:
        try:
            texts = await asyncio.to_thread(claim_for_conversation, services.database(),
                                            tracker.sender_id, None, services.queries_url())
        except Exception as error:
            logger.error("action.failed action=%s error=%s", self.name(), type(error).__name__)
            return []
        for text in texts:
            dispatcher.utter_message(text=text)
        if texts:  # a resolved ticket is rated once (bot.insight.satisfaction decides)
            return await ask_if_due(dispatcher, tracker)
        return []
