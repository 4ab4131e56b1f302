"""An intent classifier on the sentence embedding, blended with DIET's ranking (Rasa 3.6).

DIET learns mostly from word and character n-gram counts, so a phrasing it never saw in
training often loses to one that shares more words. A multinomial logistic regression on the
all-MiniLM-L6-v2 sentence vector (nlu_components/sentence_embeddings.py) generalises by meaning
instead. This component runs after DIET and replaces the message's intent and ranking with

    p(intent) = diet_weight * DIET's confidence + (1 - diet_weight) * the regression's

(DIET's confidence is 0 for an intent outside its ranking). The FallbackClassifier after it
sees the blended ranking. `C` and `diet_weight` were chosen on the tuning half of CLINC dev
and our development set (docs/nlu.md); the regression is scikit-learn's (a Rasa dependency),
but the model keeps only its weights as plain arrays (no pickle) and scores with numpy.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import (INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY,
                                       PREDICTED_CONFIDENCE_KEY, TEXT)
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)
WEIGHTS = "weights.npz"
CLASSES = "classes.json"


def sentence_vector(message: Message) -> Optional[np.ndarray]:
    """The message's dense sentence feature of its text (None when it has none)."""
    _, sentence = message.get_dense_features(TEXT)
    if sentence is None:
        return None
    return np.asarray(sentence.features, dtype=np.float64).reshape(-1)


def softmax(scores: np.ndarray) -> np.ndarray:
    shifted = np.exp(scores - scores.max(axis=-1, keepdims=True))
    return shifted / shifted.sum(axis=-1, keepdims=True)


def blend(diet_ranking: List[Dict[Text, Any]], classes: List[Text], probabilities: np.ndarray,
          diet_weight: float) -> List[Dict[Text, Any]]:
    """The blended ranking, best first: every intent either side knows."""
    diet = {r[INTENT_NAME_KEY]: float(r[PREDICTED_CONFIDENCE_KEY]) for r in diet_ranking or []}
    ours = dict(zip(classes, (float(p) for p in probabilities)))
    names = list(dict.fromkeys([*classes, *diet]))
    blended = [{INTENT_NAME_KEY: n,
                PREDICTED_CONFIDENCE_KEY: diet_weight * diet.get(n, 0.0) + (1 - diet_weight) * ours.get(n, 0.0)}
               for n in names]
    return sorted(blended, key=lambda r: -r[PREDICTED_CONFIDENCE_KEY])


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True
)
class EmbeddingIntentEnsemble(GraphComponent, IntentClassifier):
    """Logistic regression on the sentence embedding, blended with the ranking before it."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"C": 16.0, "diet_weight": 0.35, "max_iter": 3000, "ranking_length": 10}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["sklearn"]

    def __init__(self, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
                 classes: Optional[List[Text]] = None, weights: Optional[np.ndarray] = None,
                 bias: Optional[np.ndarray] = None) -> None:
        self._config = {**self.get_default_config(), **config}
        self._model_storage = model_storage
        self._resource = resource
        self.classes = classes or []
        self.weights = weights
        self.bias = bias

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> GraphComponent:
        return cls(config, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> GraphComponent:
        try:
            with model_storage.read_from(resource) as directory:
                classes = json.loads((directory / CLASSES).read_text(encoding="utf-8"))
                with np.load(directory / WEIGHTS, allow_pickle=False) as arrays:
                    weights, bias = arrays["weights"], arrays["bias"]
        except ValueError:  # nothing was trained (no intent examples)
            return cls(config, model_storage, resource)
        return cls(config, model_storage, resource, classes, weights, bias)

    def train(self, training_data: TrainingData) -> Resource:
        from sklearn.linear_model import LogisticRegression

        rows, labels = [], []
        for example in training_data.intent_examples:
            vector = sentence_vector(example)
            if vector is not None and example.get(INTENT):
                rows.append(vector)
                labels.append(example.get(INTENT))
        if len(set(labels)) < 2:
            logger.warning("EmbeddingIntentEnsemble: fewer than two intents with sentence "
                           "features; it will pass DIET's ranking through")
            return self._resource
        regression = LogisticRegression(C=float(self._config["C"]),
                                        max_iter=int(self._config["max_iter"]))
        regression.fit(np.vstack(rows), labels)
        self.classes = [str(c) for c in regression.classes_]
        self.weights, self.bias = regression.coef_, regression.intercept_
        with self._model_storage.write_to(self._resource) as directory:
            (directory / CLASSES).write_text(json.dumps(self.classes), encoding="utf-8")
            np.savez(directory / WEIGHTS, weights=self.weights, bias=self.bias)
        return self._resource

    def probabilities(self, vector: np.ndarray) -> np.ndarray:
        """The regression's probability of each of `self.classes` (softmax of its scores)."""
        return softmax(vector @ np.asarray(self.weights).T + np.asarray(self.bias))

    def process(self, messages: List[Message]) -> List[Message]:
        if self.weights is None:
            return messages
        for message in messages:
            vector = sentence_vector(message)
            if vector is None:
                continue
            ranking = blend(message.get(INTENT_RANKING_KEY) or [], self.classes,
                            self.probabilities(vector), float(self._config["diet_weight"]))
            length = int(self._config["ranking_length"]) or len(ranking)
            message.set(INTENT, dict(ranking[0]), add_to_output=True)
            message.set(INTENT_RANKING_KEY, ranking[:length], add_to_output=True)
        return messages
