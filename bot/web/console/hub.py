"""Live updates inside one web app process, kept in step with the database.

`Hub` is a generation counter with a condition: a change made here (a claim, a reply, a pushed
widget message) notifies it at once; the poller notifies it when the database shows a change
made anywhere else (another web app process, Rasa storing an employee's message). Streams
(server-sent events) wait on it, then read what is new from the database: the database is the
only source of truth, so any number of web app processes can serve the console and the widget.

The poller, every `POLL_SECONDS`:
1. copies new employee messages of open handoffs from Rasa's tracker store (`feed`);
2. compares the change markers (newest transcript entry, newest widget push) with the last
   ones, and when they moved, notifies the hub and tells waiting employees whose place in the
   queue changed materially (`announcements.announcements_due`).
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from bot.handoff import transcript, widget_push
from bot.handoff.feed import TrackerFeed
from bot.storage.database import Database

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5


class Hub:
    def __init__(self) -> None:
        self._condition = asyncio.Condition()
        self.generation = 0
        self.closed = False

    async def notify(self) -> None:
        async with self._condition:
            self.generation += 1
            self._condition.notify_all()

    async def wait(self, seen: int, timeout: float) -> int:
        """The generation once it differs from `seen`, or after `timeout` seconds."""
        async with self._condition:
            if self.generation == seen and not self.closed:
                try:
                    await asyncio.wait_for(self._condition.wait(), timeout)
                except TimeoutError:
                    pass
            return self.generation

    async def close(self) -> None:
        async with self._condition:
            self.closed = True
            self._condition.notify_all()


def _tick(db: Database, feed: TrackerFeed | None) -> tuple[int, int, int]:
    copied = 0
    if feed is not None:
        targets = transcript.feed_targets(db)
        if targets:
            copied = transcript.record_employee_messages(db, targets, feed.user_messages(targets))
    return transcript.change_marker(db), widget_push.outbox_marker(db), copied


async def run_poller(db: Database, feed: TrackerFeed | None, hub: Hub,
                     on_change: Callable[[], Awaitable[None]],
                     interval: float = POLL_SECONDS) -> None:
    last: tuple[int, int] | None = None
    while not hub.closed:
        try:
            handoffs, pushes, copied = await asyncio.to_thread(_tick, db, feed)
            if copied:
                log.info("handoff.feed copied=%d", copied)
            if (handoffs, pushes) != last:
                last = (handoffs, pushes)
                await hub.notify()
                await on_change()
        except Exception as error:  # keep polling; the type only (no personal data)
            log.error("handoff.poller.failed error=%s", type(error).__name__)
        await asyncio.sleep(interval)  # a polling period, not synchronisation
