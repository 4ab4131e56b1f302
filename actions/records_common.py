"""What the HR and finance record actions share: who the request is about, refusals, wording.

Identity comes only from `verified_principal` (connector metadata). Names and employee
numbers in a request (the `person` and `employee_number` entities, including ones injected
with `/intent{...}`, and slots of those names) are passed to the services as *mentions*: the
services refuse and audit any that are not the caller (or, for leave, a direct report).
"""

from __future__ import annotations

import abc
import asyncio
import datetime as dt
import functools
import logging
from decimal import Decimal
from typing import Any, Dict, Text

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.backoffice import writes
from bot.backoffice.resilience import answering
from bot.config import Settings
from bot.identity import Principal
from bot.records.access import refuse_unverified
from bot.records.notifications import push, remember_conversation

from . import services
from .backoffice_replies import stale_notice
from .base import REFUSALS, Events, HelpdeskAction, answer_failure, turn_id, verified_principal

logger = logging.getLogger(__name__)

SUBJECT_ENTITIES = ("person", "employee_number")


@functools.lru_cache(maxsize=1)
def _settings() -> Settings:
    return Settings.from_env()


async def push_notice(conversation_id: str) -> bool:
    """Ask Rasa's relay (RASA_URL, with the action server's RELAY_RECORDS_KEY) to run the
    notify action there."""
    settings = _settings()
    return await push(settings.rasa_url, settings.relay_records_key, conversation_id)


def mentions(tracker: Tracker) -> list[str]:
    """Every person the latest message (or an injected slot) names, as typed."""
    found: list[str] = []
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") in SUBJECT_ENTITIES and entity.get("value"):
            found.append(str(entity["value"]))
    for slot in SUBJECT_ENTITIES:
        value = tracker.slots.get(slot)
        if isinstance(value, str) and value:
            found.append(value)
        elif isinstance(value, list):
            found += [str(v) for v in value if v]
    return list(dict.fromkeys(found))


def turn_key(tracker: Tracker, kind: str) -> str:
    """The client reference of this turn's write of `kind`: a retried action call (same
    conversation, same user message) makes one record in the system of record. A turn with
    neither a message id nor a timestamp cannot be told from another: its write is one-off."""
    turn = turn_id(tracker)
    if turn in ("no-turn", "ts:None"):
        return writes.one_off_key()
    return writes.turn_key(kind, tracker.sender_id, turn)


def entity(tracker: Tracker, name: str) -> str | None:
    for item in (tracker.latest_message or {}).get("entities") or []:
        if item.get("entity") == name and item.get("value"):
            return str(item["value"])
    return None


def text_of(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def days(value: Decimal) -> str:
    number = f"{Decimal(value).normalize():f}"
    return f"{number} day" if Decimal(value) == 1 else f"{number} days"


def date(value: dt.date) -> str:
    return f"{value:%A} {value.day} {value:%B %Y}"


def short_date(value: dt.date) -> str:
    return f"{value:%a} {value.day} {value:%b}"


async def run_service(
    dispatcher: CollectingDispatcher, function: Any, *args: Any, **kwargs: Any
) -> Any:
    """`function(*args, **kwargs)` in a worker thread, its reads of systems of record bound by
    the answer budget (BACKOFFICE_ANSWER_BUDGET, under the 3 s promised); if any came from a
    last good copy, the employee is told so (and when) before the answer."""
    with answering(_settings().backoffice.answer_budget_seconds) as notes:
        result = await asyncio.to_thread(function, *args, **kwargs)
    if notes.oldest_stale is not None:
        dispatcher.utter_message(text=stale_notice(notes.oldest_stale))
    return result


class RecordsAction(HelpdeskAction, abc.ABC):
    """A HelpdeskAction whose refusals are audited and answered the same way everywhere."""

    record_type = "records"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Dict[Text, Any]
    ) -> Events:
        principal = verified_principal(tracker)
        try:
            if principal is None:
                await asyncio.to_thread(refuse_unverified, services.database(), self.record_type)
            else:
                await asyncio.to_thread(
                    remember_conversation, services.database(), principal, tracker.sender_id
                )
        except Exception as error:  # neither may stop the answer (or the refusal)
            logger.error(
                "action.bookkeeping_failed action=%s error=%s", self.name(), type(error).__name__
            )
        return await super().run(dispatcher, tracker, domain)

    async def notify(self, conversation_id: str | None) -> None:
        """Push a new notice to its recipient's conversation now (it stays queued otherwise)."""
        if conversation_id:
            await push_notice(conversation_id)

    async def call(
        self,
        dispatcher: CollectingDispatcher,
        function: Any,
        *args: Any,
        **kwargs: Any,
    ) -> Any:
        """Run a blocking service off the event loop within the answer's budget; domain
        refusals become answers (None). An answer served from a system's last good copy is
        preceded by when that copy is from."""
        try:
            return await run_service(dispatcher, function, *args, **kwargs)
        except REFUSALS as error:
            answer_failure(dispatcher, self.name(), error, self.refusal_responses)
        return None

    async def own_record(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, principal: Principal,
        service: Any,
    ) -> Any:
        """`service(db, principal, today, about=<people the message names>)` via `call`."""
        return await self.call(dispatcher, service, services.database(), principal,
                               services.today(), about=mentions(tracker))

