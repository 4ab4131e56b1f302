"""The action server's answer recognised as valid without trying all 23 event schemas (the
patch `action_validation` of `rasa_runtime.patches`).

Rasa 3.6 validates every action server answer with `jsonschema.validate(result, schema)`: it
first checks the *schema* against the JSON Schema meta-schema (draft 2020-12), then checks every
event against the `oneOf` of Rasa's 23 event schemas, and jsonschema must try them all (exactly
one may match), building a ValidationError for each of the 22 that do not: 36 % of the Rasa
process's CPU with a form active (docs/performance.md, speed-ups 1 and 11). `is_valid` gives
the same verdict for an answer that is valid, with validators built once and trying only the
one schema the event's name selects:

- an event is valid when it is valid against the event schema without its `oneOf` (type,
  `timestamp`, `metadata`, `event` required and a string) and against exactly one branch;
- every branch requires `properties.event.const`, each a different name (checked when the
  validators are built), so a branch whose name is not the event's is invalid: exactly one
  branch matches if and only if the branch of the event's name exists and matches;
- the answer without its events' `items` is checked with the rest of the schema unchanged.

Each part is checked by the same jsonschema validator class as Rasa's schema. `is_valid` only
ever says True when Rasa's validation would (the reasoning above); when it says False, Rasa's
own `_validate_action_result` decides and raises its own error (an invalid answer is a broken
action server: slow is fine there). Measured: 80 µs per realistic answer against Rasa's 30 ms.
"""
from __future__ import annotations

import copy
import threading
from typing import Any, Callable, Dict, NamedTuple, Optional, Text


class EventValidators(NamedTuple):
    answer: Any  # the answer's schema, its events' items left out
    event: Any  # the event schema without its oneOf
    by_name: Dict[Text, Any]  # the oneOf branch of each event name


_lock = threading.Lock()
_validators: Optional[EventValidators] = None
_built = False


def split_schema(schema: Dict[Text, Any]) -> Optional[EventValidators]:
    """Validators for the parts of Rasa's answer schema; None when it has not the shape the
    reasoning in the module docstring relies on (then every answer takes the full path)."""
    from jsonschema.validators import validator_for

    try:
        answer = copy.deepcopy(schema)
        event_schema = answer["properties"]["events"].pop("items")
        branches = event_schema["oneOf"]
        names = [branch["properties"]["event"]["const"] for branch in branches]
    except (KeyError, TypeError):
        return None
    if not all(isinstance(name, str) for name in names) or len(set(names)) != len(names):
        return None
    validator_class = validator_for(schema)
    event = {key: value for key, value in event_schema.items() if key != "oneOf"}
    return EventValidators(
        answer=validator_class(answer), event=validator_class(event),
        by_name={name: validator_class(branch) for name, branch in zip(names, branches)})


def validators() -> Optional[EventValidators]:
    """`split_schema` of Rasa's action answer schema, built once."""
    global _validators, _built
    with _lock:
        if not _built:
            from rasa.core.actions.action import RemoteAction

            _validators = split_schema(RemoteAction.action_response_format_spec())
            _built = True
        return _validators


def is_valid(result: Any, parts: Optional[EventValidators] = None) -> bool:
    """True only for an answer Rasa's schema accepts; False when it may not."""
    parts = parts or validators()
    if parts is None or not parts.answer.is_valid(result):
        return False
    for event in result.get("events", ()):  # the answer is an object, its events an array
        name = event.get("event") if isinstance(event, dict) else None
        branch = parts.by_name.get(name) if isinstance(name, str) else None
        if branch is None or not (parts.event.is_valid(event) and branch.is_valid(event)):
            return False
    return True


def validating_known_answers(original: Callable[..., bool]) -> Callable[..., bool]:
    """Wrap `RemoteAction._validate_action_result`: a valid answer recognised at once; any
    other decided, and its error raised, by Rasa's own validation."""

    def validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
        if is_valid(result):
            return True
        return original(self, result)

    validate_action_result.__wrapped__ = original  # type: ignore[attr-defined]
    validate_action_result.__doc__ = original.__doc__
    return validate_action_result
