"""The start-up patches `scripts/rasa_server.py` installs (`rasa_runtime.patches.startup`): a
worker that loaded no model stops instead of serving without one (its `GET /`, which every
health check asks, would otherwise say it is up); a worker announces its loaded model."""
from __future__ import annotations

from typing import Any

import pytest

from rasa_runtime.patches.startup import announcing_readiness, requiring_a_model


class Agent:
    def __init__(self, ready: bool) -> None:
        self.ready = ready

    def is_ready(self) -> bool:
        return self.ready


async def test_a_loaded_model_is_served() -> None:
    agent = Agent(ready=True)

    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        return agent

    assert await requiring_a_model(load_agent_on_start)("models", None, None, "app", None) is agent


@pytest.mark.parametrize("agent", [Agent(ready=False), None], ids=["no model", "no agent"])
async def test_no_model_stops_the_worker(agent: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RASA_MODEL", "models/missing.tar.gz")

    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        return agent

    with pytest.raises(SystemExit, match="loaded no model.*models/missing.tar.gz"):
        await requiring_a_model(load_agent_on_start)("models", None, None, "app", None)


async def test_a_loaded_worker_announces_itself_in_the_ready_directory(
        tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    monkeypatch.setenv("RASA_READY_DIR", str(tmp_path))
    agent = Agent(ready=True)

    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        assert not list(tmp_path.iterdir())  # not before the model is loaded
        return agent

    assert await announcing_readiness(load_agent_on_start)("models", None, None, "app") is agent
    assert [path.name for path in tmp_path.iterdir()] == [f"worker-{os.getpid()}"]


def test_without_a_ready_directory_nothing_is_wrapped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RASA_READY_DIR", raising=False)

    async def load_agent_on_start(*args: Any, **kwargs: Any) -> Any:
        return None

    assert announcing_readiness(load_agent_on_start) is load_agent_on_start
