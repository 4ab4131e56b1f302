"""The Rasa featurizer around the encoder (nlu_components/sentence_embeddings.py)."""
from __future__ import annotations

from pathlib import Path
from unittest.mock import Mock

import numpy as np
from rasa.engine.storage.local_model_storage import LocalModelStorage
from rasa.engine.storage.resource import Resource
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.minilm import shared_encoder
from nlu_components.sentence_embeddings import SentenceEmbeddingFeaturizer

CONFIG = SentenceEmbeddingFeaturizer.get_default_config()


def trained(tmp_path: Path) -> tuple[SentenceEmbeddingFeaturizer, LocalModelStorage, Resource]:
    storage, resource = LocalModelStorage(tmp_path), Resource("sentence_embeddings")
    context = Mock(node_name="sentence_embeddings")
    featurizer = SentenceEmbeddingFeaturizer.create(CONFIG, storage, resource, context)
    featurizer.train(TrainingData([]))
    return featurizer, storage, resource


def test_adds_one_sentence_feature_to_each_text_and_none_to_empty_messages(tmp_path: Path) -> None:
    featurizer, *_ = trained(tmp_path)
    texts = ["how much leave do I have left", "has my travel claim been paid"]
    messages = [Message({TEXT: t}) for t in texts] + [Message({TEXT: ""}), Message({"intent": "greet"})]
    featurizer.process(messages)
    sequence, sentence = messages[0].get_dense_features(TEXT)
    assert sequence is None
    assert sentence.features.shape == (1, 384)
    expected = shared_encoder().embed(texts)
    for message, vector in zip(messages, expected):
        assert np.allclose(message.get_dense_features(TEXT)[1].features[0], vector, atol=1e-6)
    assert messages[2].get_dense_features(TEXT) == (None, None)
    assert messages[3].get_dense_features(TEXT) == (None, None)


def test_the_loaded_model_featurizes_as_training_did(tmp_path: Path) -> None:
    featurizer, storage, resource = trained(tmp_path)
    data = TrainingData([Message({TEXT: "my overtime hasn't been paid", "intent": "ticket_create"})])
    featurizer.process_training_data(data)
    loaded = SentenceEmbeddingFeaturizer.load(CONFIG, storage, resource, Mock(node_name="x"))
    parsed = loaded.process([Message({TEXT: "my overtime hasn't been paid"})])[0]
    assert np.array_equal(data.training_examples[0].get_dense_features(TEXT)[1].features,
                          parsed.get_dense_features(TEXT)[1].features)
