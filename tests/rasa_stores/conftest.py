"""Fixtures of the Rasa-runtime tests."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from rasa.core.agent import Agent
from rasa_runtime import patches

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def agent() -> Iterator[Agent]:
    """The trained model (models/current.txt) with the hot path installed, once per module;
    fails, saying so, when no model was trained."""
    marker = ROOT / "models" / "current.txt"
    if not marker.exists():
        raise RuntimeError("no trained model (models/current.txt): `make model` trains it")
    patches.install()
    yield Agent.load(str(ROOT / marker.read_text().strip()))


@pytest.fixture
def restored_structlog() -> Iterator[None]:
    """structlog's configuration as it was before the test, whatever the test configures."""
    import structlog

    saved = structlog.get_config()
    yield
    structlog.configure(**saved)


@pytest.fixture
def debug_logging_off(restored_structlog: None) -> None:
    """structlog as `rasa run` configures it at its default level (INFO): debug events dropped
    by the wrapper."""
    import logging

    import structlog

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
