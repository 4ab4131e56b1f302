"""The satisfaction actions: thin wrappers over bot.insight.satisfaction, with real Trackers."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from actions.satisfaction import (ActionSatisfactionDone, ActionSatisfactionOffer,
                                  ActionSatisfactionRate)
from bot.insight.models import SatisfactionRequest
from bot.storage.database import Database
from tests.insight_support import Script, answered

from .conftest import widget_metadata

SENDER = "widget-csat"


def tracker(extra: list[dict[str, Any]], intent: str = "goodbye", text: str = "bye",
            entities: list[dict[str, Any]] | None = None,
            slots: dict[str, Any] | None = None) -> Tracker:
    script = answered(Script(SENDER, "alice.hughes", 1_700_000_000.0).session())
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99},
              "entities": entities or [], "metadata": widget_metadata("alice.hughes")}
    events = [{k: v for k, v in e.items() if k != "sender_id"} for e in script.events]
    events += extra + [{"event": "user", "text": text, "parse_data": latest,
                        "metadata": latest["metadata"]}]
    return Tracker(SENDER, slots or {}, latest, events, False, None, {}, "action_listen")


async def test_asked_once_after_an_answer(demo_db: Database) -> None:
    first, second = CollectingDispatcher(), CollectingDispatcher()
    events = await ActionSatisfactionOffer().run(first, tracker([]), {})
    again = await ActionSatisfactionOffer().run(second, tracker([]), {})
    assert [m.get("response") for m in first.messages] == ["utter_satisfaction_ask"]
    assert events == [{"event": "slot", "timestamp": None, "name": "satisfaction_asked",
                       "value": "conversation"}]
    assert (second.messages, again) == ([], [])


async def test_not_asked_when_the_goodbye_is_angry(demo_db: Database) -> None:
    dispatcher = CollectingDispatcher()
    angry = tracker([], text="useless bot, absolutely terrible, waste of my time")
    assert await ActionSatisfactionOffer().run(dispatcher, angry, {}) == []
    assert dispatcher.messages == []


async def test_a_rating_then_a_comment_are_stored(demo_db: Database) -> None:
    await ActionSatisfactionOffer().run(CollectingDispatcher(), tracker([]), {})
    rated = await ActionSatisfactionRate().run(
        CollectingDispatcher(), tracker([], "rate_service", '/rate_service{"rating": "5"}',
                                        [{"entity": "rating", "value": "5"}]), {})
    assert {e["name"]: e["value"] for e in rated} == {"satisfaction_score": "5",
                                                     "satisfaction_comment": None}
    thanks = CollectingDispatcher()
    done = await ActionSatisfactionDone().run(
        thanks, tracker([], "inform", "lovely, ring me on 07700 900123",
                        slots={"satisfaction_score": "5",
                               "satisfaction_comment": "lovely, ring me on 07700 900123"}), {})
    assert [m.get("response") for m in thanks.messages] == ["utter_satisfaction_thanks"]
    assert {e["name"] for e in done} == {"satisfaction_comment", "satisfaction_score"}
    with demo_db.unit_of_work() as session:
        row = session.execute(select(SatisfactionRequest)).scalar_one()
    assert (row.score, row.comment) == (5, "lovely, ring me on [phone]")


async def test_a_rating_nobody_asked_for_skips_the_comment(demo_db: Database) -> None:
    events = await ActionSatisfactionRate().run(
        CollectingDispatcher(), tracker([], "rate_service", "/rate_service",
                                        [{"entity": "rating", "value": "3"}]), {})
    assert {e["name"]: e["value"] for e in events} == {"satisfaction_score": None,
                                                      "satisfaction_comment": "-"}
