"""`rasa_runtime.patches.action_client`: Rasa's action calls on one kept connection, sending and
answering exactly what Rasa's own `EndpointConfig.request` sends and answers.

Every test talks to a real aiohttp server on loopback, which records what it receives and on
which connection (the client's address and port: one per TCP connection).
"""
from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, AsyncIterator, Awaitable, Callable, Dict, List, Tuple

import aiohttp
import jsonschema
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import rasa.core.run
from rasa.core.actions.action import RemoteAction
from rasa.core.channels.channel import CollectingOutputChannel
from rasa.core.nlg import TemplatedNaturalLanguageGenerator
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig
from rasa_runtime import patches
from rasa_runtime.patches import action_client, action_domain

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ANSWER = {"events": [{"event": "slot", "timestamp": None, "name": "ticket_priority",
                      "value": "normal"}],
          "responses": [{"text": "I've raised PAY-000123 for you.", "buttons": [],
                         "elements": [], "custom": {}, "template": None, "response": None,
                         "image": None, "attachment": None}]}
ACTION_CALL = {"next_action": "action_ticket_create", "sender_id": "employee-1",
               "tracker": {"sender_id": "employee-1", "slots": {"ticket_priority": None},
                           "events": [{"event": "user", "text": "raise a query ü"}]},
               "version": "3.6.21", "domain": {"intents": ["ticket_create"], "slots": {}}}


@dataclass
class Seen:
    """What the server received: each request, the connection it came on, and the requests it
    dropped (closed the connection instead of answering)."""

    requests: List[Tuple[str, str, List[Tuple[str, str]], bytes]] = field(default_factory=list)
    connections: List[Any] = field(default_factory=list)
    dropped: int = 0

    async def record(self, request: web.Request) -> bytes:
        body = await request.read()
        self.requests.append((request.method, request.path_qs, sorted(request.headers.items()),
                              body))
        self.connections.append(request.transport.get_extra_info("peername"))
        return body


def routes(seen: Seen) -> Dict[str, Handler]:
    """The answers an action server can give: JSON, not JSON, a rejection, an error, a redirect."""

    async def answer(request: web.Request) -> web.Response:
        await seen.record(request)
        return web.json_response(ANSWER)

    async def text(request: web.Request) -> web.Response:
        await seen.record(request)
        return web.Response(text="not json")

    async def status(request: web.Request) -> web.Response:
        await seen.record(request)
        code = int(request.match_info["code"])
        return web.json_response({"action_name": "action_x", "error": f"no: {code}"}, status=code)

    async def redirect(request: web.Request) -> web.Response:
        await seen.record(request)
        raise web.HTTPFound("/webhook")

    return {"/webhook": answer, "/text": text, "/status/{code}": status, "/redirect": redirect}


async def start(seen: Seen, handlers: Dict[str, Handler]) -> TestServer:
    app = web.Application()
    for path, handler in handlers.items():
        app.router.add_route("*", path, handler)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server


@pytest.fixture(autouse=True)
def installed() -> None:
    patches.install()


@pytest.fixture
async def served() -> AsyncIterator[Tuple[TestServer, Seen]]:
    seen = Seen()
    server = await start(seen, routes(seen))
    yield server, seen
    await action_client.close_sessions()
    await server.close()


def endpoint(server: TestServer, path: str = "/webhook", **settings: Any) -> EndpointConfig:
    return EndpointConfig(str(server.make_url(path)), **settings)


async def outcome(request: Callable[..., Awaitable[Any]], config: EndpointConfig,
                  **kwargs: Any) -> Tuple[Any, ...]:
    """What a call answers, or the exception it raises (type, text, status, body)."""
    try:
        return ("answer", await request(config, **kwargs))
    except Exception as error:  # every exception is part of the behaviour compared
        return ("error", type(error), str(error), getattr(error, "status", None),
                getattr(error, "text", None))


CALLS = [  # (endpoint settings, call arguments); the endpoint's URL is the server's root
    pytest.param({}, {"subpath": "webhook", "json": ACTION_CALL, "method": "post",
                      "timeout": 300}, id="action-call"),
    pytest.param({"params": {"a": "1"}, "token": "secret", "token_name": "auth"},
                 {"subpath": "webhook", "method": "get", "params": {"b": "2"}},
                 id="get-with-params-and-token"),
    pytest.param({"headers": {"X-Endpoint": "e"},
                  "basic_auth": {"username": "u", "password": "p"}},
                 {"subpath": "webhook", "json": {"x": 1}, "headers": {"X-Call": "c"}},
                 id="headers-and-basic-auth"),
    pytest.param({}, {"subpath": "webhook", "content_type": None, "data": b"raw bytes"},
                 id="no-content-type"),
    pytest.param({}, {"subpath": "webhook", "json": ACTION_CALL, "compress": True},
                 id="compressed"),
    pytest.param({}, {"subpath": "text", "method": "get"}, id="not-json-answer"),
    pytest.param({}, {"subpath": "status/400", "json": {}}, id="rejected-400"),
    pytest.param({}, {"subpath": "status/500", "json": {}}, id="error-500"),
    pytest.param({}, {"subpath": "nowhere", "method": "get"}, id="not-found-404"),
    pytest.param({}, {"subpath": "redirect", "json": {"x": 1}}, id="redirect"),
]


def without_length(request: Tuple[str, str, List[Tuple[str, str]], bytes]
                   ) -> Tuple[str, str, List[Tuple[str, str]], Dict[str, Any]]:
    """A request with its JSON body decoded and no Content-Length (bodies differ in length)."""
    method, path, headers, body = request
    return method, path, [h for h in headers if h[0] != "Content-Length"], json.loads(body)


def as_sent_once(request: Tuple[str, str, List[Tuple[str, str]], bytes], with_domain: bool
                 ) -> Tuple[str, str, List[Tuple[str, str]], Dict[str, Any]]:
    """Rasa's request for an action call as `action_domain` sends it: the same, with the
    domain's digest, and the domain itself only `with_domain`."""
    method, path, headers, call = without_length(request)
    call["domain_digest"] = action_domain.encoded(ACTION_CALL["domain"]).digest
    if not with_domain:
        del call["domain"]
    return method, path, headers, call


@pytest.mark.parametrize("settings, call", CALLS)
async def test_the_same_request_and_answer_as_rasa(
    served: Tuple[TestServer, Seen], settings: Dict[str, Any], call: Dict[str, Any]
) -> None:
    server, seen = served
    config = endpoint(server, "/", **settings)
    original = await outcome(patches.original(patches.REQUEST), config, **dict(call))
    stock_requests = list(seen.requests)
    seen.requests.clear()
    action_domain.forget()
    for attempt in range(2):  # the second time on the kept connection
        assert await outcome(EndpointConfig.request, config, **dict(call)) == original
        if call.get("json") is ACTION_CALL:
            # the domain goes with the first call only once it was answered (200 here)
            assert [without_length(r) for r in seen.requests] == [
                as_sent_once(r, with_domain=attempt == 0) for r in stock_requests]
        else:
            assert seen.requests == stock_requests
        seen.requests.clear()


def test_installed_under_the_pre_encoded_body() -> None:
    """action_domain's pre-encoding wraps the kept-session request, which wraps Rasa's own."""
    kept = EndpointConfig.request.__wrapped__
    assert kept.__wrapped__ is patches.original(patches.REQUEST)
    assert kept.__code__ is action_client.pooled_requests(kept.__wrapped__).__code__


async def test_one_connection_serves_several_calls(served: Tuple[TestServer, Seen]) -> None:
    server, seen = served
    config = endpoint(server)
    for _ in range(5):
        assert await EndpointConfig.request(config, json=ACTION_CALL) == ANSWER
    assert len(seen.connections) == 5 and len(set(seen.connections)) == 1
    assert len(action_client.open_sessions()) == 1
    for _ in range(3):  # Rasa's own: a connection per call
        await patches.original(patches.REQUEST)(config, json=ACTION_CALL)
    assert len(set(seen.connections)) == 1 + 3


async def test_the_session_has_the_endpoints_settings(served: Tuple[TestServer, Seen]) -> None:
    config = endpoint(served[0], headers={"X-A": "1"},
                      basic_auth={"username": "u", "password": "p"})
    kept, stock = await action_client.session_for(config), config.session()
    try:
        assert (kept.headers, kept.auth, kept.timeout) == (stock.headers, stock.auth,
                                                           stock.timeout)
    finally:
        await stock.close()


async def test_each_endpoint_has_its_session(served: Tuple[TestServer, Seen]) -> None:
    first, second = endpoint(served[0]), endpoint(served[0])
    assert await action_client.session_for(first) is await action_client.session_for(first)
    assert await action_client.session_for(first) is not await action_client.session_for(second)


def test_a_new_loop_gets_a_new_session() -> None:
    """Two event loops one after the other (as two `asyncio.run`s): the second loop's calls
    get their own session, and the first loop's, left open when its loop closed, is closed."""
    config = EndpointConfig("http://127.0.0.1:1/")

    async def call_in_a_new_loop() -> aiohttp.ClientSession:
        seen = Seen()
        server = await start(seen, routes(seen))
        config.url = str(server.make_url("/webhook"))
        try:
            assert await EndpointConfig.request(config, json=ACTION_CALL) == ANSWER
            return await action_client.session_for(config)
        finally:
            await server.close()

    first = asyncio.run(call_in_a_new_loop())
    assert not first.closed  # its loop closed without a shutdown listener
    second = asyncio.run(call_in_a_new_loop())
    assert second is not first and first.closed
    assert first not in action_client.open_sessions()
    asyncio.run(action_client.close_sessions())  # the closed loop's session is forgotten
    assert second not in action_client.open_sessions()


async def test_a_closed_session_is_replaced(served: Tuple[TestServer, Seen]) -> None:
    config = endpoint(served[0])
    closed = await action_client.session_for(config)
    await closed.close()
    assert await EndpointConfig.request(config, json=ACTION_CALL) == ANSWER
    assert await action_client.session_for(config) is not closed


async def test_rasas_shutdown_listener_closes_the_loops_sessions(
    served: Tuple[TestServer, Seen]
) -> None:
    assert rasa.core.run.close_resources.__wrapped__ is patches.original("rasa.core.run:close_resources")
    session = await action_client.session_for(endpoint(served[0]))
    app_without_agent = SimpleNamespace(ctx=SimpleNamespace())
    await rasa.core.run.close_resources(app_without_agent, asyncio.get_running_loop())
    assert session.closed and session not in action_client.open_sessions()


# --- a server that closes kept-alive connections ----------------------------------------------


async def answer_then_close(seen: Seen, request: web.Request) -> web.StreamResponse:
    """A whole keep-alive answer, then the server closes the connection (as an idle close)."""
    await seen.record(request)
    response = web.json_response(ANSWER)
    await response.prepare(request)
    await response.write_eof()
    request.transport.close()
    return response


def dropping_on_reuse(seen: Seen, head: bytes = b"") -> Handler:
    """Answer a connection's first request; close it when another arrives on it, after writing
    `head` (nothing: the idle close crossing our request; some bytes: a half-sent answer)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername")
        if peer in seen.connections:
            seen.dropped += 1
            request.transport.write(head)
            request.transport.close()
            return web.Response()  # never sent: the connection is closed
        await seen.record(request)
        return web.json_response(ANSWER)

    return handler


async def test_a_server_closing_idle_connections_gets_every_call() -> None:
    seen = Seen()
    server = await start(seen, {"/webhook": lambda request: answer_then_close(seen, request)})
    try:
        config = endpoint(server)
        for number in range(6):
            call = dict(ACTION_CALL, sender_id=f"employee-{number}")
            assert await EndpointConfig.request(config, json=call) == ANSWER
        assert [json.loads(body)["sender_id"] for *_, body in seen.requests] == [
            f"employee-{number}" for number in range(6)]  # each served once, in order
    finally:
        await action_client.close_sessions()
        await server.close()


async def test_a_request_crossing_the_servers_close_is_sent_again() -> None:
    seen = Seen()
    server = await start(seen, {"/webhook": dropping_on_reuse(seen)})
    try:
        config = endpoint(server)
        for _ in range(4):
            assert await EndpointConfig.request(config, json=ACTION_CALL) == ANSWER
        assert len(seen.requests) == 4 and len(set(seen.connections)) == 4
        assert seen.dropped == 3  # calls 2-4 met a closed kept connection, then a new one
        async with aiohttp.ClientSession() as plain:  # what a kept session does without retry
            url = server.make_url("/webhook")
            await (await plain.post(url, json=ACTION_CALL)).read()
            with pytest.raises(aiohttp.ServerDisconnectedError):
                await plain.post(url, json=ACTION_CALL)
    finally:
        await action_client.close_sessions()
        await server.close()


async def test_a_half_sent_answer_is_not_retried() -> None:
    seen = Seen()
    server = await start(seen, {"/webhook": dropping_on_reuse(seen, b"HTTP/1.1 200 OK\r\nCont")})
    try:
        config = endpoint(server)
        assert await EndpointConfig.request(config, json=ACTION_CALL) == ANSWER
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await EndpointConfig.request(config, json=ACTION_CALL)
        assert (len(seen.requests), seen.dropped) == (1, 1)  # no second try
    finally:
        await action_client.close_sessions()
        await server.close()


async def test_a_failure_on_a_new_connection_is_not_retried() -> None:
    seen = Seen()
    attempts: List[Any] = []

    async def always_drop(request: web.Request) -> web.Response:
        attempts.append(request.transport.get_extra_info("peername"))
        request.transport.close()
        return web.Response()

    server = await start(seen, {"/webhook": always_drop})
    try:
        config = endpoint(server)
        stock = await outcome(patches.original(patches.REQUEST), config, json=ACTION_CALL)
        assert stock[:2] == ("error", aiohttp.ServerDisconnectedError)
        assert await outcome(EndpointConfig.request, config, json=ACTION_CALL) == stock
        assert len(attempts) == 2  # one each: the error came on a new connection
    finally:
        await action_client.close_sessions()
        await server.close()


# --- the whole action call ----------------------------------------------------------------------


async def run_action(config: EndpointConfig) -> Tuple[Any, ...]:
    """`RemoteAction.run` against the server: the events it returns or the error it raises."""
    domain = Domain.empty()
    tracker = DialogueStateTracker.from_events("employee-1", [
        ActionExecuted("action_listen"), UserUttered("raise a query", {"name": "ticket_create"})])
    action = RemoteAction("action_ticket_create", config)
    try:
        events = await action.run(CollectingOutputChannel(),
                                  TemplatedNaturalLanguageGenerator(domain.responses), tracker,
                                  domain)
        return ("events", [event.as_dict() | {"timestamp": None} for event in events])
    except (RasaException, jsonschema.ValidationError) as error:
        return ("error", type(error), str(error))


@pytest.mark.parametrize("path", ["/webhook", "/status/400", "/status/500", "/text"])
async def test_remote_actions_run_as_with_rasas_own_client(
    served: Tuple[TestServer, Seen], path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = endpoint(served[0], path)
    patched = [await run_action(config) for _ in range(2)]
    with monkeypatch.context() as stock:
        stock.setattr(EndpointConfig, "request", patches.original(patches.REQUEST))
        stock.setattr(RemoteAction, "_validate_action_result", patches.original(patches.VALIDATE_ACTION_RESULT))
        assert patched == [await run_action(config)] * 2


# --- an action server that refuses connections (restarting; issue 27) --------------------------

def _refusing_port() -> int:
    import socket

    with socket.socket() as sock:  # bound and closed: nothing listens there
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def test_a_refused_connection_is_tried_again_until_the_server_listens(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(action_client, "CONNECT_RETRY_SECONDS", 20.0)
    port = _refusing_port()
    seen = Seen()

    async def call() -> Any:
        config = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
        return await config.request(json=ACTION_CALL)

    calling = asyncio.ensure_future(call())
    # Nothing listens for a second: the call meets refusals and is still waiting; then the
    # server comes up on that port.
    await asyncio.sleep(1.0)  # the time the action server is down, not a synchronisation
    assert not calling.done()
    app = web.Application()
    for path, handler in routes(seen).items():
        app.router.add_route("*", path, handler)
    server = TestServer(app, host="127.0.0.1", port=port)
    await server.start_server()
    try:
        answer = await asyncio.wait_for(calling, timeout=20)
        assert answer is not None and len(seen.requests) == 1  # delivered once
    finally:
        await action_client.close_sessions()
        await server.close()


async def test_a_server_that_never_listens_fails_as_rasas_client_after_the_window(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(action_client, "CONNECT_RETRY_SECONDS", 0.5)
    config = EndpointConfig(f"http://127.0.0.1:{_refusing_port()}/webhook")
    began = asyncio.get_running_loop().time()
    stock = await outcome(patches.original(patches.REQUEST), config, json=ACTION_CALL)
    ours = await outcome(EndpointConfig.request, config, json=ACTION_CALL)
    assert ours[:2] == stock[:2]
    assert 0.3 <= asyncio.get_running_loop().time() - began < 5  # tried again, then gave up
    await action_client.close_sessions()
