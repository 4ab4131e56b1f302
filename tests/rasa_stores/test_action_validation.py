"""`rasa_runtime.patches.action_validation` gives every action server answer the verdict, and
an invalid one the error, that Rasa's own validation gives.

Compared on valid and invalid answers: every kind of event as Rasa and rasa-sdk write them, and
variants with a key removed or given a value of another type (~1,500 answers, under half of
them valid).
"""
from __future__ import annotations

from typing import Any, Dict, Iterator, List

import jsonschema
import pytest

from rasa.core.actions.action import RemoteAction
from rasa_runtime import patches
from rasa_runtime.patches import action_validation


@pytest.fixture(autouse=True)
def installed() -> None:
    patches.install()


def rasas_validation() -> Any:
    return patches.original(patches.VALIDATE_ACTION_RESULT)


@pytest.mark.parametrize("answer", [
    {"events": [{"event": "slot", "name": "x", "value": 1}], "responses": [{"text": "hi"}]},
    {"events": [], "responses": []},
    {},
    {"events": [{"event": "no_such_event"}]},
    {"events": "not a list"},
    {"responses": ["not an object"]},
    [],
])
def test_action_answers_are_validated_as_before(answer: Any) -> None:
    def outcome(validate: Any) -> Any:
        try:
            return validate(RemoteAction("a", None), answer)
        except jsonschema.ValidationError as error:
            return ("invalid", error.message, list(error.path))

    assert outcome(RemoteAction._validate_action_result) == outcome(rasas_validation())


def verdict(validate: Any, answer: Any) -> Any:
    """True, or everything about the error raised: message, where, which keyword."""
    try:
        return validate(RemoteAction("a", None), answer)
    except jsonschema.ValidationError as error:
        return ("invalid", error.message, list(error.path), list(error.schema_path),
                error.validator, error.instance)


def message(text: Any = None, response: Any = None, buttons: Any = None) -> Dict[str, Any]:
    """A response as rasa-sdk's `dispatcher.utter_message` writes it."""
    return {"text": text, "buttons": buttons or [], "elements": [], "custom": {},
            "template": response, "response": response, "image": None, "attachment": None}


def every_kind_of_event() -> List[Dict[str, Any]]:
    """One event of each of the 23 kinds of Rasa's schema, as Rasa itself serialises them."""
    from datetime import datetime

    from rasa.shared.core import events as e

    parse_data = {"text": "how much leave?", "intent": {"name": "leave_balance", "confidence": 0.9},
                  "intent_ranking": [{"name": "leave_balance", "confidence": 0.9}],
                  "entities": [{"entity": "date", "value": "2026-03-03", "start": 0, "end": 3}],
                  "response_selector": {"all_retrieval_intents": ["policy_question"]}}
    made = [e.UserUttered("how much leave?", parse_data["intent"], parse_data["entities"],
                          parse_data, message_id="m1"),
            e.DefinePrevUserUtteredFeaturization(True), e.EntitiesAdded(parse_data["entities"]),
            e.BotUttered("hi", {"buttons": []}), e.SlotSet("ticket_priority", "normal"),
            e.Restarted(), e.UserUtteranceReverted(), e.AllSlotsReset(),
            e.ReminderScheduled("remind", datetime(2026, 3, 3, 9), name="r"),
            e.ReminderCancelled(name="r"),
            e.ActionReverted(), e.StoryExported(), e.FollowupAction("action_listen"),
            e.ConversationPaused(), e.ConversationResumed(),
            e.ActionExecuted("utter_greet", policy="RulePolicy", confidence=1.0),
            e.AgentUttered("hello"), e.ActiveLoop("ticket_form"), e.LoopInterrupted(True),
            e.ActionExecutionRejected("action_x"), e.SessionStarted()]
    legacy = [{"event": "form", "name": "ticket_form", "timestamp": None},  # Rasa writes these
              {"event": "form_validation", "validate": False, "timestamp": None}]  # as others
    return [event.as_dict() for event in made] + legacy


def variants(value: Dict[str, Any], depth: int = 2) -> Iterator[Dict[str, Any]]:
    """`value` with one key removed, given a value of each JSON type, or (for an object) one of
    its own variants; and with an extra key."""
    for key, inner in value.items():
        yield {k: v for k, v in value.items() if k != key}
        for odd in (None, 0, 1.5, True, "x", "user", [], {}, [1], {"a": 1}):
            yield {**value, key: odd}
        if isinstance(inner, dict) and depth > 1:
            for changed in variants(inner, depth - 1):
                yield {**value, key: changed}
    yield {**value, "unexpected": 1}


def action_answers() -> List[Any]:
    """Realistic answers (rasa-sdk's), every kind of event, and variants of each: ~1,500."""
    kinds = every_kind_of_event()
    realistic = [
        {"events": [], "responses": [message("Your annual leave: 20.0 days remaining.")]},
        {"events": [{"event": "slot", "timestamp": None, "name": "requested_slot", "value": None},
                    {"event": "active_loop", "name": None, "timestamp": None}],
         "responses": [message("I've raised PAY-000123.",
                               buttons=[{"title": "Status", "payload": "/ticket_status"}])]},
        {"events": [{"event": "followup", "timestamp": None, "name": "action_listen"}],
         "responses": [message(response="utter_fallback_did_you_mean")]},
        {"events": kinds, "responses": [message("all of them")]}, {}, [], None, "x",
    ]
    answers = realistic + [{"events": [kind]} for kind in kinds]
    answers += [{"events": [kinds[4], changed], "responses": []}
                for kind in kinds for changed in variants(kind)]
    answers += list(variants(realistic[1]))
    return answers


def test_every_kind_of_event_is_sampled() -> None:
    names = {kind["event"] for kind in every_kind_of_event()}
    assert names == set(action_validation.validators().by_name) and len(names) == 23


def test_the_fast_path_accepts_exactly_the_valid_answers() -> None:
    """`is_valid` against a validator of Rasa's schema built once (the same verdicts as
    `jsonschema.validate`, which re-checks the schema at every call)."""
    from jsonschema.validators import validator_for

    schema = RemoteAction.action_response_format_spec()
    rasas = validator_for(schema)(schema)
    answers = action_answers()
    valid = [rasas.is_valid(answer) for answer in answers]
    assert min(valid.count(True), valid.count(False)) > 300  # both, many
    for answer, expected in zip(answers, valid):
        assert action_validation.is_valid(answer) == expected


def test_answers_get_the_verdict_and_error_rasa_gives() -> None:
    """Against Rasa's own `_validate_action_result` (`jsonschema.validate`, 33 ms a call):
    every 25th answer, and every answer the fast path does not accept goes there."""
    for answer in action_answers()[::25]:
        assert (verdict(RemoteAction._validate_action_result, answer)
                == verdict(rasas_validation(), answer))


def test_an_unexpected_schema_shape_turns_the_fast_path_off() -> None:
    from copy import deepcopy

    schema = RemoteAction.action_response_format_spec()
    assert action_validation.split_schema(schema) is not None
    twice = deepcopy(schema)
    twice["properties"]["events"]["items"]["oneOf"].append(
        twice["properties"]["events"]["items"]["oneOf"][0])
    assert action_validation.split_schema(twice) is None
    without = deepcopy(schema)
    del without["properties"]["events"]["items"]["oneOf"]
    assert action_validation.split_schema(without) is None
