"""Work a channel does after acknowledging a request (Slack must be answered within 3 s)."""
from __future__ import annotations

import asyncio
from typing import Any, Awaitable, Set


class BackgroundTasks:
    """Keeps a reference to every task it starts (so none is garbage-collected mid-flight)."""

    def __init__(self) -> None:
        self._tasks: Set[asyncio.Task] = set()

    def spawn(self, coroutine: Awaitable[Any]) -> "asyncio.Future[Any]":
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self) -> None:
        """Wait for every task, including ones started while waiting (tests, shutdown)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
