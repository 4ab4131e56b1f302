"""The first stage of the two-stage fallback: the best one or two guesses as buttons."""
from __future__ import annotations

import asyncio

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.fallback import ActionFallbackSuggest, best_guesses


def message(*ranking: tuple[str, float]) -> dict:
    return {"text": "blah", "intent": {"name": "nlu_fallback", "confidence": 0.6},
            "intent_ranking": [{"name": "nlu_fallback", "confidence": 0.6}]
            + [{"name": n, "confidence": c} for n, c in ranking]}


def run(latest: dict) -> list[dict]:
    tracker = Tracker("someone", {}, latest, [], False, None, {}, "action_listen")
    dispatcher = CollectingDispatcher()
    assert asyncio.run(ActionFallbackSuggest().run(dispatcher, tracker, {})) == []
    return dispatcher.messages


def test_two_best_suggestable_guesses_in_order() -> None:
    latest = message(("out_of_scope", 0.4), ("leave_request", 0.3), ("greet", 0.1),
                     ("leave_balance", 0.08), ("payslip", 0.06))
    assert best_guesses(latest) == ["leave_request", "leave_balance"]
    [sent] = run(latest)
    assert sent["response"] == "utter_fallback_did_you_mean"
    assert [b["payload"] for b in sent["buttons"]] == ["/leave_request", "/leave_balance", "/deny"]


def test_no_guess_worth_offering_asks_to_rephrase() -> None:
    latest = message(("out_of_scope", 0.9), ("payslip", 0.01))
    assert best_guesses(latest) == []
    [sent] = run(latest)
    assert sent["response"] == "utter_fallback_rephrase" and not sent["buttons"]


def test_retrieval_intents_are_never_offered_as_a_bare_payload() -> None:
    assert best_guesses(message(("policy_question", 0.5), ("pay_date", 0.2))) == ["pay_date"]
