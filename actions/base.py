"""The shared shape of every helpdesk action: identity first, blocking work off the loop."""
from __future__ import annotations

import abc
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.identity import Principal

logger = logging.getLogger(__name__)

Events = List[Dict[Text, Any]]


def verified_principal(tracker: Tracker) -> Principal | None:
    """The principal the connector verified for the latest user message.

    Only message metadata written by our connectors counts: never slots, entities, text or
    the sender id.
    """
    return Principal.from_metadata((tracker.latest_message or {}).get("metadata"))


class HelpdeskAction(Action, abc.ABC):
    """Runs `answer` for a verified caller; unexpected failures become a polite message.

    Failures are logged by exception type only: the tracker and message text may hold
    personal data, and an exception escaping to rasa-sdk would be echoed into Rasa's logs.
    """

    @abc.abstractmethod
    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal
    ) -> Events:
        """Produce the responses and events for a verified caller."""

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
            logger.error("action.failed action=%s error=%s", self.name(), type(error).__name__)
            dispatcher.utter_message(response="utter_service_error")
            return []
