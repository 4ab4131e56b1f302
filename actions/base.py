"""The shared shape of every helpdesk action: identity first, blocking work off the loop, and
the one place where a failure becomes a reply.

Failures are logged by exception type only: the tracker and message text may hold personal
data, and an exception escaping to rasa-sdk would be echoed into Rasa's logs.
"""
from __future__ import annotations

import abc
import logging
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.errors import AccessRefused, HelpdeskError, UnknownPrincipal
from bot.identity import Principal

from .backoffice_replies import backoffice_reply

logger = logging.getLogger(__name__)

Events = List[Dict[Text, Any]]
Responses = Mapping[type[HelpdeskError], str]

# Identity and access refusals, each with the response that answers it. The services have
# already audited the refusal; the action only says so.
REFUSAL_RESPONSES: Responses = MappingProxyType({
    UnknownPrincipal: "utter_not_recognised",  # verified by the channel, not in the directory
    AccessRefused: "utter_records_not_yours",  # someone else's record
})
REFUSALS: tuple[type[HelpdeskError], ...] = tuple(REFUSAL_RESPONSES)
SERVICE_ERROR_RESPONSE = "utter_service_error"


def turn_id(tracker: Tracker) -> str:
    """The id of the user turn being answered: Rasa's message id, else its timestamp."""
    message_id = (tracker.latest_message or {}).get("message_id")
    if message_id:
        return str(message_id)
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return f"ts:{event.get('timestamp')}"
    return "no-turn"


def verified_principal(tracker: Tracker) -> Principal | None:
    """The principal the connector verified for the latest user message.

    Only message metadata written by our connectors counts: never slots, entities, text or
    the sender id.
    """
    return Principal.from_metadata((tracker.latest_message or {}).get("metadata"))


def answer_failure(dispatcher: CollectingDispatcher, action: str, error: Exception,
                   responses: Responses = REFUSAL_RESPONSES) -> None:
    """Say what a failure means to the employee: the response for an identity or access
    refusal (`responses` may word one differently for an action), otherwise a polite
    service error, logged by exception type only."""
    for kind in type(error).__mro__:
        response = responses.get(kind) or REFUSAL_RESPONSES.get(kind)  # type: ignore[arg-type]
        if response:
            dispatcher.utter_message(response=response)
            return
    reply = backoffice_reply(error)  # a system of record slow, down, or deciding elsewhere
    if reply is not None:
        logger.warning("action.backoffice action=%s error=%s", action, type(error).__name__)
        dispatcher.utter_message(text=reply)
        return
    logger.error("action.failed action=%s error=%s", action, type(error).__name__)
    dispatcher.utter_message(response=SERVICE_ERROR_RESPONSE)


class HelpdeskAction(Action, abc.ABC):
    """Runs `answer` for a verified caller; any failure becomes a reply (`answer_failure`)."""

    # An action's own wording of a refusal, over REFUSAL_RESPONSES.
    refusal_responses: ClassVar[Responses] = MappingProxyType({})

    @abc.abstractmethod
    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        """Produce the responses and events for a verified caller."""

    def events_after_refusal(self, tracker: Tracker) -> Events:
        """Events to return when the caller was refused (e.g. a form's slots cleared)."""
        return []

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Events:
        principal = verified_principal(tracker)
        if principal is None:
            logger.warning("action.no_principal action=%s", self.name())
            dispatcher.utter_message(response="utter_not_recognised")
            return []
        try:
            return await self.answer(dispatcher, tracker, principal)
        except Exception as error:
            answer_failure(dispatcher, self.name(), error, self.refusal_responses)
            return self.events_after_refusal(tracker) if isinstance(error, REFUSALS) else []


class SafeFormValidation:
    """Mixin for FormValidationActions (put it first): any failure becomes a reply
    (`answer_failure`) instead of an exception that rasa-sdk would echo with the tracker."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Events:
        try:
            return await super().run(dispatcher, tracker, domain)  # type: ignore[misc]
        except Exception as error:
            answer_failure(dispatcher, self.name(), error)  # type: ignore[attr-defined]
            return []
