"""Sentence embeddings for the knowledge base: what a question means, beyond its words.

BM25 finds the sections that share a question's words; a sentence encoder also finds the ones
that say the same thing in other words ("my grandmother died" and "bereavement leave"). The
ranking (`ranking.py`) adds the two, and the "no article" rule reads how close the best
section's meaning is (docs/knowledge.md has the measurements that chose this).

The encoder is all-MiniLM-L6-v2 (Apache-2.0), int8, run by ONNX Runtime on one thread: the same
model files and code as the NLU pipeline's sentence features (`nlu_components/minilm.py`, pure
numpy/ONNX, no Rasa import), installed in this runtime too (requirements/services.txt and
services-models.txt). Every file is checked against the release's published digests before
use; nothing is downloaded. Building the int8 graph from the release's weights takes 14 s on
the loaded 2-core machine and leaves about 400 MB behind in the process that did it, so it is
built once in a short-lived child process and kept in `var/kb-encoder/`
(`HELPDESK_KB_ENCODER_DIR`) with the digests of what it holds, which every load checks; a
process then loads the kept graph (tens of MB). Where that folder cannot be written (a
read-only container), each process builds its own. The action server does it on a
background thread as it starts (`actions.policy.warm_up_in_background`).

Section vectors are kept by their text, so a rebuilt index embeds only the sections that are
new or changed (an edit: a few sections, milliseconds).
"""
from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

logger = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parents[2]


class TextEncoder(Protocol):
    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dimension) float32, each row of length 1."""


class SectionEmbeddings:
    """An encoder with a memory of the section texts it has embedded (thread-safe)."""

    def __init__(self, encoder: TextEncoder, limit: int = 20000) -> None:
        self.encoder = encoder
        self._known: dict[str, np.ndarray] = {}
        self._limit = limit
        self._lock = threading.Lock()

    def sections(self, texts: Sequence[str]) -> np.ndarray:
        with self._lock:
            missing = sorted({t for t in texts if t not in self._known})
            if missing:
                if len(self._known) + len(missing) > self._limit:
                    self._known.clear()  # a library far bigger than ours: start again
                    missing = sorted(set(texts))
                for text, vector in zip(missing, self.encoder.embed(missing)):
                    self._known[text] = vector
            return np.stack([self._known[t] for t in texts]) if texts else np.zeros((0, 0))

    def question(self, text: str) -> np.ndarray:
        return self.encoder.embed([text])[0]


def encoder_dir() -> Path:
    """Where the built encoder is kept (one folder per release and precision)."""
    from nlu_components.minilm import REVISION

    base = os.environ.get("HELPDESK_KB_ENCODER_DIR") or Path(
        os.environ.get("HELPDESK_VAR_DIR") or ROOT / "var") / "kb-encoder"
    return Path(base) / f"all-minilm-l6-v2-{REVISION[:12]}-int8"


def _build_in_child(directory: Path) -> None:
    """Build and save the encoder in a child process (its memory goes when it exits); the
    folder appears whole or not at all (renamed into place; a concurrent builder's copy wins)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory.parent, prefix=".building-") as scratch:
        built = Path(scratch) / "encoder"
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        subprocess.run([sys.executable, "-m", "bot.knowledge.embeddings", str(built)],
                       check=True, capture_output=True, timeout=1800, env=env, cwd=ROOT)
        try:
            os.rename(built, directory)
        except OSError:
            if not (directory / "encoder.json").is_file():
                raise


def load_encoder(directory: Path | None = None):
    """The kept encoder, built first if missing; checked against the release it records."""
    from nlu_components.minilm import DIGESTS, REVISION, MiniLMEncoder, shared_encoder

    directory = directory or encoder_dir()
    try:
        if not (directory / "encoder.json").is_file():
            _build_in_child(directory)
        record = json.loads((directory / "encoder.json").read_text(encoding="utf-8"))
        if record.get("revision") != REVISION or record.get("release_digests") != {
                name: list(value) for name, value in DIGESTS.items()}:
            raise ValueError("the kept encoder is of another release")
        return MiniLMEncoder.load(directory)  # checks the graph's and tokenizer's digests
    except (OSError, ValueError, KeyError, RuntimeError, subprocess.SubprocessError) as error:
        logger.warning("knowledge.encoder_not_kept error=%s", type(error).__name__)
        return shared_encoder()  # built here, from the checked release files


_LOCK = threading.Lock()
_SHARED: SectionEmbeddings | None = None


def shared_embeddings() -> SectionEmbeddings:
    """This process's encoder (the kept one; built from the checked release on first use)."""
    global _SHARED
    with _LOCK:
        if _SHARED is None:
            _SHARED = SectionEmbeddings(load_encoder())
        return _SHARED


if __name__ == "__main__":  # the child of _build_in_child: build from the release, save
    from nlu_components.minilm import shared_encoder

    target = Path(sys.argv[1])
    target.mkdir(parents=True)
    shared_encoder().save(target)
