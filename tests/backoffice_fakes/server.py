"""A fake system of record served over HTTP on loopback, with faults a test can switch on.

Each fake is an aiohttp application run in its own thread and event loop, so the code under
test (in this process, or the stack's action server in another) talks real HTTP to it. Faults:
`latency` (every answer waits that long), `throttle(n, retry_after)` (the next n requests get
429 with Retry-After), `fail(n, status)` (the next n get that status), `write_latency` (writes
commit, then answer that much later: a client that times out does not know the outcome), and
`down()` / `up()` (the port refuses connections, and the connections already open are
closed, as when a system stops: a client's pooled keep-alive connection is not served on).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from scripts.stack_process import free_port  # from HELPDESK_PORT_RANGE when set

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeServer:
    """Serves `app` on 127.0.0.1:port in a background thread."""

    def __init__(self, app: web.Application, port: int | None = None) -> None:
        self.port = port or free_port()
        self.latency = 0.0
        self.write_latency = 0.0
        self.requests: list[tuple[str, str]] = []  # (method, path) of every request seen
        self.faults_served = 0
        self._faults: list[tuple[int, float | None]] = []  # (status, retry_after)
        self._lock = threading.Lock()
        app.middlewares.append(self._middleware)
        self.app = app
        self._loop = asyncio.new_event_loop()
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._run(self._start_runner())
        self.up()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self, coroutine: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(10)  # type: ignore[arg-type]

    async def _start_runner(self) -> None:
        self._runner = web.AppRunner(self.app, access_log=None)
        await self._runner.setup()

    async def _start_site(self) -> None:
        self._site = web.TCPSite(self._runner, "127.0.0.1", self.port, reuse_address=True)  # type: ignore[arg-type]
        await self._site.start()

    async def _stop_site(self) -> None:
        if self._site is not None:
            await self._site.stop()
            self._site = None
        # Stopping the site only closes the listening socket: aiohttp goes on serving the
        # connections already open, so a client with pooled keep-alive connections (the action
        # server's httpx client after any earlier answer) would still be answered by a system
        # that is "down". A stopped system's connections end with it.
        if self._runner is not None and self._runner.server is not None:
            for handler in self._runner.server.connections:
                handler.force_close()

    def up(self) -> None:
        if self._site is None:
            self._run(self._start_site())

    def down(self) -> None:
        self._run(self._stop_site())

    def throttle(self, count: int, retry_after: float = 1) -> None:
        with self._lock:
            self._faults += [(429, retry_after)] * count

    def fail(self, count: int, status: int = 503) -> None:
        with self._lock:
            self._faults += [(status, None)] * count

    def reset_faults(self) -> None:
        with self._lock:
            self._faults.clear()
        self.latency = self.write_latency = 0.0

    def count(self, method: str, path_part: str) -> int:
        return sum(1 for m, p in self.requests if m == method and path_part in p)

    @web.middleware
    async def _middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        self.requests.append((request.method, request.path))
        with self._lock:
            fault = self._faults.pop(0) if self._faults else None
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault is not None:
            self.faults_served += 1
            status, retry_after = fault
            headers = {"Retry-After": str(int(retry_after))} if retry_after is not None else {}
            return web.json_response({"title": "fault injected"}, status=status, headers=headers)
        response = await handler(request)
        if request.method in ("POST", "PATCH") and self.write_latency and "oauth" not in request.path:
            await asyncio.sleep(self.write_latency)  # the write has committed already
        return response

    def close(self) -> None:
        async def stop() -> None:
            await self._stop_site()
            if self._runner is not None:
                await self._runner.cleanup()

        self._run(stop())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


def bearer_required(tokens: set[str]) -> Callable[[Handler], Handler]:
    """401 without a token this fake issued (the vendors' behaviour for a missing token)."""

    def wrap(handler: Handler) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer ") or header[7:] not in tokens:
                return web.json_response({"title": "Unauthorized"}, status=401)
            return await handler(request)

        return checked

    return wrap
