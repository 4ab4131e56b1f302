"""Policy questions answered from the knowledge base (bot.knowledge), never from the domain.

The action is thin: the verified caller (or nobody: an unidentified caller still gets the
general articles), the question and the previous answer's article go to
`bot.knowledge.answering.answer_question`, which chooses the section and records what was
shown. The reply is the excerpt with its source line and a link to the full article, and a
custom payload of metadata (topic, article id, version) that the web API returns as it is and
the Teams and Slack channels attach to the answer (connectors/message_metadata.py). With no
article good enough, the employee is offered a ticket or a person, never a guess.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import threading
from typing import Any, Dict, Text

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.config import Settings
from bot.knowledge.answering import (
    answer_question,
    article_link,
    index_for,
    reply_metadata,
    reply_text,
)

from . import services
from .base import Events, answer_failure, verified_principal

logger = logging.getLogger(__name__)

TOPIC_SLOT = "kb_topic"
ARTICLE_SLOT = "kb_article_id"
NO_ARTICLE_RESPONSE = "utter_kb_no_article"


@functools.lru_cache(maxsize=1)
def _settings() -> Settings:
    return Settings.from_env()


def _warm_up() -> None:
    try:
        index_for(services.database(), _settings().kb_refresh_seconds)
    except Exception as error:  # the first question builds it instead
        logger.warning("knowledge.warm_up_failed error=%s", type(error).__name__)


def warm_up_in_background() -> threading.Thread:
    """Build this process's knowledge index (the sentence encoder, the library's vectors) on a
    daemon thread as the action server starts, so that the first policy question does not wait
    for it (one asked sooner waits on the index's lock)."""
    thread = threading.Thread(target=_warm_up, name="knowledge-warm-up", daemon=True)
    thread.start()
    return thread


def previous_article(tracker: Tracker) -> int | None:
    """The article of the previous answer (a slot only this action sets), for follow-ups."""
    value = tracker.get_slot(ARTICLE_SLOT)
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


class ActionAnswerPolicy(Action):
    def name(self) -> Text:
        return "action_answer_policy"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: Dict[Text, Any]) -> Events:
        principal = verified_principal(tracker)
        question = str((tracker.latest_message or {}).get("text") or "")
        settings = _settings()
        try:
            decision = await asyncio.to_thread(
                answer_question, services.database(), principal, question, tracker.sender_id,
                previous_article(tracker), settings.kb_refresh_seconds)
        except Exception as error:
            answer_failure(dispatcher, self.name(), error)
            return []
        if not decision.answered or decision.chosen is None:
            dispatcher.utter_message(response=NO_ARTICLE_RESPONSE,
                                     json_message={"metadata": reply_metadata(decision)})
            return [SlotSet(TOPIC_SLOT, None), SlotSet(ARTICLE_SLOT, None)]
        channel = principal.channel if principal else ""
        link = article_link(decision.chosen.article_id, decision.chosen.version, channel,
                            settings.public_base_url)
        dispatcher.utter_message(text=reply_text(decision, link),
                                 json_message={"metadata": reply_metadata(decision, link)})
        return [SlotSet(TOPIC_SLOT, decision.topic),
                SlotSet(ARTICLE_SLOT, str(decision.chosen.article_id))]
