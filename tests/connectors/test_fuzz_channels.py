"""The channels answer any input with less than 500 and no stack trace (issue 21's fuzz suite,
Rasa runtime; the services' endpoints are in tests/fuzz).

Hypothesis generates requests for the widget, Teams and Slack webhooks and their health routes
on the connector tests' Sanic server (conftest.py): bodies of any bytes, JSON of any shape and
depth, other encodings and sizes, header values of any characters. About half carry a genuine
credential for the generated body (the widget's session token, a Bot Connector token for the
activity's serviceUrl, Slack's signature over the exact bytes), so generated activities and
events reach the parsers behind the checks.

The relay channel (connectors/relay.py) gets its own run, with the trained model behind it (the
relay works on Rasa's stores, processor and output channels): deliveries of every kind with
generated fields, for a real conversation, an unknown one or generated ids, half of them
signed with the path's genuine key, a fresh id and the current time, so that they reach the
parser, the vocabulary, the lock and the delivery. `HELPDESK_FUZZ_SCALE` multiplies the counts.
"""
from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
import uuid
from typing import Any, Dict, List, Tuple

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fuzz.strategies import HEADER_TEXT, bodies, free_headers, json_values

from connectors import relay

from . import fakes
from .conftest import RELAY_KEYS, SECRET, ChannelServer
from .test_relay import new_widget_conversation, signed
from .test_widget import make_token

SCALE = float(os.environ.get("HELPDESK_FUZZ_SCALE", "1"))
PER_DRAW = 4
EXAMPLES = int(900 * SCALE)  # x PER_DRAW: 3,600 requests
RELAY_EXAMPLES = int(300 * SCALE)  # x PER_DRAW: 1,200 requests
RELAY_ROUTES = ("relay/console", "relay/tickets", "relay/records", "relay/", "relay/admin",
                "relay/console/x")
ROUTES = ("widget/webhook", "msteams/webhook", "slack/webhook", "widget/", "msteams/",
          "slack/", "msteams_off/webhook", "slack_off/webhook")
SENT = [0]

Request = Tuple[str, str, bytes, Dict[str, str]]


@st.composite
def shaped_bodies(draw: st.DrawFn, route: str) -> bytes:
    """A body of the shape the route expects, with generated parts."""
    if route.startswith("widget"):
        return json.dumps({"text": draw(st.one_of(HEADER_TEXT, json_values(3))),
                           "message_id": draw(st.one_of(HEADER_TEXT, json_values(2)))}
                          ).encode()
    if route.startswith("msteams"):
        activity = fakes.activity("http://127.0.0.1:9/", text=draw(HEADER_TEXT))
        for key in draw(st.lists(st.sampled_from(sorted(activity)), max_size=3)):
            activity[key] = draw(json_values(3))
        return json.dumps(activity).encode()
    event = fakes.slack_event(text=draw(HEADER_TEXT))
    for key in draw(st.lists(st.sampled_from(["event", "team_id", "type", "event_id"]),
                             max_size=2)):
        event[key] = draw(json_values(3))
    return json.dumps(event).encode()


@st.composite
def requests(draw: st.DrawFn, server: ChannelServer) -> List[Request]:
    out: List[Request] = []
    generated, content_type = draw(bodies(limit=256 * 1024))
    headers = draw(free_headers(("Authorization", "X-Slack-Signature",
                                 "X-Slack-Request-Timestamp", "X-Slack-Retry-Num",
                                 "X-Slack-Retry-Reason", "Content-Type")))
    if content_type is not None:
        headers.setdefault("Content-Type", content_type)
    for route in draw(st.lists(st.sampled_from(ROUTES), min_size=PER_DRAW, max_size=PER_DRAW)):
        method = "GET" if route.endswith("/") else "POST"
        body = draw(st.one_of(st.just(generated), shaped_bodies(route)))
        sent = dict(headers)
        if draw(st.booleans()):  # genuine credentials for this very body
            if route.startswith("widget"):
                sent["Authorization"] = f"Bearer {make_token(SECRET)}"
            elif route.startswith("msteams"):
                sent["Authorization"] = "Bearer " + fakes.mint_token(
                    server.platforms.keys.signing, service_url="http://127.0.0.1:9/")
            else:
                sent.update(fakes.slack_headers(body, content_type=sent.get(
                    "Content-Type", "application/json")))
        out.append((method, route, body if method == "POST" else b"", sent))
    return out


def send(server: ChannelServer, method: str, route: str, body: bytes,
         headers: Dict[str, str]) -> Tuple[int, str]:
    wire = {name: value.encode("utf-8").decode("latin-1") for name, value in headers.items()}
    request = urllib.request.Request(f"{server.base_url}/{route}", data=body or None,
                                     method=method, headers=wire)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")


def test_the_channels_never_answer_5xx(server: ChannelServer,
                                       caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(requests(server))
    def run(batch: List[Request]) -> None:
        caplog.clear()
        for method, route, body, headers in batch:
            status, text = send(server, method, route, body, headers)
            SENT[0] += 1
            # 503: the switched-off channels, and Teams before its keys are fetched (by design)
            assert status < 500 or (status == 503 and ("_off" in route or "msteams" in route)), (
                status, route, headers, body[:200], text[:200])
            assert "Traceback" not in text, text[:300]
        server.drain()
        traced = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
        assert not traced, traced[0].getMessage()

    run()
    assert SENT[0] >= EXAMPLES * PER_DRAW


def mostly(draw: st.DrawFn) -> bool:
    """True four times in five (Hypothesis favours small integers, so not `integers(0, 4)`)."""
    return draw(st.sampled_from([True, True, True, True, False]))


@st.composite
def relay_bodies(draw: st.DrawFn, caller: str, conversation: str) -> bytes:
    """A delivery, mostly one the caller may send for the real conversation (so that it gets
    past the checks), each part sometimes generated, missing or extra."""
    def usually(genuine: st.SearchStrategy[Any], other: st.SearchStrategy[Any]) -> Any:
        return draw(genuine if mostly(draw) else other)

    kinds = sorted(relay.KINDS.get(caller, relay.FIELDS))
    kind = usually(st.sampled_from(kinds), st.one_of(st.sampled_from(sorted(relay.FIELDS)),
                                                     HEADER_TEXT))
    body: Dict[str, Any] = {
        # a fresh id (a repeated one is a replay, refused), or the same one again, or garbage
        "id": usually(st.just(0).map(lambda _: uuid.uuid4().hex),
                      st.one_of(st.just("the-same-id-every-time"), HEADER_TEXT)),
        "conversation_id": usually(st.just(conversation), st.one_of(
            st.just("widget-" + "0" * 32), HEADER_TEXT)),
        "kind": kind}
    for name in relay.FIELDS.get(kind, frozenset({"text"})):
        body[name] = usually(st.one_of(st.just("Hello from the helpdesk."), HEADER_TEXT.filter(
            str.strip)), st.one_of(HEADER_TEXT, json_values(2)))
    if not mostly(draw):
        for name in draw(st.lists(st.sampled_from(["id", "conversation_id", "kind", "text",
                                                   "author", "metadata", "events", "principal"]),
                                  min_size=1, max_size=2)):
            if draw(st.booleans()):
                body.pop(name, None)
            else:
                body[name] = draw(json_values(3))
    return json.dumps(body, ensure_ascii=draw(st.booleans())).encode("utf-8", "surrogatepass")


@st.composite
def relay_requests(draw: st.DrawFn, conversation: str) -> List[Request]:
    out: List[Request] = []
    generated, content_type = draw(bodies(limit=32 * 1024))
    headers = draw(free_headers((relay.TIMESTAMP_HEADER, relay.SIGNATURE_HEADER,
                                 "Content-Type")))
    if content_type is not None:
        headers.setdefault("Content-Type", content_type)
    # Weighted towards what gets furthest: POSTs to the three callers' paths, shaped bodies,
    # signed with the path's key; the rest is what a stranger could send.
    for route in draw(st.lists(st.sampled_from(RELAY_ROUTES[:3] * 3 + RELAY_ROUTES),
                               min_size=PER_DRAW, max_size=PER_DRAW)):
        method = ("GET" if route.endswith("/") else "POST" if mostly(draw)
                  else draw(st.sampled_from(["GET", "PUT", "DELETE"])))
        caller = route.split("/")[1]
        body = draw(relay_bodies(caller, conversation)) if mostly(draw) else generated
        sent = dict(headers)
        if mostly(draw):  # the path's genuine key (or another's), now, this very body
            key = RELAY_KEYS.get(caller) if mostly(draw) else RELAY_KEYS["tickets"]
            sent.update(signed(caller, body, key=key or RELAY_KEYS["console"])[2])
        out.append((method, route, body if method != "GET" else b"", sent))
    return out


def test_the_relay_never_answers_5xx(with_model: ChannelServer,
                                     caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    conversation = new_widget_conversation(with_model)
    sent = [0]
    statuses: Dict[int, int] = {}

    @settings(max_examples=RELAY_EXAMPLES, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(relay_requests(conversation))
    def run(batch: List[Request]) -> None:
        caplog.clear()
        for method, route, body, headers in batch:
            status, text = send(with_model, method, route, body, headers)
            sent[0] += 1
            statuses[status] = statuses.get(status, 0) + 1
            assert status < 500, (status, route, headers, body[:200], text[:200])
            assert "Traceback" not in text, text[:300]
        traced = [r for r in caplog.records if r.exc_info or "Traceback" in r.getMessage()]
        assert not traced, traced[0].getMessage()

    run()
    assert sent[0] >= RELAY_EXAMPLES * PER_DRAW
    assert statuses.get(200, 0) > 0  # some generated deliveries went all the way through
    print(f"\nrelay fuzz: {sent[0]} requests, statuses {dict(sorted(statuses.items()))}")
