"""What each Rasa worker does around its start-up load of the model (the patches
`model_required` and `ready_files` of `rasa_runtime.patches`), both on
`rasa.core.run.load_agent_on_start`, the listener `rasa run` registers before Sanic serves.
"""
from __future__ import annotations

import functools
import os
from pathlib import Path
from typing import Any, Awaitable, Callable

LoadAgent = Callable[..., Awaitable[Any]]


def requiring_a_model(load_agent_on_start: LoadAgent) -> LoadAgent:
    """Wrap each worker's start-up load so that a worker whose model did not load stops.

    Rasa logs a model that fails to load (or a missing one) and serves all the same, answering
    every message with nothing; its `GET /` would still say it is up, and that is what the
    health checks ask (docker-compose.yml, kubernetes/, scripts/stack.py). Stopping instead
    makes the failure visible where it happens: Sanic binds the port only after this listener,
    so a worker that stops here never answered anything.
    """

    @functools.wraps(load_agent_on_start)
    async def load_or_stop(*args: Any, **kwargs: Any) -> Any:
        agent = await load_agent_on_start(*args, **kwargs)
        if agent is None or not agent.is_ready():
            raise SystemExit("error: Rasa loaded no model (RASA_MODEL="
                             f"{os.environ.get('RASA_MODEL', 'models')!r}): not serving without one")
        return agent

    return load_or_stop


def announcing_readiness(load_agent_on_start: LoadAgent) -> LoadAgent:
    """Have each Sanic worker create `$RASA_READY_DIR/worker-<pid>` once its model is loaded
    (nothing without RASA_READY_DIR).

    Rasa answers HTTP as soon as one worker has loaded; the others go on loading (a core each
    for ~20 s). `scripts/stack.py` waits for one file per worker before it says "ready".
    """
    ready_directory = os.environ.get("RASA_READY_DIR")
    if not ready_directory:
        return load_agent_on_start

    @functools.wraps(load_agent_on_start)
    async def load_and_announce(*args: Any, **kwargs: Any) -> Any:
        agent = await load_agent_on_start(*args, **kwargs)
        (Path(ready_directory) / f"worker-{os.getpid()}").touch()
        return agent

    return load_and_announce
