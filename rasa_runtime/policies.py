"""Rasa 3.6's TED and rule policies, each remembering what it has already worked out: custom
policies, Rasa's supported way to change a policy, named in config.yml's `policies:`.

Both answer exactly what the policy they extend answers; they only skip work whose answer is
already known (docs/performance.md, speed-ups 2 and 3, measured when they were patches):

- `MemoisedTEDPolicy`: TED's prediction is a pure function of the dialogue states it
  featurises (the last `max_history` turns' intents, entity names, featurised slots, active
  loop and previous action), and running the TensorFlow model for it, two or three times a
  message, was 15-22 % of the Rasa process's CPU. The prediction is kept per policy in an LRU
  keyed by exactly those states. Not for end-to-end TED (it also reads the message's text,
  which the states do not capture), and a prediction that carries events (entities from the
  text) is never kept.
- `MemoisedRulePolicy`: `RulePolicy._get_possible_keys` checked every rule against every turn
  of the conversation, though a rule of n turns can only fail on the last n; it now looks at
  the turns up to the longest rule, and keeps the answer by those turns' states.

The memo is on only in a policy loaded from a trained model (`load`): while a policy trains,
its lookup tables are built and replaced, and an answer kept for one of them could be handed
out for another; a freshly trained policy computes everything, as Rasa's does.

Rasa names a prediction after its policy's class (`MemoisedRulePolicy`), which is what
`ActionExecuted.policy` then records; nothing in Rasa 3.6 or in this project reads that name
(Rasa's own check, `is_not_in_training_data`, looks for a `_RulePolicy` suffix that Rasa 3.x
names no longer carry). Two of Rasa's training checks compare a policy's class with
`RulePolicy` by equality: `MemoisedRulePolicy.train` runs the one that matters, the domain's
compatibility check, itself; the other only warns that no `RulePolicy` is configured
(var/logs/train.log).
"""
from __future__ import annotations

import json
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Set, Text

from rasa.core.featurizers.precomputation import MessageContainerForCoreFeaturization
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.policies.rule_policy import RulePolicy
from rasa.core.policies.ted_policy import TEDPolicy
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.shared.core.domain import Domain
from rasa.shared.core.generator import TrackerWithCachedStates
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import TEXT

TED_CACHE_SIZE = 4096
RULE_CACHE_SIZE = 4096


class LRU:
    """A bounded mapping that forgets the least recently used entry."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: "OrderedDict[Any, Any]" = OrderedDict()

    def get(self, key: Any) -> Any:
        value = self._entries.get(key)
        if value is not None:
            self._entries.move_to_end(key)
        return value

    def put(self, key: Any, value: Any) -> None:
        self._entries[key] = value
        self._entries.move_to_end(key)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


def copied(prediction: PolicyPrediction) -> PolicyPrediction:
    """A fresh PolicyPrediction: the ensemble edits `probabilities` in place."""
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


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITH_END_TO_END_SUPPORT, is_trainable=True)
class MemoisedTEDPolicy(TEDPolicy):
    """TEDPolicy whose loaded model keeps its predictions by the dialogue states they are
    computed from."""

    predictions: Optional[LRU] = None  # set by `load`: off while training

    @classmethod
    def load(cls, *args: Any, **kwargs: Any) -> "MemoisedTEDPolicy":
        policy = super().load(*args, **kwargs)
        policy.predictions = LRU(TED_CACHE_SIZE)
        return policy

    def prediction_key(self, tracker: DialogueStateTracker, domain: Domain,
                       rule_only_data: Optional[Dict[Text, Any]]) -> Optional[Text]:
        """The states TED featurises for this prediction, as a string; None when it cannot be
        kept (no memo, no model, or a model that reads the message text)."""
        if self.predictions is None or self.model is None or TEXT in self.fake_features:
            return None
        states = self._prediction_states(tracker, domain,
                                         use_text_for_last_user_input=self.only_e2e,
                                         rule_only_data=rule_only_data)
        return json.dumps(states, sort_keys=True, default=list)

    def predict_action_probabilities(
        self, tracker: DialogueStateTracker, domain: Domain,
        rule_only_data: Optional[Dict[Text, Any]] = None,
        precomputations: Optional[MessageContainerForCoreFeaturization] = None,
        **kwargs: Any,
    ) -> PolicyPrediction:
        """TEDPolicy's prediction (see there), from the memo when these states were seen."""
        key = self.prediction_key(tracker, domain, rule_only_data)
        known = self.predictions.get(key) if key is not None else None
        if known is not None:
            return copied(known)
        prediction = super().predict_action_probabilities(
            tracker, domain, rule_only_data=rule_only_data, precomputations=precomputations,
            **kwargs)
        if key is not None and not prediction.events and not prediction.optional_events:
            self.predictions.put(key, copied(prediction))
        return prediction


@dataclass
class _RuleTable:
    """One lookup table of a loaded rule policy, its longest rule's number of turns, and the
    answers found so far."""

    lookup: Dict[Text, Text]  # held, so that its id stays this table's
    longest: int
    answers: LRU = field(default_factory=lambda: LRU(RULE_CACHE_SIZE))

    @classmethod
    def of(cls, lookup: Dict[Text, Text]) -> "_RuleTable":
        return cls(lookup, max((len(json.loads(key)) for key in lookup), default=0))


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.POLICY_WITHOUT_END_TO_END_SUPPORT, is_trainable=True)
class MemoisedRulePolicy(RulePolicy):
    """RulePolicy whose loaded rules are checked against the turns that can matter, each
    answer kept by those turns."""

    rule_tables: Optional[Dict[int, _RuleTable]] = None  # set by `load`: off while training

    @classmethod
    def load(cls, *args: Any, **kwargs: Any) -> "MemoisedRulePolicy":
        policy = super().load(*args, **kwargs)
        policy.rule_tables = {}
        return policy

    def train(self, training_trackers: List[TrackerWithCachedStates], domain: Domain,
              **kwargs: Any) -> Resource:
        """RulePolicy's training, after the domain check Rasa runs only for `RulePolicy`
        itself (its validator compares classes by equality)."""
        self.raise_if_incompatible_with_domain(self.config, domain)
        return super().train(training_trackers, domain, **kwargs)

    def _get_possible_keys(self, lookup: Dict[Text, Text], states: List[Any]) -> Set[Text]:
        """The keys of `lookup` whose rule matches `states`, as RulePolicy finds them.

        RulePolicy checks each rule against every turn, newest first, and a rule of n turns
        is applicable at any turn older than its n-th (`_is_rule_applicable`), so only the
        last `longest` states can decide.
        """
        if self.rule_tables is None:
            return super()._get_possible_keys(lookup, states)
        table = self.rule_tables.get(id(lookup))
        if table is None or table.lookup is not lookup:
            table = self.rule_tables[id(lookup)] = _RuleTable.of(lookup)
        recent = states[-table.longest:] if table.longest else []
        key = json.dumps(recent, sort_keys=True, default=list)
        known = table.answers.get(key)
        if known is None:
            known = frozenset(super()._get_possible_keys(lookup, recent))
            table.answers.put(key, known)
        return set(known)
