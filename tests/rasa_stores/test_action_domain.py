"""Action calls send the domain once per action server (rasa-sdk's `domain_digest` protocol).

The fake server below keeps the domain and digest of a call that carries both, answers a call
without a domain from what it kept when the digest matches, and answers 449 otherwise, as
rasa-sdk 3.21's executor does (tests/actions/test_domain_digest.py pins that side).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Dict, List, Optional

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from rasa.utils.endpoints import ClientResponseError, EndpointConfig
from rasa_runtime import patches
from rasa_runtime.patches import action_client, action_domain

DOMAIN = {"intents": ["ticket_create"], "responses": {"utter_x": [{"text": "ünïcode"}]}}
CALL = {"next_action": "action_x", "sender_id": "s", "tracker": {"events": [{"e": "é"}]},
        "version": "3.6.21", "domain": DOMAIN}


@dataclass
class DigestServer:
    """rasa-sdk's side of the protocol, recording what each call carried."""

    domain: Optional[Dict[str, Any]] = None
    digest: Optional[str] = None
    bodies: List[Dict[str, Any]] = field(default_factory=list)
    ran: int = 0

    async def webhook(self, request: web.Request) -> web.Response:
        call = await request.json()
        self.bodies.append(call)
        if "domain" in call:
            self.domain, self.digest = call["domain"], call.get("domain_digest")
        elif not self.digest or call.get("domain_digest") != self.digest:
            return web.json_response({"error": "no domain", "action_name": call["next_action"]},
                                     status=action_domain.DOMAIN_WANTED)
        self.ran += 1
        return web.json_response({"events": [], "responses": [{"text": str(self.domain)}]})

    def restart(self) -> None:
        self.domain = self.digest = None


@pytest.fixture
async def server() -> AsyncIterator[tuple[DigestServer, EndpointConfig]]:
    patches.install()
    action_domain.forget()
    fake = DigestServer()
    app = web.Application()
    app.router.add_post("/webhook", fake.webhook)
    test_server = TestServer(app, host="127.0.0.1")
    await test_server.start_server()
    yield fake, EndpointConfig(str(test_server.make_url("/webhook")))
    await action_client.close_sessions()
    await test_server.close()


async def call(endpoint: EndpointConfig) -> Any:
    return await endpoint.request(json=dict(CALL), method="post")


async def test_the_domain_goes_with_the_first_call_only(
        server: tuple[DigestServer, EndpointConfig]) -> None:
    fake, endpoint = server
    answers = [await call(endpoint) for _ in range(3)]
    assert answers == [{"events": [], "responses": [{"text": str(DOMAIN)}]}] * 3
    assert ["domain" in body for body in fake.bodies] == [True, False, False]
    digest = action_domain.encoded(DOMAIN).digest
    assert [body["domain_digest"] for body in fake.bodies] == [digest] * 3
    assert fake.ran == 3


async def test_a_restarted_server_gets_the_domain_again_and_runs_the_action_once(
        server: tuple[DigestServer, EndpointConfig]) -> None:
    fake, endpoint = server
    await call(endpoint)
    fake.restart()
    assert await call(endpoint) == {"events": [], "responses": [{"text": str(DOMAIN)}]}
    assert ["domain" in body for body in fake.bodies] == [True, False, True]
    assert fake.ran == 2  # the 449 ran nothing; the resent call ran once
    await call(endpoint)
    assert "domain" not in fake.bodies[-1]


async def test_a_call_that_failed_leaves_the_domain_in_the_next(
        server: tuple[DigestServer, EndpointConfig]) -> None:
    fake, endpoint = server
    broken = EndpointConfig(endpoint.url.replace("/webhook", "/missing"))
    with pytest.raises(ClientResponseError):
        await broken.request(json=dict(CALL), method="post")
    await call(endpoint)
    assert "domain" in fake.bodies[0]


async def test_other_errors_are_rasas_own(server: tuple[DigestServer, EndpointConfig]) -> None:
    fake, endpoint = server
    await call(endpoint)
    missing = EndpointConfig(endpoint.url.replace("/webhook", "/missing"))
    action_domain._holding.add((missing.url, action_domain.encoded(DOMAIN).digest))
    with pytest.raises(ClientResponseError) as raised:
        await missing.request(json=dict(CALL), method="post")
    assert raised.value.status == 404  # not resent: only 449 asks for the domain


@pytest.mark.parametrize("call_body", [CALL, {"next_action": "action_x", "domain": {}}])
def test_bodies_are_rasas_json_with_the_digest(call_body: Dict[str, Any]) -> None:
    encoded = action_domain.encoded(call_body["domain"])
    assert action_domain.encoded(call_body["domain"]) is encoded  # encoded once
    full = json.loads(action_domain.body(call_body, encoded, with_domain=True))
    assert full == {**call_body, "domain_digest": encoded.digest}
    lean = json.loads(action_domain.body(call_body, encoded, with_domain=False))
    assert lean == {k: v for k, v in full.items() if k != "domain"}


@pytest.mark.parametrize("value", [
    {"text": "a/b é \u2028 \"q\" \\", "confidence": 0.1 + 0.2, "big": 2**63 - 1, "neg": -0.0},
    {"nan": float("nan"), "inf": float("inf"), "nested": [None, True, [], {}]},
    {"beyond 64 bits": 2**70, "keys": {1: "x", None: "y", 2.5: "z"}},
    ["tuple", (1, 2)],
])
def test_bodies_hold_the_values_json_dumps_gives(value: Any) -> None:
    # NaN != NaN, so compare the texts' own re-encodings: the same values, spelt alike
    assert json.dumps(json.loads(action_domain.dumps(value))) == json.dumps(
        json.loads(json.dumps(value)))


def test_what_json_dumps_refuses_is_refused() -> None:
    with pytest.raises(TypeError):
        action_domain.dumps({"events": [object()]})


def test_a_new_domain_has_a_new_digest() -> None:
    first = action_domain.encoded({"intents": ["a"]})
    second = action_domain.encoded({"intents": ["b"]})
    assert first.digest != second.digest
    assert action_domain.encoded(second.domain) is second
