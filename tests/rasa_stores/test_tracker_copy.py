"""`rasa_runtime.tracker_copy`: `DialogueStateTracker.copy()` gives the tracker Rasa's replay
gives, attribute by attribute, for trackers at every event of real conversations (forms,
rejections, rewinds, restarts, pauses); the copy and the original change independently; and
every case the direct copy cannot vouch for goes through Rasa's replay."""
from __future__ import annotations

import math
from typing import Any, Dict, List

import pytest

from rasa.core.agent import Agent
from rasa.shared.core.events import (ActionExecuted, ActionExecutionRejected, ActionReverted,
                                     ActiveLoop, ConversationPaused, FollowupAction, Restarted,
                                     SessionStarted, SlotSet, UserUttered,
                                     UserUtteranceReverted)
from rasa.shared.core.trackers import DialogueStateTracker, EventVerbosity
from rasa_runtime import hot_path, tracker_copy

from .test_hot_path import trackers


def replayed(tracker: DialogueStateTracker) -> DialogueStateTracker:
    return hot_path.ORIGINALS["tracker_copy"](tracker)


def _message(tracker: DialogueStateTracker, message: Any) -> Any:
    """An event of the tracker by position; any other message by kind and text."""
    for position, event in enumerate(tracker.events):
        if event is message:
            return ("event", position)
    return ("placeholder", type(message).__name__, getattr(message, "text", None))


def snapshot(tracker: DialogueStateTracker) -> Dict[str, Any]:
    """Everything a tracker holds, events by identity (a replay shares the event objects)."""
    state = {name: value for name, value in vars(tracker).items()
             if not name.startswith(tracker_copy.CACHE_PREFIX)}
    loop = tracker.active_loop
    return {
        "attributes": sorted(state),
        "events": [id(event) for event in tracker.events],
        "max_event_history": (tracker._max_event_history, tracker.events.maxlen),
        "slots": {name: (type(slot), vars(slot)) for name, slot in tracker.slots.items()},
        "scalars": [tracker.sender_id, tracker.sender_source, tracker.is_rule_tracker,
                    tracker._paused, tracker.followup_action, tracker.model_id,
                    tracker.assistant_id, tracker.latest_action],
        "latest_message": _message(tracker, tracker.latest_message),
        "latest_bot_utterance": _message(tracker, tracker.latest_bot_utterance),
        "active_loop": None if loop is None else (
            loop.name, loop.is_interrupted, loop.rejected, id(loop.trigger_message)),
        "current_state": tracker.current_state(EventVerbosity.ALL),
    }


def grown_trackers(finished: List[DialogueStateTracker], domain: Any) -> List[Any]:
    """Each conversation fed one event at a time to one tracker, then a form started and
    rejected, a pause, a follow-up, a rewind, an undone action, a restart and a new session:
    the tracker after every event."""
    seen = []
    for conversation in finished:
        tracker = DialogueStateTracker(conversation.sender_id, domain.slots)
        tracker.model_id = "a-model"
        extra = [ActiveLoop("ticket_form"), SlotSet("ticket_description", "overtime"),
                 ActionExecutionRejected("ticket_form"), ConversationPaused(),
                 FollowupAction("utter_greet"), UserUtteranceReverted(), ActionReverted(),
                 Restarted(), SessionStarted(), *list(conversation.events)[:6]]
        for event in [*conversation.events, *extra]:
            tracker.update(event, domain)
            seen.append(tracker)
            tracker = replayed(tracker)  # the next event goes to a fresh object, as a snapshot
            tracker.model_id = "a-model"
    return seen


async def test_copies_are_the_trackers_rasa_replays(agent: Agent) -> None:
    checked = direct = 0
    for tracker in grown_trackers(await trackers(agent), agent.domain):
        tracker.past_states(agent.domain)  # a cache on the tracker, which is not copied
        expected = snapshot(replayed(tracker))
        assert snapshot(tracker.copy()) == expected
        checked += 1
        direct += tracker_copy.can_copy_directly(tracker, DialogueStateTracker)
    assert checked > 150
    # The rest have no user or bot message yet in their session (the actions that would
    # utter fail here: no action server), and are replayed; both kinds are checked.
    assert direct > checked / 2


async def test_the_copy_and_the_original_change_independently(agent: Agent) -> None:
    original = replayed((await trackers(agent))[8])  # the ticket form's conversation
    original.update(ActiveLoop("ticket_form"))
    assert tracker_copy.can_copy_directly(original, DialogueStateTracker)
    before = snapshot(original)
    duplicate = original.copy()
    duplicate.latest_action["action_name"] = "edited in place"
    duplicate.update(SlotSet("ticket_description", "changed"))
    duplicate.reject_action("ticket_form")
    duplicate.interrupt_loop(True)
    duplicate.update(ConversationPaused())
    duplicate.update(ActionExecuted("utter_greet"))
    assert snapshot(original) == before
    assert duplicate.get_slot("ticket_description") == "changed"
    assert duplicate.active_loop.rejected and not original.active_loop.rejected


async def test_what_the_direct_copy_cannot_vouch_for_is_replayed(agent: Agent) -> None:
    finished = (await trackers(agent))[3]

    def variant(**changes: Any) -> DialogueStateTracker:
        tracker = replayed(finished)
        for name, value in changes.items():
            setattr(tracker, name, value)
        return tracker

    class Subclass(DialogueStateTracker):
        pass

    history = DialogueStateTracker.from_events("kept", list(finished.events), agent.domain.slots,
                                               max_event_history=4)
    stamped = replayed(finished)
    stamped.events[-1].timestamp, kept = math.nan, stamped.events[-1].timestamp
    fresh = DialogueStateTracker.from_events("fresh", [UserUttered("hi")], agent.domain.slots)
    cases = [history, stamped, fresh, variant(someone_elses_state=1),
             Subclass.from_events("sub", list(finished.events), agent.domain.slots)]
    try:
        for tracker in cases:
            assert not tracker_copy.can_copy_directly(tracker, DialogueStateTracker)
            assert snapshot(tracker.copy()) == snapshot(replayed(tracker))
    finally:
        stamped.events[-1].timestamp = kept
    assert len(history.copy().events) == 4  # the replay's own loss, kept


def test_trackers_copy_directly() -> None:
    assert DialogueStateTracker.copy.__wrapped__ is hot_path.ORIGINALS["tracker_copy"]


def test_slots_are_copied_as_copy_copy_copies_them(agent: Agent) -> None:
    import copy

    class Guarded(type(next(iter(agent.domain.slots)))):
        def __copy__(self) -> Any:
            raise AssertionError("copy.copy was bypassed")

    for slot in agent.domain.slots:
        duplicate = tracker_copy.copied_slot(slot)
        assert type(duplicate) is type(slot) and duplicate is not slot
        assert vars(duplicate) == vars(copy.copy(slot))
    guarded = object.__new__(Guarded)
    guarded.__dict__.update(vars(next(iter(agent.domain.slots))))
    with pytest.raises(AssertionError, match="bypassed"):
        tracker_copy.copied_slot(guarded)  # a class with its own protocol keeps it
