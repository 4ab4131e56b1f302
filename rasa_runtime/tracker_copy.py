"""`DialogueStateTracker.copy` without replaying the conversation (installed by `hot_path`).

Rasa 3.6 copies the tracker before every action it runs (`MessageProcessor._run_action`:
the copy is what the action sees, so a rejected action leaves the real tracker as it was),
and a form copies it again. `copy()` builds an empty tracker and replays every event of the
conversation into it: two or three times a message, each time longer as the conversation
grows (0.2-0.3 ms a copy in the stack at concurrency 1; docs/performance.md, speed-up 23).

A replay gives the state the tracker already holds: Rasa's own rule is that a tracker's
state "MUST be re-creatable by processing all the events" (`DialogueStateTracker.__init__`).
So the copy here takes that state directly, with what the replayed copy would hold:

- its own event deque (the same event objects, as a replay appends them) and its own slot
  objects (shallow copies, as `init_copy` makes, holding the same values a replay would set;
  for a slot class with Python's default copy protocol, as Rasa's are, the copy is made as
  `copy.copy` makes it, without going through `__reduce_ex__`: 0.5 against 2.0 µs a slot);
- its own `active_loop` and `latest_action` (the replay makes new ones; the loop is edited in
  place when rejected), the same latest user and bot messages (event objects, shared by a
  replay too), follow-up action and pause;
- what `init_copy` sets rather than copies: the sender id (or Rasa's default), no sender
  source, no model or assistant id, the rule-tracker flag.

It falls back to Rasa's replay wherever that rule could be broken or the two could differ:
a subclass of the tracker, a maximum event history (the replay then starts from the kept
events only, and loses older state), slots that are not a plain dict, an attribute it does
not know (other code keeping state on the tracker), an event with a timestamp a replay would
stop at, and a latest user or bot message that is not one of the tracker's events (the empty
placeholder a reset leaves, which a replay makes anew). Attributes that `rasa_runtime` keeps
on a tracker as caches (named `_helpdesk_...`) are not copied: a copy computes its own.
"""
from __future__ import annotations

import copy
import copyreg
import functools
import math
from collections import deque
from typing import Any, Callable, Dict, FrozenSet, Iterable, Text

CACHE_PREFIX = "_helpdesk_"
# The attributes a DialogueStateTracker has (Rasa 3.6.21), each handled below.
KNOWN_ATTRIBUTES: FrozenSet[Text] = frozenset({
    "_max_event_history", "events", "sender_id", "slots", "sender_source", "is_rule_tracker",
    "_paused", "followup_action", "latest_action", "latest_message", "latest_bot_utterance",
    "active_loop", "model_id", "assistant_id",
})


_plain_classes: Dict[type, bool] = {}  # slot class -> copied as copy.copy copies a plain object


def _is_plain(cls: type) -> bool:
    """True when `copy.copy` of an instance is a new instance with the same `__dict__`."""
    known = _plain_classes.get(cls)
    if known is None:
        known = _plain_classes[cls] = (
            cls.__reduce_ex__ is object.__reduce_ex__ and cls.__reduce__ is object.__reduce__
            and not copyreg._slotnames(cls)  # what copy.copy's state holds besides __dict__
            and not any(getattr(cls, hook, None) is not getattr(object, hook, None)
                        for hook in ("__copy__", "__getstate__", "__setstate__")))
    return known


def copied_slot(slot: Any) -> Any:
    """`copy.copy(slot)`, made directly for a plain class."""
    cls = type(slot)
    if not _is_plain(cls):
        return copy.copy(slot)
    duplicate = object.__new__(cls)
    duplicate.__dict__.update(slot.__dict__)
    return duplicate


def _is_one_of(latest: Any, events: Iterable[Any]) -> bool:
    return any(event is latest for event in events)


def can_copy_directly(tracker: Any, tracker_class: type) -> bool:
    """True when the state can be taken over instead of replayed (see the module's list)."""
    if type(tracker) is not tracker_class or tracker._max_event_history is not None:
        return False
    if type(tracker.slots) is not dict:
        return False
    if any(name not in KNOWN_ATTRIBUTES and not name.startswith(CACHE_PREFIX)
           for name in tracker.__dict__):
        return False
    events = tracker.events
    if not all(event.timestamp <= math.inf for event in events):
        return False  # the replay's own condition (`travel_back_in_time(inf)`): it stops there
    return (_is_one_of(tracker.latest_message, reversed(events))
            and _is_one_of(tracker.latest_bot_utterance, reversed(events)))


def direct_copy(tracker: Any, default_sender_id: Text) -> Any:
    """A tracker in the state `tracker.copy()` replays to, built without the replay."""
    duplicate = object.__new__(type(tracker))
    state = duplicate.__dict__
    state["_max_event_history"] = None
    state["events"] = deque(tracker.events)
    state["sender_id"] = tracker.sender_id or default_sender_id
    state["slots"] = {slot.name: copied_slot(slot) for slot in tracker.slots.values()}
    state["sender_source"] = None
    state["is_rule_tracker"] = tracker.is_rule_tracker
    state["_paused"] = tracker._paused
    state["followup_action"] = tracker.followup_action
    latest_action = tracker.latest_action
    state["latest_action"] = None if latest_action is None else dict(latest_action)
    state["latest_message"] = tracker.latest_message
    state["latest_bot_utterance"] = tracker.latest_bot_utterance
    state["active_loop"] = copy.copy(tracker.active_loop)
    state["model_id"] = None
    state["assistant_id"] = None
    return duplicate


def copying_directly(original: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """Wrap `DialogueStateTracker.copy`: take the state over where a replay would give it."""
    from rasa.shared.constants import DEFAULT_SENDER_ID
    from rasa.shared.core.trackers import DialogueStateTracker

    @functools.wraps(original)
    def copy_tracker(self: Any) -> Any:
        if can_copy_directly(self, DialogueStateTracker):
            return direct_copy(self, DEFAULT_SENDER_ID)
        return original(self)

    return copy_tracker
