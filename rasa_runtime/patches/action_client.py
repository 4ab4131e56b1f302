"""Rasa's calls to the action server over kept-alive connections (the patch
`action_client` of `rasa_runtime.patches`).

Rasa 3.6.21's `EndpointConfig.request` opens a new `aiohttp.ClientSession`, so a new TCP
connection, for every action call (`_wrap_create_connection` alone was ~3 % of the Rasa
process's CPU). `pooled_requests` runs that same `request` function, so the headers, basic auth,
parameters, timeouts, status handling and exceptions are the original's by construction, but
hands it, as `self.session()`, a session kept per endpoint and per event loop (a session belongs
to one loop; Sanic workers are processes, each with its own loop and so its own sessions):

- a session whose loop was closed, or that was closed, is replaced by a new one on next use;
- Rasa's `close_resources` (run by Sanic after the server stops, in the worker's loop) also
  closes that loop's sessions (`closing_sessions`); `close_sessions()` does it elsewhere;
- an endpoint with a `cafile` keeps the original per-call session: the original builds a new
  SSL context for every call, and aiohttp pools connections per SSL context, so there would be
  nothing to reuse (our endpoints are plain HTTP);
- a session takes the endpoint's headers and basic auth when it is made; Rasa builds an
  EndpointConfig from endpoints.yml and never changes it (every call also sends the headers
  themselves, as the original does).

Kept-alive connections: rasa-sdk's Sanic server keeps idle connections 120 s and we keep them
15 s, so we close first and the server's idle close cannot race our next call. A connection
can still die under us (a restarted action server, a proxy in between): aiohttp 3.9 retries
nothing, so `_send` retries once, on a new connection, a request that went out on a *reused*
connection and failed with a disconnect or reset before any of the response was read. See
`_send` for why that is safe for Rasa's action calls.
"""
from __future__ import annotations

import asyncio
import logging
import os
import time
import weakref
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, AsyncIterator, Callable, Dict, List, Optional, Text, Tuple

import aiohttp
from aiohttp import (ClientConnectorError, ClientOSError, ClientResponse, ClientSession,
                     ServerDisconnectedError)

logger = logging.getLogger(__name__)

KEEPALIVE_SECONDS = 15.0  # aiohttp's default, well under rasa-sdk's 120 s server keep-alive
# An action server that refuses connections (restarting, or its replica going away) is tried
# again for this long (issue 27): Rasa would otherwise run the turn on without the action's
# events, and the employee gets half an answer. A refused connection carried no request, so
# trying again cannot run an action twice.
CONNECT_RETRY_SECONDS = float(os.environ.get("ACTION_SERVER_CONNECT_RETRY_SECONDS", "20"))
CONNECT_RETRY_PAUSES = (0.1, 0.25, 0.5, 1.0)


class _Attempt:
    """One try of one request; the connector's trace marks it when it reuses a connection."""

    reused = False


# The running request's try: set by `_send`, marked by the trace hook in the same task.
_attempt: ContextVar[Optional[_Attempt]] = ContextVar("helpdesk_action_call", default=None)


async def _on_connection_reused(session: ClientSession, context: Any, params: Any) -> None:
    """aiohttp trace hook, awaited inside the request's own task (so it sees its ContextVar)."""
    attempt = _attempt.get()
    if attempt is not None:
        attempt.reused = True


def new_session(endpoint: Any) -> ClientSession:
    """`EndpointConfig.session()`'s session (the endpoint's headers, basic auth and Rasa's 5-minute
    total timeout) on a connector that keeps connections and reports their reuse.

    No connection limit and no DNS cache, as with a session per call: a new connection resolves
    the name again (a new action-server replica behind Docker's DNS is found as before).
    """
    from rasa.core.constants import DEFAULT_REQUEST_TIMEOUT

    trace = aiohttp.TraceConfig()
    trace.on_connection_reuseconn.append(_on_connection_reused)
    auth = (aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
            if endpoint.basic_auth else None)
    return ClientSession(
        headers=endpoint.headers, auth=auth,
        timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEPALIVE_SECONDS,
                                       use_dns_cache=False),
        trace_configs=[trace])


# --- one session per endpoint and event loop --------------------------------------------------


@dataclass
class _Slot:
    loop: asyncio.AbstractEventLoop
    endpoint: "weakref.ReferenceType[Any]"
    session: ClientSession

    def serves(self, loop: asyncio.AbstractEventLoop, endpoint: Any) -> bool:
        return self.loop is loop and self.endpoint() is endpoint and not self.session.closed

    def abandoned(self, running: asyncio.AbstractEventLoop) -> bool:
        """Its loop is closed, or it is this loop's and its endpoint is gone."""
        return self.loop.is_closed() or (self.loop is running and self.endpoint() is None)


# (id(loop), id(endpoint)) -> slot. EndpointConfig defines __eq__ without __hash__, and a session
# stored on the endpoint would make it unpicklable, hence ids; a slot holds its loop (so the id
# stays unique) and checks its endpoint through a weak reference (an id can be reused).
_slots: Dict[Tuple[int, int], _Slot] = {}


async def session_for(endpoint: Any) -> ClientSession:
    """The running loop's session for `endpoint`, made on first use or after it was closed."""
    loop = asyncio.get_running_loop()
    key = (id(loop), id(endpoint))
    slot = _slots.get(key)
    if slot is not None and slot.serves(loop, endpoint):
        return slot.session
    _slots[key] = fresh = _Slot(loop, weakref.ref(endpoint), new_session(endpoint))
    for old in ([slot] if slot is not None else []) + _drop_abandoned(loop):
        await _close(old)
    return fresh.session


def _drop_abandoned(loop: asyncio.AbstractEventLoop) -> List[_Slot]:
    """Forget (and return, to be closed) the slots of closed loops and of dead endpoints."""
    dropped = []
    for key, slot in list(_slots.items()):  # a copy: other threads' loops add their own
        if slot.abandoned(loop) and _slots.pop(key, None) is slot:
            dropped.append(slot)
    return dropped


async def _close(slot: _Slot) -> None:
    """Close a slot's session; one of a closed loop is closed from here (aiohttp only drops its
    connections then, as the loop that owned their sockets is gone)."""
    try:
        await slot.session.close()
    except Exception:  # pragma: no cover - closing must never fail a call or a shutdown
        logger.warning("action_client.close_failed", exc_info=True)


async def close_sessions() -> None:
    """Close the running loop's sessions, and forget those of closed loops."""
    loop = asyncio.get_running_loop()
    for key, slot in list(_slots.items()):
        if (slot.loop is loop or slot.loop.is_closed()) and _slots.pop(key, None) is slot:
            await _close(slot)


def closing_sessions(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap `rasa.core.run.close_resources` (Sanic's after_server_stop listener of `rasa run`)."""

    async def close_resources(app: Any, loop: asyncio.AbstractEventLoop) -> None:
        try:
            await original(app, loop)
        finally:
            await close_sessions()

    close_resources.__wrapped__ = original  # type: ignore[attr-defined]
    close_resources.__doc__ = original.__doc__
    return close_resources


# --- the request: the original's code, the kept session, one retry on a stale connection ------


def _resendable(kwargs: Dict[Text, Any]) -> bool:
    """The body can be sent again (action calls: bytes from action_domain, or a JSON dict)."""
    data = kwargs.get("data")
    return data is None or isinstance(data, (bytes, bytearray, str))


def _before_response(error: BaseException) -> bool:
    """The connection failed before any of the response was read.

    aiohttp gives a ServerDisconnectedError the partly parsed response as its message when some
    of it had arrived, and its default text when nothing had. A reset (ClientOSError) carries
    no such detail; with a request on a reused connection it is the stale-connection signature
    (Sanic writes a response's head at once, so it does not reset in the middle of one).
    """
    if isinstance(error, ServerDisconnectedError):
        return isinstance(error.message, str)
    return isinstance(error, ClientOSError) and not isinstance(error, ClientConnectorError)


async def _send(session: ClientSession, method: Text, url: Any,
                kwargs: Dict[Text, Any]) -> ClientResponse:
    """`session.request(...)`, retried once on a new connection when the request went out on a
    reused kept-alive connection that turned out closed before any response byte.

    Why a second try is safe for Rasa's action calls: a server that closes an idle kept-alive
    connection has not read the request that crossed its close (the case this retry is for, and
    one a connection per call never meets), so the action has not run. The only other way to
    get this error is an action server that read the request and died before writing a byte of
    its answer. Then the first run's events never reached Rasa (the tracker has nothing of it),
    the retry goes to a new connection (refused while the server is down: the same error as
    before), and an action run twice for one turn is what an employee resending after that
    error causes anyway (why ticket creation is idempotent per turn). Errors on a new
    connection, after any of the response, and timeouts are never retried.
    """
    attempt = _Attempt()
    token = _attempt.set(attempt)
    try:
        return await _connecting(session, method, url, kwargs)
    except (ServerDisconnectedError, ClientOSError) as error:
        if isinstance(error, ClientConnectorError) or not (
                attempt.reused and _before_response(error) and _resendable(kwargs)):
            raise
        logger.debug("action_client.retry_on_new_connection", extra={"error": repr(error)})
    finally:
        _attempt.reset(token)
    return await _connecting(session, method, url, kwargs)


async def _connecting(session: ClientSession, method: Text, url: Any,
                      kwargs: Dict[Text, Any]) -> ClientResponse:
    """`session.request(...)`, tried again while the connection is refused (nothing was sent),
    for CONNECT_RETRY_SECONDS at most."""
    deadline = time.monotonic() + CONNECT_RETRY_SECONDS
    for pause in (*CONNECT_RETRY_PAUSES, *([CONNECT_RETRY_PAUSES[-1]] * 10_000)):
        try:
            return await session.request(method, url, **kwargs)
        except ClientConnectorError:
            if time.monotonic() + pause > deadline or not _resendable(kwargs):
                raise
            logger.warning("action_client.connect_refused retrying")
            await asyncio.sleep(pause)  # backing off while the action server starts
    raise AssertionError("unreachable")  # pragma: no cover


class _KeptSession:
    """What the original `request` gets from `self.session()`: the kept session, not closed when
    its `async with` ends, whose `request(...)` goes through `_send`."""

    def __init__(self, session: ClientSession) -> None:
        self._session = session

    async def __aenter__(self) -> "_KeptSession":
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        return None

    @asynccontextmanager
    async def request(self, method: Text, url: Any, **kwargs: Any) -> AsyncIterator[ClientResponse]:
        response = await _send(self._session, method, url, kwargs)
        async with response:  # released on exit, as `async with session.request(...)` does
            yield response


class _PooledEndpoint:
    """The endpoint as the original `request` sees it: all its own attributes, but `session()`."""

    def __init__(self, endpoint: Any, session: ClientSession) -> None:
        self._endpoint = endpoint
        self._kept = _KeptSession(session)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._endpoint, name)

    def session(self) -> _KeptSession:
        return self._kept


def pooled_requests(original: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap `EndpointConfig.request`: the same code, on the endpoint's kept session."""

    async def request(self: Any, method: Text = "post", subpath: Optional[Text] = None,
                      content_type: Optional[Text] = "application/json",
                      compress: bool = False, **kwargs: Any) -> Optional[Any]:
        if self.cafile:
            return await original(self, method, subpath, content_type, compress, **kwargs)
        pooled = _PooledEndpoint(self, await session_for(self))
        return await original(pooled, method, subpath, content_type, compress, **kwargs)

    request.__wrapped__ = original  # type: ignore[attr-defined]
    request.__doc__ = original.__doc__
    return request


def open_sessions() -> List[ClientSession]:
    """The sessions kept now (for tests and diagnostics)."""
    return [slot.session for slot in _slots.values()]
