"""The intent classifier on the sentence embedding, blended with DIET (nlu_components/intent_ensemble.py)."""
from __future__ import annotations

from pathlib import Path
from unittest.mock import Mock

import numpy as np
import pytest
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.intent_ensemble import EmbeddingIntentEnsemble, blend
from nlu_components.sentence_embeddings import SentenceEmbeddingFeaturizer

EXAMPLES = {
    "leave_balance": ["how much leave do I have left", "how many days holiday remain",
                      "what's my annual leave balance", "days off left this year"],
    "pay_date": ["when is payday", "what date do we get paid", "when does my salary arrive",
                 "next pay date please"],
    "greet": ["hello", "good morning", "hi there", "hiya"],
}


@pytest.fixture(scope="module")
def featurizer(tmp_path_factory: pytest.TempPathFactory) -> SentenceEmbeddingFeaturizer:
    storage = LocalModelStorage(tmp_path_factory.mktemp("featurizer"))
    featurizer = SentenceEmbeddingFeaturizer.create(
        SentenceEmbeddingFeaturizer.get_default_config(), storage, Resource("emb"), Mock(node_name="emb"))
    featurizer.train(TrainingData([]))
    return featurizer


def trained(tmp_path: Path, featurizer: SentenceEmbeddingFeaturizer, **config) -> tuple:
    data = TrainingData([Message({TEXT: t, INTENT: i}) for i, ts in EXAMPLES.items() for t in ts])
    featurizer.process_training_data(data)
    storage, resource = LocalModelStorage(tmp_path), Resource("ensemble")
    component = EmbeddingIntentEnsemble.create(config, storage, resource, Mock(node_name="ensemble"))
    component.train(data)
    return component, storage, resource


def parsed(featurizer, component, text: str, diet_ranking: list) -> Message:
    message = Message({TEXT: text, INTENT_RANKING_KEY: diet_ranking,
                       INTENT: diet_ranking[0] if diet_ranking else None})
    featurizer.process([message])
    return component.process([message])[0]


def test_blend_weighs_both_rankings_and_keeps_every_intent() -> None:
    ranking = blend([{"name": "a", "confidence": 0.8}, {"name": "c", "confidence": 0.2}],
                    ["a", "b"], np.array([0.1, 0.9]), diet_weight=0.25)
    assert [r["name"] for r in ranking] == ["b", "a", "c"]
    assert [round(r["confidence"], 4) for r in ranking] == [0.675, 0.275, 0.05]


def test_the_regression_recognises_a_new_phrasing_by_meaning(tmp_path: Path, featurizer) -> None:
    component, *_ = trained(tmp_path, featurizer, diet_weight=0.0)
    message = parsed(featurizer, component, "what day will my wages be paid", [])
    assert message.get(INTENT)["name"] == "pay_date"
    ranking = message.get(INTENT_RANKING_KEY)
    assert {r["name"] for r in ranking} == set(EXAMPLES)
    assert sum(r["confidence"] for r in ranking) == pytest.approx(1.0)


def test_the_probabilities_are_scikit_learns(tmp_path: Path, featurizer) -> None:
    from sklearn.linear_model import LogisticRegression

    component, *_ = trained(tmp_path, featurizer)
    texts = [t for ts in EXAMPLES.values() for t in ts]
    vectors = featurizer.encoder.embed(texts)
    labels = [i for i, ts in EXAMPLES.items() for _ in ts]
    reference = LogisticRegression(C=16.0, max_iter=3000).fit(vectors, labels)
    probe = featurizer.encoder.embed(["morning all"])[0]
    assert list(reference.classes_) == component.classes
    assert np.allclose(component.probabilities(probe), reference.predict_proba([probe])[0], atol=1e-6)


def test_diets_ranking_counts_by_its_weight(tmp_path: Path, featurizer) -> None:
    component, *_ = trained(tmp_path, featurizer, diet_weight=1.0)
    diet = [{"name": "greet", "confidence": 0.7}, {"name": "pay_date", "confidence": 0.3}]
    message = parsed(featurizer, component, "what day will my wages be paid", diet)
    assert message.get(INTENT) == {"name": "greet", "confidence": 0.7}


def test_the_loaded_component_ranks_as_the_trained_one(tmp_path: Path, featurizer) -> None:
    component, storage, resource = trained(tmp_path, featurizer)
    loaded = EmbeddingIntentEnsemble.load({}, storage, resource, Mock(node_name="x"))
    diet = [{"name": "leave_balance", "confidence": 0.6}, {"name": "greet", "confidence": 0.4}]
    first = parsed(featurizer, component, "how many days of leave are left", diet)
    second = parsed(featurizer, loaded, "how many days of leave are left", diet)
    assert first.get(INTENT_RANKING_KEY) == second.get(INTENT_RANKING_KEY)
    assert first.get(INTENT)["name"] == "leave_balance"


def test_a_message_without_a_sentence_vector_keeps_diets_verdict(tmp_path: Path, featurizer) -> None:
    component, *_ = trained(tmp_path, featurizer)
    diet = [{"name": "greet", "confidence": 0.9}]
    message = Message({TEXT: "", INTENT: diet[0], INTENT_RANKING_KEY: diet})
    assert component.process([message])[0].get(INTENT) == diet[0]
