"""`rasa_runtime.patches.dialogue_states`: a tracker's dialogue states, resumed from the last
computation, are the states Rasa's full replay gives, at every turn of several conversations
on the trained model (models/current.txt)."""
from __future__ import annotations

from typing import Any

from rasa.core.agent import Agent
from rasa.core.policies.rule_policy import RulePolicy
from rasa.shared.core.trackers import DialogueStateTracker
from rasa_runtime import patches

from .conversations import component, trackers


def rasas_past_states() -> Any:
    return patches.original(patches.PAST_STATES)


async def test_past_states_are_those_of_the_tracker(agent: Agent) -> None:
    original = rasas_past_states()
    rules = component(agent, RulePolicy)
    for tracker in await trackers(agent, "states"):
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

    tracker = (await trackers(agent, "states"))[0]
    before = tracker.past_states(agent.domain)
    tracker.update(ActionExecuted("utter_greet"))
    after = tracker.past_states(agent.domain)
    assert after == rasas_past_states()(tracker, agent.domain)
    assert len(after) == len(before) + 1


async def test_resumed_states_are_those_of_a_full_replay(agent: Agent) -> None:
    """Each conversation's events fed one at a time to one tracker, as a conversation grows
    (forms undoing their turns included), then a rewind, an undone action and a restart:
    after each event every variant equals Rasa's full replay."""
    from rasa.shared.core.events import ActionReverted, Restarted, UserUtteranceReverted

    original = rasas_past_states()
    rules = component(agent, RulePolicy)
    variants = ({}, {"ignore_rule_only_turns": True, "rule_only_data": rules._get_rule_only_data()},
                {"omit_unset_slots": True})
    checked = 0
    for finished in await trackers(agent, "states"):
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
