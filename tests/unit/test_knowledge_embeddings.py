"""The knowledge base's sentence encoder is built once, in a child process, and kept with the
digests of what it holds; a kept copy that does not match is not used."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from bot.knowledge.embeddings import SectionEmbeddings, load_encoder

QUESTION = "how long is paternity leave"


def test_the_encoder_is_built_once_and_kept(tmp_path: Path) -> None:
    kept = tmp_path / "encoder"
    first = load_encoder(kept)
    assert {p.name for p in kept.iterdir()} == {"encoder.json", "encoder.onnx", "tokenizer.json"}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".building-")]
    built_at = (kept / "encoder.onnx").stat().st_mtime_ns
    second = load_encoder(kept)  # loaded, not built again
    assert (kept / "encoder.onnx").stat().st_mtime_ns == built_at
    a, b = first.embed([QUESTION])[0], second.embed([QUESTION])[0]
    assert a.shape == (384,) and abs(float(np.linalg.norm(a)) - 1) < 1e-4
    assert float(a @ b) > 0.9999

    # a kept copy whose record no longer matches its graph is refused; the encoder is then
    # built in this process from the checked release files instead
    record = json.loads((kept / "encoder.json").read_text())
    record["encoder_sha256"] = "0" * 64
    (kept / "encoder.json").write_text(json.dumps(record))
    rebuilt = load_encoder(kept)
    assert float(rebuilt.embed([QUESTION])[0] @ a) > 0.999


def test_similar_questions_are_closer_than_unrelated_ones(tmp_path: Path) -> None:
    embeddings = SectionEmbeddings(load_encoder(tmp_path / "encoder"))
    sections = embeddings.sections(["Paternity leave and pay. How much leave and when.",
                                    "Mileage rates. Cars and vans."])
    question = embeddings.question("how many weeks off do new dads get")
    assert float(sections[0] @ question) > float(sections[1] @ question) + 0.1
