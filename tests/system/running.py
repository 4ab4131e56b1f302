"""The real stack for one test module: started on free ports, stopped (and checked) afterwards."""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from scripts.stack_process import StackProcess, current_model


@contextmanager
def started_stack(directory: Path, extra_env: dict[str, str] | None = None) -> Iterator[StackProcess]:
    """`make run`'s processes with the trained model; fails (never skips) without a model."""
    try:
        model = current_model()
    except FileNotFoundError as error:
        pytest.fail(str(error))
    running = StackProcess(directory, model, extra_env or {})
    running.setup_database()
    running.start()
    try:
        yield running
    finally:
        assert running.stop() == 0, "stack.py did not stop cleanly"
