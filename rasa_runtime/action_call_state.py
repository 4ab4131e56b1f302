"""The tracker's state in an action call, without a deep copy of the form's trigger message
(installed by `hot_path`).

`RemoteAction._action_call_format` sends `tracker.current_state(EventVerbosity.ALL)`, which
turns the active loop into a dict with `dataclasses.asdict`. That deep-copies the loop's
`trigger_message`: the whole parse of the message that opened the form, with its intent and
response-selector rankings (2.5 KB of JSON here). Every call to a form's validation action
made that copy: 0.19 ms warm, 0.5-0.9 ms in the stack at concurrency 1, for a body that is
encoded to JSON at once and dropped.

`action_call_format` is Rasa 3.6.21's `_action_call_format` with `tracker_state` in place of
`current_state(EventVerbosity.ALL)`: the same keys in the same order, the same values, and
the active loop as a dict of its fields that refers to the trigger message instead of copying
it. Nothing keeps or edits the body, so nothing can reach the tracker through it. Other
callers of `current_state` (the tracker store, the HTTP API) are unchanged.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Dict, Text


def tracker_state(tracker: Any) -> Dict[Text, Any]:
    """`tracker.current_state(EventVerbosity.ALL)` (Rasa 3.6.21) with the active loop's fields
    referred to, not deep-copied."""
    from rasa.shared.core.constants import ACTIVE_LOOP, FOLLOWUP_ACTION

    events = tracker.events
    loop = tracker.active_loop
    return {
        "sender_id": tracker.sender_id,
        "slots": tracker.current_slot_values(),
        "latest_message": tracker._latest_message_data(),
        "latest_event_time": events[-1].timestamp if len(events) > 0 else None,
        FOLLOWUP_ACTION: tracker.followup_action,
        "paused": tracker.is_paused(),
        "events": [event.as_dict() for event in events],
        "latest_input_channel": tracker.get_latest_input_channel(),
        ACTIVE_LOOP: ({field.name: getattr(loop, field.name)
                       for field in dataclasses.fields(loop)} if loop else {}),
        "latest_action": tracker.latest_action,
        "latest_action_name": tracker.latest_action_name,
    }


def action_call_format(self: Any, tracker: Any, domain: Any) -> Dict[Text, Any]:
    """`RemoteAction._action_call_format` (Rasa 3.6.21) with `tracker_state`."""
    import rasa

    result = {
        "next_action": self._name,
        "sender_id": tracker.sender_id,
        "tracker": tracker_state(tracker),
        "version": rasa.__version__,
    }
    if (not self._is_selective_domain_enabled()
            or domain.does_custom_action_explicitly_need_domain(self.name())):
        result["domain"] = domain.as_dict()
    return result
