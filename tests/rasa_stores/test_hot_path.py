"""`rasa_runtime.hot_path` changes no result: each patched function answers what the function
it replaces answers.

The action-result validators are compared with `jsonschema.validate` on valid and invalid action
server answers: every kind of event as Rasa and rasa-sdk write them, and variants with a key
removed or given a value of another type (~1,000 answers, under half of them valid). The TED
and rule patches are compared with Rasa's own functions on the trained model
(models/current.txt; the test fails, saying so, when there is none), at every turn of
conversations that go through greetings, help, out-of-scope, a form and its interruption. The
action call's HTTP client, its body, the skipped debug copies and the tracker copies have
their own tests (test_action_client.py, test_action_call_state.py, test_debug_copies.py,
test_tracker_copy.py).
"""
from __future__ import annotations

import copy
import importlib
from pathlib import Path
from typing import Any, Dict, Iterator, List

import jsonschema
import pytest

from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_runtime import action_validation, debug_copies, hot_path

ROOT = Path(__file__).resolve().parents[2]
CONVERSATIONS = (
    ("hello", "what can you do?", "what's the weather like in Leeds?", "thanks", "bye"),
    ("hi", "I need to raise a query about my payslip", "are you a bot?",
     "my overtime from October is missing from my payslip", "yes", "no", "thanks"),
    ("how much leave do I have left?", "cancel that", "hello", "who won the rugby?",
     "what's the weather in Leeds?", "can I speak to someone?", "thanks"),
)


def component(agent: Agent, kind: type) -> Any:
    nodes = agent.processor.graph_runner._instantiated_nodes.values()
    return next(node._component for node in nodes if isinstance(node._component, kind))


async def trackers(agent: Agent) -> list[DialogueStateTracker]:
    """A tracker after every message of CONVERSATIONS (remote actions fail: no server)."""
    seen = []
    for number, texts in enumerate(CONVERSATIONS):
        sender = f"hot-path-{number}"
        for text in texts:
            await agent.handle_text(text, sender_id=sender)
            seen.append(await agent.tracker_store.retrieve(sender))
    return seen


def test_install_refuses_another_rasa_version(monkeypatch: pytest.MonkeyPatch) -> None:
    import rasa

    monkeypatch.setattr(rasa, "__version__", "3.7.0")
    with pytest.raises(hot_path.UnsupportedRasaVersion):
        hot_path.install()


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

    hot_path.install()
    assert outcome(hot_path.validate_action_result) == outcome(hot_path.ORIGINALS["validate"])


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


def test_answers_get_the_verdict_and_error_they_got_before() -> None:
    hot_path.install()
    answers = action_answers()
    before = [verdict(hot_path.validate_action_result, answer) for answer in answers]
    assert min(before.count(True), len(answers) - before.count(True)) > 300  # both, many
    for answer, expected in zip(answers, before):
        assert verdict(action_validation.validate_action_result, answer) == expected
        assert action_validation.is_valid(answer) == (expected is True)  # the fast path


def test_answers_get_the_verdict_and_error_rasa_gives() -> None:
    """Against Rasa's own `jsonschema.validate` (33 ms a call): every 25th answer."""
    hot_path.install()
    for answer in action_answers()[::25]:
        assert (verdict(action_validation.validate_action_result, answer)
                == verdict(hot_path.ORIGINALS["validate"], answer))


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


async def test_ted_predictions_are_those_of_the_model(agent: Agent) -> None:
    ted = component(agent, TEDPolicy)
    assert TEDPolicy.predict_action_probabilities is not hot_path.ORIGINALS["ted"]
    for tracker in await trackers(agent):
        for _ in range(2):  # the second time from the cache
            patched = ted.predict_action_probabilities(tracker, agent.domain)
            original = hot_path.ORIGINALS["ted"](ted, tracker, agent.domain)
            assert patched.probabilities == pytest.approx(original.probabilities, abs=1e-6)
            assert patched.is_end_to_end_prediction == original.is_end_to_end_prediction
            assert patched.optional_events == original.optional_events
    assert getattr(ted, "_helpdesk_prediction_cache")  # the cache was used


async def test_cached_predictions_are_copies(agent: Agent) -> None:
    ted = component(agent, TEDPolicy)
    tracker = (await trackers(agent))[0]
    first = ted.predict_action_probabilities(tracker, agent.domain)
    first.probabilities[0] = 42.0  # the ensemble edits probabilities in place
    assert ted.predict_action_probabilities(tracker, agent.domain).probabilities[0] != 42.0


async def test_the_same_rules_match(agent: Agent) -> None:
    rules = component(agent, RulePolicy)
    for tracker in await trackers(agent):
        states = rules._prediction_states(tracker, agent.domain, False,
                                          rule_only_data=rules._get_rule_only_data())
        for lookup in rules.lookup.values():
            if isinstance(lookup, dict):
                expected = hot_path.ORIGINALS["rule_keys"](rules, lookup, states)
                assert hot_path.possible_rule_keys(rules, lookup, states) == expected
                assert hot_path.possible_rule_keys(rules, lookup, states) == expected  # cached


async def test_past_states_are_those_of_the_tracker(agent: Agent) -> None:
    original = hot_path.ORIGINALS["past_states"]
    rules = component(agent, RulePolicy)
    for tracker in await trackers(agent):
        for flags in ({}, {"ignore_rule_only_turns": True,
                           "rule_only_data": rules._get_rule_only_data()},
                      {"omit_unset_slots": True}):
            expected = original(tracker, agent.domain, **flags)
            first = tracker.past_states(agent.domain, **flags)
            assert first == expected
            first[-1].clear()  # a caller editing its states ...
            first[0].get("user", {}).clear()
            assert tracker.past_states(agent.domain, **flags) == expected  # ... edits its copy


async def test_past_states_follow_new_events(agent: Agent) -> None:
    from rasa.shared.core.events import ActionExecuted

    tracker = (await trackers(agent))[0]
    before = tracker.past_states(agent.domain)
    tracker.update(ActionExecuted("utter_greet"))
    after = tracker.past_states(agent.domain)
    assert after == hot_path.ORIGINALS["past_states"](tracker, agent.domain)
    assert len(after) == len(before) + 1


async def test_resumed_states_are_those_of_a_full_replay(agent: Agent) -> None:
    """Each conversation's events fed one at a time to one tracker, as a conversation grows
    (forms undoing their turns included), then a rewind, an undone action and a restart:
    after each event every variant equals Rasa's full replay."""
    from rasa.shared.core.events import ActionReverted, Restarted, UserUtteranceReverted

    original = hot_path.ORIGINALS["past_states"]
    rules = component(agent, RulePolicy)
    variants = ({}, {"ignore_rule_only_turns": True, "rule_only_data": rules._get_rule_only_data()},
                {"omit_unset_slots": True})
    checked = 0
    for finished in await trackers(agent):
        tracker = DialogueStateTracker(finished.sender_id, agent.domain.slots)
        for event in [*finished.events, UserUtteranceReverted(), ActionReverted(), Restarted(),
                      *list(finished.events)[:6]]:
            tracker.update(event, agent.domain)
            for flags in variants:
                assert tracker.past_states(agent.domain, **flags) == original(
                    tracker, agent.domain, **flags)
                checked += 1
    assert checked > 600
    assert getattr(tracker, "_helpdesk_states_progress")  # resumed, not recomputed each time


async def test_the_conversation_tests_give_what_they_give_without_the_patches(
    agent: Agent, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, debug_logging_off: None
) -> None:
    """The stories of `make conversations` (rasa test core --e2e), predicted by the patched
    policies and by Rasa's own: the same report, action by action and story by story. Debug
    events are dropped, as in `rasa run`, so that the debug log arguments go uncopied."""
    from rasa.core.actions.action import RemoteAction
    from rasa.core.test import test as test_core
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    async def report(out: str) -> dict:
        (tmp_path / out).mkdir()
        result = await test_core(str(ROOT / "tests" / "conversations"), agent, e2e=True,
                                 out_directory=str(tmp_path / out), disable_plotting=True,
                                 errors=True, warnings=False)
        failed = (tmp_path / out / "failed_test_stories.yml")
        return {"report": result["report"], "accuracy": result["accuracy"],
                "failed": failed.read_text() if failed.exists() else ""}

    patched = await report("patched")
    for owner, name, key in ((RemoteAction, "_validate_action_result", "validate"),
                             (TEDPolicy, "predict_action_probabilities", "ted"),
                             (RulePolicy, "_get_possible_keys", "rule_keys"),
                             (DialogueStateTracker, "past_states", "past_states"),
                             (EndpointConfig, "request", "request"),
                             (DaskGraphRunner, "run", "graph_run"),
                             (RemoteAction, "_action_call_format", "action_call_format"),
                             (DialogueStateTracker, "copy", "tracker_copy")):
        monkeypatch.setattr(owner, name, hot_path.ORIGINALS[key])
    for module in debug_copies.MODULES:
        monkeypatch.setattr(importlib.import_module(module), "copy", copy)
    assert patched == await report("stock")
