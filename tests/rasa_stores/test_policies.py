"""`rasa_runtime.policies`: the memoised TED and rule policies named in config.yml predict what
Rasa's TEDPolicy and RulePolicy predict, at every turn of several conversations on the trained
model (models/current.txt; the test fails, saying so, when there is none)."""
from __future__ import annotations

from typing import Any

import pytest

from rasa.core.agent import Agent
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.policies.ted_policy import TEDPolicy
from rasa_runtime.policies import LRU, MemoisedRulePolicy, MemoisedTEDPolicy

from .conversations import component, trackers


def test_the_model_uses_them(agent: Agent) -> None:
    assert component(agent, TEDPolicy).__class__ is MemoisedTEDPolicy
    assert component(agent, RulePolicy).__class__ is MemoisedRulePolicy


async def test_ted_predictions_are_those_of_the_model(agent: Agent) -> None:
    ted = component(agent, TEDPolicy)
    for tracker in await trackers(agent, "ted"):
        for _ in range(2):  # the second time from the memo
            memoised = ted.predict_action_probabilities(tracker, agent.domain)
            rasas = TEDPolicy.predict_action_probabilities(ted, tracker, agent.domain)
            assert memoised.probabilities == pytest.approx(rasas.probabilities, abs=1e-6)
            assert memoised.policy_name == rasas.policy_name == "MemoisedTEDPolicy"
            assert memoised.is_end_to_end_prediction == rasas.is_end_to_end_prediction
            assert memoised.optional_events == rasas.optional_events
    assert len(ted.predictions) > 0  # the memo was used


async def test_remembered_predictions_are_handed_out_as_copies(agent: Agent) -> None:
    ted = component(agent, TEDPolicy)
    tracker = (await trackers(agent, "ted-copies"))[0]
    first = ted.predict_action_probabilities(tracker, agent.domain)
    first.probabilities[0] = 42.0  # the ensemble edits probabilities in place
    assert ted.predict_action_probabilities(tracker, agent.domain).probabilities[0] != 42.0


async def test_the_same_rules_match(agent: Agent) -> None:
    rules = component(agent, RulePolicy)
    checked = 0
    for tracker in await trackers(agent, "rules"):
        states = rules._prediction_states(tracker, agent.domain, False,
                                          rule_only_data=rules._get_rule_only_data())
        for lookup in rules.lookup.values():
            if isinstance(lookup, dict) and lookup:
                expected = RulePolicy._get_possible_keys(rules, lookup, states)
                assert rules._get_possible_keys(lookup, states) == expected
                assert rules._get_possible_keys(lookup, states) == expected  # remembered
                checked += 1
    assert checked > 20 and rules.rule_tables


def test_a_policy_that_was_not_loaded_remembers_nothing() -> None:
    """While a policy trains its lookup tables are built and replaced: no memo then."""
    assert MemoisedTEDPolicy.predictions is None and MemoisedRulePolicy.rule_tables is None
    calls = []

    class Training(MemoisedRulePolicy):
        def __init__(self) -> None:  # no model storage: only the method under test
            pass

        def _is_rule_applicable(self, rule_key: str, turn_index: int, state: Any) -> bool:
            calls.append(turn_index)
            return True

    policy = Training()
    lookup = {"[{}]": "a", "[{}, {}]": "b"}
    assert policy._get_possible_keys(lookup, [{}, {}, {}]) == {"[{}]", "[{}, {}]"}
    assert policy._get_possible_keys(lookup, [{}, {}, {}]) == {"[{}]", "[{}, {}]"}
    assert len(calls) == 12  # every rule, every turn, both times: computed, not remembered


def test_the_lru_forgets_the_least_recently_used() -> None:
    lru = LRU(2)
    lru.put("a", 1)
    lru.put("b", 2)
    assert lru.get("a") == 1
    lru.put("c", 3)
    assert (lru.get("a"), lru.get("b"), lru.get("c"), len(lru)) == (1, None, 3, 2)
