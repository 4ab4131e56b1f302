"""Speed-ups of Rasa 3.6's message loop that change no result, only what is recomputed (and sent).

Found with py-spy on the running server (docs/performance.md):

1. `RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)`, which
   first checks the *schema* against the JSON Schema meta-schema (draft 2020-12, `$dynamicRef`
   resolution through urllib) on every action call: 16 % of the Rasa process's CPU at 16
   conversations, 36 % when the conversation has a form (several action calls a message). The schema is a constant, so it is checked once here and a prepared validator
   validates each result: same validator class, same errors, same message suffix.

2. `TEDPolicy.predict_action_probabilities` runs the TensorFlow model for every prediction,
   two or more per user message (the next action, then `action_listen`): 15-22 % of the CPU. Its
   output is a pure function of the featurised dialogue states of the last `max_history` turns
   (intents, entity names, featurised slots, active loop, previous action). This memoises the
   prediction per model instance, keyed by exactly those states, in a bounded LRU. It stays off
   when the model uses message text as a feature (end-to-end TED), whose input the states do not
   capture; predictions carrying events (entities from text) are never cached.

3. `RulePolicy._get_possible_keys` filters every rule against every turn of the conversation,
   though a rule can only fail on its own last few turns: 11 % of the CPU once TED was
   memoised, and growing with the conversation's length. This stops at the longest rule's length (the turns further back
   cannot change the answer) and memoises the answer by those turns' states.

4. `DialogueStateTracker.past_states` replays the whole conversation to list its dialogue
   states, and each policy asks for them again for the same tracker (memoization, rules
   several times, TED): 10 % of the CPU, growing with the conversation's length. This keeps
   the answer on the tracker until an event is added, and hands each caller its own copy
   (callers edit the states they get); after an event is added, only the events since the
   last computation are replayed (`rasa_runtime/dialogue_states.py`).

5. Every action call sends the whole domain (24 KB of JSON here), which aiohttp encoded again
   each time (4 % of the CPU) and the action server parsed again each time. The domain's JSON
   is now encoded once, and sent to each action server once: later calls carry its digest,
   the protocol rasa-sdk 3.21 speaks (`rasa_runtime/action_domain.py`).

6. The action call's HTTP client: one kept-alive session per endpoint and event loop instead
   of one per call (`rasa_runtime/action_client.py`), closed by Rasa's shutdown listener.

7. The action server's answer recognised as valid by the one event schema each event's name
   selects, instead of all 23 of the `oneOf` (`rasa_runtime/action_validation.py`); any answer
   not recognised goes through 1 as before.

8. Parses and predictions run their small graphs without dask's scheduler
   (`rasa_runtime/graph_runner.py`): the same nodes, each evaluated once, on the same thread.

9. A message's NLU parse starts on a worker thread before Rasa takes the conversation's lock
   and reads its tracker, which it does not need (`rasa_runtime/parse_ahead.py`): the lock,
   the read and the session check no longer come before the parse in a reply's time.

10. A call to a form's validation action no longer deep-copies the form's trigger message (the
    opening message's whole parse) into a body that is encoded at once and dropped
    (`rasa_runtime/action_call_state.py`).

11. The arguments of Rasa's debug log calls are no longer deep-copied while debug logging is
    off, in the four modules where every deep copy is one (`rasa_runtime/debug_copies.py`).

12. `DialogueStateTracker.copy`, made before every action, takes the tracker's state over
    instead of replaying every event of the conversation into an empty tracker, where the
    replay would give that state (`rasa_runtime/tracker_copy.py`).

Action calls are also encoded by ujson rather than `json.dumps` (`action_domain.dumps`, with 5).

All twelve patch Rasa internals, so `install()` checks the Rasa version they were written
against and refuses any other. `tests/rasa_stores/test_hot_path.py` and
`test_action_client.py` check that each gives what the code it replaces gives.
"""
from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Set, Text

from rasa_runtime import dialogue_states

logger = logging.getLogger(__name__)

RASA_VERSION = "3.6.21"
TED_CACHE_SIZE = 4096
RULE_CACHE_SIZE = 4096
_CACHE_ATTRIBUTE = "_helpdesk_prediction_cache"
_RULE_CACHE_ATTRIBUTE = "_helpdesk_rule_key_cache"
_RULE_LENGTHS_ATTRIBUTE = "_helpdesk_rule_lengths"
_installed = False
ORIGINALS: Dict[Text, Any] = {}  # the replaced functions, for the equivalence tests


class UnsupportedRasaVersion(RuntimeError):
    """The patches were written against another Rasa version's internals."""


# --- 1. the action server's answer, validated against a schema checked once ------------------

_validator_lock = threading.Lock()
_action_result_validator: Any = None


def action_result_validator() -> Any:
    """What `jsonschema.validate` builds on every call, built (and its schema checked) once."""
    global _action_result_validator
    with _validator_lock:
        if _action_result_validator is None:
            from jsonschema.validators import validator_for
            from rasa.core.actions.action import RemoteAction

            schema = RemoteAction.action_response_format_spec()
            validator_class = validator_for(schema)
            validator_class.check_schema(schema)
            _action_result_validator = validator_class(schema)
        return _action_result_validator


def validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
    """`RemoteAction._validate_action_result`, without re-checking the constant schema."""
    from jsonschema import ValidationError, exceptions
    from rasa.shared.constants import DOCS_BASE_URL

    error = exceptions.best_match(action_result_validator().iter_errors(result))
    if error is None:
        return True
    if not isinstance(error, ValidationError):  # pragma: no cover - best_match returns these
        raise error
    error.message += (
        f". Failed to validate Action server response from API, "
        f"make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit "
        f"{DOCS_BASE_URL}/custom-actions"
    )
    raise error


# --- 2. TED's prediction, memoised by the dialogue states it is computed from ---------------


def prediction_key(policy: Any, tracker: Any, domain: Any,
                   rule_only_data: Optional[Dict[Text, Any]]) -> Optional[str]:
    """The states TED featurises for this prediction, as a string; None when not cacheable."""
    from rasa.shared.nlu.constants import TEXT

    if TEXT in policy.fake_features:  # end-to-end TED also reads the message text
        return None
    states = policy._prediction_states(
        tracker, domain, use_text_for_last_user_input=policy.only_e2e,
        rule_only_data=rule_only_data)
    return json.dumps(states, sort_keys=True, default=list)


def _copy_prediction(prediction: Any) -> Any:
    """A fresh PolicyPrediction: the ensemble edits `probabilities` in place."""
    from rasa.core.policies.policy import PolicyPrediction

    return PolicyPrediction(
        list(prediction.probabilities),
        prediction.policy_name,
        prediction.policy_priority,
        events=list(prediction.events),
        optional_events=list(prediction.optional_events),
        is_end_to_end_prediction=prediction.is_end_to_end_prediction,
        is_no_user_prediction=prediction.is_no_user_prediction,
        diagnostic_data=prediction.diagnostic_data,
        hide_rule_turn=prediction.hide_rule_turn,
        action_metadata=prediction.action_metadata,
    )


def memoised_ted_prediction(original: Any) -> Any:
    """Wrap `TEDPolicy.predict_action_probabilities` with a per-model LRU of predictions."""

    def predict_action_probabilities(
        self: Any, tracker: Any, domain: Any,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        precomputations: Any = None, **kwargs: Any,
    ) -> Any:
        key = None if self.model is None else prediction_key(self, tracker, domain,
                                                              rule_only_data)
        cache: OrderedDict = self.__dict__.setdefault(_CACHE_ATTRIBUTE, OrderedDict())
        if key is not None and key in cache:
            cache.move_to_end(key)
            return _copy_prediction(cache[key])
        prediction = original(self, tracker, domain, rule_only_data=rule_only_data,
                              precomputations=precomputations, **kwargs)
        if key is not None and not prediction.events and not prediction.optional_events:
            cache[key] = _copy_prediction(prediction)
            if len(cache) > TED_CACHE_SIZE:
                cache.popitem(last=False)
        return prediction

    predict_action_probabilities.__wrapped__ = original  # type: ignore[attr-defined]
    predict_action_probabilities.__doc__ = original.__doc__
    return predict_action_probabilities


# --- 3. the rules that match, from the turns that can matter --------------------------------


def _rule_lengths(policy: Any, lookup: Dict[Text, Text]) -> Dict[Text, int]:
    """Turns per rule key of one lookup table (constant for the model), computed once."""
    per_lookup = policy.__dict__.setdefault(_RULE_LENGTHS_ATTRIBUTE, {})
    lengths = per_lookup.get(id(lookup))
    if lengths is None:
        lengths = {key: len(json.loads(key)) for key in lookup}
        per_lookup[id(lookup)] = lengths
    return lengths


def possible_rule_keys(self: Any, lookup: Dict[Text, Text], states: List[Any]) -> Set[Text]:
    """`RulePolicy._get_possible_keys`: the keys of `lookup` whose rule matches `states`.

    A rule of n turns is checked against the last n states only (the original returns True
    for every turn further back), so only the last `longest` states decide.
    """
    lengths = _rule_lengths(self, lookup)
    longest = max(lengths.values(), default=0)
    recent = states[-longest:] if longest else []
    cache: OrderedDict = self.__dict__.setdefault(_RULE_CACHE_ATTRIBUTE, OrderedDict())
    key = (id(lookup), json.dumps(recent, sort_keys=True, default=list))
    if key in cache:
        cache.move_to_end(key)
        return set(cache[key])
    possible = set(lookup)
    for turn_index, state in enumerate(reversed(recent)):
        possible = {rule for rule in possible
                    if turn_index >= lengths[rule]
                    or self._is_rule_applicable(rule, turn_index, state)}
    cache[key] = frozenset(possible)
    if len(cache) > RULE_CACHE_SIZE:
        cache.popitem(last=False)
    return set(possible)


# --- 4. a tracker's dialogue states, computed once per version of the tracker ---------------


def _copy_states(states: List[Dict[Text, Dict[Text, Any]]]) -> List[Dict[Text, Any]]:
    """States are dicts of dicts of strings and tuples: two levels are all that can change."""
    return [{name: dict(sub_state) for name, sub_state in state.items()} for state in states]


def memoised_past_states(original: Any) -> Any:
    """Wrap `DialogueStateTracker.past_states` with the memo and checkpoint of
    `dialogue_states`, kept on the tracker; each caller gets its own copy."""

    def past_states(self: Any, domain: Any, omit_unset_slots: bool = False,
                    ignore_rule_only_turns: bool = False,
                    rule_only_data: Optional[Dict[Text, Any]] = None) -> List[Any]:
        variant = (id(domain), omit_unset_slots, ignore_rule_only_turns,
                   json.dumps(rule_only_data, sort_keys=True, default=list))
        return _copy_states(dialogue_states.past_states(
            self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data, variant))

    past_states.__wrapped__ = original  # type: ignore[attr-defined]
    past_states.__doc__ = original.__doc__
    return past_states


def install() -> None:
    """Patch Rasa's classes (idempotent); call before the model is loaded."""
    global _installed
    import rasa
    import rasa.core.run
    from rasa.core.actions.action import RemoteAction
    from rasa.core.agent import Agent
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.core.policies.ted_policy import TEDPolicy
    from rasa.core.processor import MessageProcessor
    from rasa.engine.runner.dask import DaskGraphRunner
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    if rasa.__version__ != RASA_VERSION:
        raise UnsupportedRasaVersion(
            f"rasa_runtime.hot_path was written against Rasa {RASA_VERSION}, "
            f"not {rasa.__version__}: re-check the patched methods before updating the pin")
    if _installed:
        return
    import dask

    from rasa_runtime import (action_call_state, action_client, action_domain,
                              action_validation, debug_copies, graph_runner, parse_ahead,
                              tracker_copy)

    ORIGINALS.update(validate=RemoteAction._validate_action_result,
                     ted=TEDPolicy.predict_action_probabilities,
                     rule_keys=RulePolicy._get_possible_keys,
                     past_states=DialogueStateTracker.past_states,
                     request=EndpointConfig.request,
                     close_resources=rasa.core.run.close_resources,
                     graph_run=DaskGraphRunner.run,
                     handle_message=Agent.handle_message,
                     handle_with_tracker=MessageProcessor._handle_message_with_tracker,
                     action_call_format=RemoteAction._action_call_format,
                     tracker_copy=DialogueStateTracker.copy)
    RemoteAction._validate_action_result = action_validation.validate_action_result
    TEDPolicy.predict_action_probabilities = memoised_ted_prediction(ORIGINALS["ted"])
    RulePolicy._get_possible_keys = possible_rule_keys
    DialogueStateTracker.past_states = memoised_past_states(ORIGINALS["past_states"])
    EndpointConfig.request = action_domain.sending_the_domain_once(
        action_client.pooled_requests(ORIGINALS["request"]))
    rasa.core.run.close_resources = action_client.closing_sessions(ORIGINALS["close_resources"])
    DaskGraphRunner.run = graph_runner.unscheduled_run(dask.get)
    Agent.handle_message = parse_ahead.parsing_ahead(ORIGINALS["handle_message"])
    MessageProcessor._handle_message_with_tracker = parse_ahead.using_the_parse_ahead(
        ORIGINALS["handle_with_tracker"])
    RemoteAction._action_call_format = action_call_state.action_call_format
    DialogueStateTracker.copy = tracker_copy.copying_directly(ORIGINALS["tracker_copy"])
    without_debug_copies = len(debug_copies.install())
    _installed = True
    logger.info("hot_path.installed (debug copies skipped in %d of %d modules)",
                without_debug_copies, len(debug_copies.MODULES))
