"""`rasa_runtime.action_call_state`: an action call's body is the one Rasa 3.6.21 builds, byte
for byte once encoded, without a deep copy of the form's trigger message."""
from __future__ import annotations

import json
from typing import List

from rasa.core.actions.action import RemoteAction
from rasa.core.agent import Agent
from rasa.shared.core.events import ConversationPaused, SlotSet
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig
from rasa_runtime import action_call_state, action_domain, hot_path

TEXTS = ("hello", "I need to raise a query about my payslip",
         "my overtime from October is missing from my payslip", "yes")


def validation_action() -> RemoteAction:
    return RemoteAction("validate_ticket_form",
                        EndpointConfig("http://127.0.0.1:5055/webhook"))


async def trackers(agent: Agent) -> List[DialogueStateTracker]:
    """An empty tracker, one after each of TEXTS, and the last with the ticket form active
    (its trigger message the latest parse), a slot set, paused and with a follow-up action."""
    empty = DialogueStateTracker.from_events("action-call-empty", [])
    seen = [empty]
    for text in TEXTS:  # remote actions fail here (no action server); the events stay
        await agent.handle_text(text, sender_id="action-call-state")
        seen.append(await agent.tracker_store.retrieve("action-call-state"))
    with_form = seen[-1].copy()
    with_form.change_loop_to("ticket_form")
    with_form.update(SlotSet("ticket_description", "overtime missing"))
    with_form.update(ConversationPaused())
    with_form.trigger_followup_action("utter_greet")
    return seen + [with_form]


async def test_the_body_is_the_one_rasa_builds(agent: Agent) -> None:
    action = validation_action()
    checked = await trackers(agent)
    for tracker in checked:
        ours = action_call_state.action_call_format(action, tracker, agent.domain)
        rasas = hot_path.ORIGINALS["action_call_format"](action, tracker, agent.domain)
        assert json.dumps(ours) == json.dumps(rasas)
    assert checked[-1].active_loop.trigger_message["intent"]  # a real trigger message
    assert checked[-1].is_paused() and checked[-1].followup_action


async def test_the_trigger_message_is_referred_to_not_copied(agent: Agent) -> None:
    tracker = (await trackers(agent))[-1]
    body = action_call_state.action_call_format(validation_action(), tracker, agent.domain)
    loop = body["tracker"]["active_loop"]
    assert loop["trigger_message"] is tracker.active_loop.trigger_message
    assert loop["name"] == "ticket_form" and loop["rejected"] is False


def test_remote_actions_use_it(agent: Agent) -> None:
    assert RemoteAction._action_call_format is action_call_state.action_call_format


async def test_the_encoded_body_carries_the_values_rasa_would_send(agent: Agent) -> None:
    action = validation_action()
    encoded = action_domain.encoded(agent.domain.as_dict())
    for tracker in await trackers(agent):
        rasas = hot_path.ORIGINALS["action_call_format"](action, tracker, agent.domain)
        sent = json.loads(action_domain.body(rasas, encoded, with_domain=True))
        assert sent == {**json.loads(json.dumps(rasas)), "domain_digest": encoded.digest}
