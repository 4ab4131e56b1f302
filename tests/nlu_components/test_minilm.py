"""The sentence encoder (nlu_components/minilm.py): checked files, the release's numbers, int8.

Runs in the Rasa runtime (onnxruntime, tokenizers, safetensors). The encoder loads once per
module: building and quantising the graph takes seconds.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from nlu_components.minilm import (
    DIGESTS, REVISION, ModelFileMismatch, MiniLMEncoder, digest, package_model_dir, shared_encoder,
    verify,
)

# The first five dimensions of the embedding of "hello world" by the original model, as an
# independent implementation publishes them: Qdrant's fastembed test suite
# (CANONICAL_VECTOR_VALUES["sentence-transformers/all-MiniLM-L6-v2"], the input "hello world").
HELLO_WORLD = np.array([-0.034478, 0.03102, 0.00673, 0.02611, -0.039362])


@pytest.fixture(scope="module")
def fp32() -> MiniLMEncoder:
    return MiniLMEncoder.from_release(package_model_dir(), int8=False)


@pytest.fixture(scope="module")
def int8() -> MiniLMEncoder:
    return shared_encoder()


def test_the_installed_files_are_the_release(tmp_path: Path) -> None:
    verify(package_model_dir())  # raises on any difference


def test_a_changed_or_missing_file_stops_the_load(tmp_path: Path) -> None:
    source = package_model_dir()
    for name in DIGESTS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, tmp_path / name)
    config = tmp_path / "config.json"
    config.write_text(config.read_text().replace('"hidden_size": 384', '"hidden_size": 385'))
    with pytest.raises(ModelFileMismatch, match="config.json"):
        verify(tmp_path)
    (tmp_path / "tokenizer.json").unlink()
    with pytest.raises(ModelFileMismatch, match="missing"):
        MiniLMEncoder.from_release(tmp_path)


def test_digest_follows_git_blob_and_sha256(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"hello\n")
    # `git hash-object` of "hello\n" and `sha256sum` of the same bytes.
    assert digest(path, "git_blob_sha1") == "ce013625030ba8dba906f756967f9e9ca394464a"
    assert digest(path, "sha256") == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"


def test_tokens_are_bert_uncased_word_pieces(fp32: MiniLMEncoder) -> None:
    assert fp32.token_ids("Hello world") == [101, 7592, 2088, 102]


def test_float32_graph_reproduces_the_release(fp32: MiniLMEncoder) -> None:
    vector = fp32.embed(["hello world"])[0]
    assert np.allclose(vector[:5], HELLO_WORLD, atol=1e-4)
    assert np.isclose(np.linalg.norm(vector), 1.0, atol=1e-5)


def test_batches_and_padding_do_not_change_an_embedding(fp32: MiniLMEncoder) -> None:
    texts = ["yes", "how many days of annual leave have I got left this year", "hello world"]
    together = fp32.embed(texts, batch_size=3)
    alone = np.stack([fp32.embed([t])[0] for t in texts])
    assert np.allclose(together, alone, atol=1e-5)


def test_int8_stays_close_to_float32_and_keeps_meaning(fp32: MiniLMEncoder, int8: MiniLMEncoder) -> None:
    texts = ["how many days holiday have I got left", "what is my remaining annual leave",
             "what's the weather in Leeds", "has my travel claim been paid"]
    exact, small = fp32.embed(texts), int8.embed(texts)
    assert (exact * small).sum(axis=1).min() > 0.97
    similarity = small @ small.T
    assert similarity[0, 1] > similarity[0, 2] + 0.2
    assert similarity[0, 1] > similarity[0, 3]


def test_saved_encoder_loads_the_same_and_refuses_a_changed_file(int8: MiniLMEncoder, tmp_path: Path) -> None:
    int8.save(tmp_path)
    loaded = MiniLMEncoder.load(tmp_path)
    texts = ["has my travel claim been paid", "hello"]
    assert np.array_equal(loaded.embed(texts), int8.embed(texts))
    assert json.loads((tmp_path / "encoder.json").read_text())["revision"] == REVISION
    graph = tmp_path / "encoder.onnx"
    graph.write_bytes(graph.read_bytes()[:-1] + b"\0")
    with pytest.raises(ModelFileMismatch, match="differs from its record"):
        MiniLMEncoder.load(tmp_path)
