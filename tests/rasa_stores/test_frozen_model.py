"""`rasa_runtime.patches.frozen_model`: the start-up model is frozen out of full collections, and any
later load unfreezes so that what it replaces can be freed."""
from __future__ import annotations

import gc
import inspect
from typing import Any, Iterator, List

import pytest

from rasa_runtime.patches import frozen_model


@pytest.fixture(autouse=True)
def nothing_frozen_after() -> Iterator[None]:
    yield
    gc.unfreeze()


async def test_the_start_up_load_is_followed_by_a_freeze() -> None:
    gc.unfreeze()
    loaded = object()

    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        assert gc.get_freeze_count() == 0  # frozen only once loaded
        return loaded

    assert await frozen_model.freezing_after(load_agent_on_start)("app", loop=None) is loaded
    assert gc.get_freeze_count() > 0


def test_a_later_load_unfreezes_first() -> None:
    calls: List[Any] = []

    def load_model(agent: Any, model_path: str, fingerprint: Any = None) -> None:
        calls.append((agent, model_path, fingerprint, gc.get_freeze_count()))

    gc.freeze()
    assert gc.get_freeze_count() > 0
    frozen_model.unfreezing_before(load_model)("agent", "models/new.tar.gz", fingerprint="f")
    assert calls == [("agent", "models/new.tar.gz", "f", 0)]


def test_rasa_run_gets_both_once() -> None:
    """Installed from the table, each wraps Rasa's own function once, however often the
    table is installed."""
    import rasa.core.run
    from rasa.core.agent import Agent

    from rasa_runtime import patches

    patches.install()
    patches.install()
    assert inspect.unwrap(rasa.core.run.load_agent_on_start) is patches.original(
        patches.LOAD_AGENT_ON_START)
    assert Agent.load_model.__wrapped__ is patches.original("rasa.core.agent:Agent.load_model")
    assert Agent.load_model.__wrapped__.__qualname__ == "Agent.load_model"
