"""Satisfaction actions: thin. The decision and the storage are bot.insight.satisfaction's."""
from __future__ import annotations

import asyncio
import logging
from typing import Any, Dict, List, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.insight.satisfaction import add_comment, offer, rate, score_from_text

from . import services
from .base import verified_principal

logger = logging.getLogger(__name__)

Events = List[Dict[Text, Any]]
RECENT_MESSAGES = 3
NO_COMMENT = "-"


def _recent_texts(tracker: Tracker) -> list[str]:
    texts = [str(e.get("text") or "") for e in tracker.events if e.get("event") == "user"]
    return texts[-RECENT_MESSAGES:]


async def ask_if_due(dispatcher: CollectingDispatcher, tracker: Tracker) -> Events:
    """Ask for a rating when bot.insight says one is due; the slot records that it was asked."""
    try:
        due = await asyncio.to_thread(offer, services.database(), verified_principal(tracker),
                                      tracker.sender_id, tracker.events, _recent_texts(tracker))
    except Exception as error:  # never let a survey break the conversation
        logger.error("action.failed action=satisfaction_offer error=%s", type(error).__name__)
        return []
    if due is None:
        return []
    dispatcher.utter_message(response="utter_satisfaction_ask")
    return [SlotSet("satisfaction_asked", due.subject.value)]


class ActionSatisfactionOffer(Action):
    """After "thanks" or "bye" (and run by the console when a handoff ends): maybe ask."""

    def name(self) -> Text:
        return "action_satisfaction_offer"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> Events:
        return await ask_if_due(dispatcher, tracker)


class ActionSatisfactionRate(Action):
    """Store the score from the rating button; if there was nothing to rate, skip the comment."""

    def name(self) -> Text:
        return "action_satisfaction_rate"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> Events:
        score = next(tracker.get_latest_entity_values("rating"), None)
        if score is None:  # typed rather than clicked
            score = score_from_text(str((tracker.latest_message or {}).get("text") or ""))
        try:
            stored = await asyncio.to_thread(rate, services.database(), tracker.sender_id, score)
        except Exception as error:
            logger.error("action.failed action=%s error=%s", self.name(), type(error).__name__)
            stored = False
        if not stored:  # the form then has its slot and ends at once, asking nothing
            return [SlotSet("satisfaction_score", None),
                    SlotSet("satisfaction_comment", NO_COMMENT)]
        return [SlotSet("satisfaction_score", str(int(float(score)))),
                SlotSet("satisfaction_comment", None)]


class ActionSatisfactionDone(Action):
    """Keep the comment (redacted by bot.insight) unless the employee chose none; thank them."""

    def name(self) -> Text:
        return "action_satisfaction_done"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> Events:
        comment = tracker.get_slot("satisfaction_comment")
        rated = tracker.get_slot("satisfaction_score") is not None
        declined = (tracker.latest_message or {}).get("intent", {}).get("name") in ("deny", "stop")
        if rated and comment and comment != NO_COMMENT and not declined:
            try:
                await asyncio.to_thread(add_comment, services.database(), tracker.sender_id,
                                        str(comment))
            except Exception as error:
                logger.error("action.failed action=%s error=%s", self.name(),
                             type(error).__name__)
        if rated:
            dispatcher.utter_message(response="utter_satisfaction_thanks")
        return [SlotSet("satisfaction_comment", None), SlotSet("satisfaction_score", None)]
