"""A tracker's dialogue states computed from where the last computation stopped (the patch
`dialogue_states` of `rasa_runtime.patches`, on `DialogueStateTracker.past_states`).

Each policy asks for a tracker's dialogue states (memoization, rules several times, TED,
through their featurizers), and `Domain.states_for_tracker_history` replays every applied
event of the conversation from an empty tracker and computes a state before each action, so
each prediction (two or three a message, each asking for two or three variants) cost time in
proportion to the length of the conversation: 0.1 ms at 8 events, 0.33 ms at 48, per variant. The states before an action
depend only on the applied events up to that action, and a conversation mostly grows by
appending events, so `resumed_states` here keeps, per tracker and variant, the replayed tracker,
the states so far and the loop's two flags, and on the next call replays only the events
applied since. It is the original loop, split in two:

- `_turn` is one pass of the original loop body, line for line;
- the checkpoint is taken before the last state, which is computed on copies (the original
  computes it after its last event, from the same replayed tracker).

While no event was added (the same length, first and last event), the last answer is handed
back as it is: several policies ask for the same tracker's states within one prediction.

The checkpoint is used only when the applied events it replayed are, object for object, the
first applied events now (`applied_events()` recomputed each time). When an event undid
earlier ones (a form's loop undoing its turns, a rewind, a restart, a dropped oldest event)
the list differs and the states are computed from the start, as Rasa does. The checkpoint
holds the event objects it compared, so none can be freed and its identity taken by another.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Text, Tuple

_PROGRESS_ATTRIBUTE = "_helpdesk_states_progress"


@dataclass
class _Accumulator:
    """The original loop's variables besides the replayed tracker."""

    states: List[Dict[Text, Any]] = field(default_factory=list)
    last_ml_action_sub_state: Optional[Dict[Text, Any]] = None
    turn_was_hidden: bool = False

    def copy(self) -> "_Accumulator":
        return _Accumulator(list(self.states), self.last_ml_action_sub_state,
                            self.turn_was_hidden)


@dataclass
class _Progress:
    domain: Any
    replay: Any  # the tracker the original's generate_all_prior_trackers replays into
    applied: List[Any] = field(default_factory=list)
    seen: _Accumulator = field(default_factory=_Accumulator)
    version: Optional[Tuple[Any, ...]] = None  # the tracker's version `last` was computed at
    last: List[Dict[Text, Any]] = field(default_factory=list)


def tracker_version(tracker: Any) -> Tuple[Any, ...]:
    """Changes whenever an event is added (events are only ever appended, or dropped from the
    front when `max_event_history` is set)."""
    events = tracker.events
    return (len(events), id(events[0]), id(events[-1])) if events else (0, None, None)


def _turn(domain: Any, tracker: Any, hide_rule_turn: bool, accumulator: _Accumulator,
          omit_unset_slots: bool, ignore_rule_only_turns: bool,
          rule_only_data: Optional[Dict[Text, Any]]) -> None:
    """The body of `Domain.states_for_tracker_history`'s loop (Rasa 3.6.21)."""
    from rasa.shared.core.constants import PREVIOUS_ACTION

    if ignore_rule_only_turns:
        if not accumulator.turn_was_hidden:
            accumulator.last_ml_action_sub_state = domain._get_prev_action_sub_state(tracker)
        if (not tracker.followup_action
                and not tracker.latest_action_name == tracker.active_loop_name):
            accumulator.turn_was_hidden = hide_rule_turn
        if accumulator.turn_was_hidden:
            return
    state = domain.get_active_state(tracker, omit_unset_slots=omit_unset_slots)
    if ignore_rule_only_turns:
        domain._remove_rule_only_features(state, rule_only_data)
        if accumulator.states:
            domain._substitute_rule_only_user_input(state, accumulator.states[-1])
        if accumulator.last_ml_action_sub_state:
            state[PREVIOUS_ACTION] = accumulator.last_ml_action_sub_state
    accumulator.states.append(domain._clean_state(state))


def _continues(applied: List[Any], replayed: List[Any]) -> bool:
    return len(applied) >= len(replayed) and all(
        now is then for now, then in zip(applied, replayed))


def resumed_states(tracker: Any, domain: Any, omit_unset_slots: bool,
                ignore_rule_only_turns: bool, rule_only_data: Optional[Dict[Text, Any]],
                variant: Tuple[Any, ...]) -> List[Dict[Text, Any]]:
    """`Domain.states_for_tracker_history(tracker, ...)`: the answer of the last call while no
    event was added since, else resumed where possible. `variant` identifies the flags
    (rule_only_data is a dict) for the checkpoint; callers must copy the states they edit."""
    from rasa.shared.core.events import ActionExecuted

    checkpoints: Dict[Tuple[Any, ...], _Progress] = tracker.__dict__.setdefault(
        _PROGRESS_ATTRIBUTE, {})
    version = tracker_version(tracker)
    progress = checkpoints.get(variant)
    if progress is not None and progress.domain is domain and progress.version == version:
        return progress.last
    applied = tracker.applied_events()
    if progress is None or progress.domain is not domain or not _continues(
            applied, progress.applied):
        progress = checkpoints[variant] = _Progress(domain, tracker.init_copy())
    flags = (omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    for event in applied[len(progress.applied):]:
        if isinstance(event, ActionExecuted):
            _turn(domain, progress.replay, event.hide_rule_turn, progress.seen, *flags)
        progress.replay.update(event)
        progress.applied.append(event)
    last = progress.seen.copy()
    _turn(domain, progress.replay, False, last, *flags)
    progress.version, progress.last = version, last.states
    return last.states


def _copy_states(states: List[Dict[Text, Dict[Text, Any]]]) -> List[Dict[Text, Any]]:
    """States are dicts of dicts of strings and tuples: two levels are all that can change."""
    return [{name: dict(sub_state) for name, sub_state in state.items()} for state in states]


def memoised_past_states(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap `DialogueStateTracker.past_states` with the memo and checkpoint above, kept on the
    tracker; each caller gets its own copy (callers edit the states they get)."""

    def past_states(self: Any, domain: Any, omit_unset_slots: bool = False,
                    ignore_rule_only_turns: bool = False,
                    rule_only_data: Optional[Dict[Text, Any]] = None) -> List[Any]:
        variant = (id(domain), omit_unset_slots, ignore_rule_only_turns,
                   json.dumps(rule_only_data, sort_keys=True, default=list))
        return _copy_states(resumed_states(
            self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data, variant))

    past_states.__wrapped__ = original  # type: ignore[attr-defined]
    past_states.__doc__ = original.__doc__
    return past_states
