"""The model loaded at start-up is kept out of Python's full garbage collections (the patch
`frozen_model` of `rasa_runtime.patches`).

A Rasa worker holds about 930,000 Python objects once its model is loaded (TensorFlow, the NLU
pipeline's vocabularies, the domain). A collection of the oldest generation walks all of them:
0.50-0.57 s here, on the event loop, inside whatever messages the worker is handling. CPython
runs one whenever enough new objects have outlived two younger collections (cached trackers,
memoised predictions), so a busy worker stalled for over half a second every so often (0.50-
0.68 s each in the workers of a running stack; the likely cause of the 0.8-0.9 s maxima of
several benchmark levels). `gc.freeze()` after the start-up load moves everything then alive
into the permanent generation, which collections skip: a full collection then walks only what
was created since (0.0 ms right after the freeze; 95-161 ms under load at 64 conversations).

Frozen objects are never freed. The start-up model lives as long as its worker unless another
replaces it (the HTTP API's `PUT /model`, a model server) or is loaded beside it (the HTTP
API's model tests): every later load first unfreezes, so that the old model can be collected
as before, and the worker has ordinary full collections from then on (a restart freezes again).
"""
from __future__ import annotations

import functools
import gc
from typing import Any, Awaitable, Callable

def freezing_after(load_agent_on_start: Callable[..., Awaitable[Any]]
                   ) -> Callable[..., Awaitable[Any]]:
    """Wrap `rasa.core.run.load_agent_on_start` (each worker's start-up load): collect what
    loading left behind, then freeze what is alive."""

    @functools.wraps(load_agent_on_start)
    async def load_and_freeze(*args: Any, **kwargs: Any) -> Any:
        agent = await load_agent_on_start(*args, **kwargs)
        gc.collect()  # start-up garbage is freed now rather than frozen for good
        gc.freeze()
        return agent

    return load_and_freeze


def unfreezing_before(load_model: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap `Agent.load_model` (every load): a load after the frozen one unfreezes first, so
    that whatever it replaces can be freed."""

    @functools.wraps(load_model)
    def unfreeze_and_load(self: Any, *args: Any, **kwargs: Any) -> Any:
        gc.unfreeze()
        return load_model(self, *args, **kwargs)

    return unfreeze_and_load

