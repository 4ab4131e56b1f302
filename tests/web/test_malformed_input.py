"""Regression tests for the inputs the security review turned into HTTP 500 (issue 21).

Each was an unauthenticated request; each must now get a 4xx with a clear message. The fuzz
suite (tests/fuzz) generates thousands more of their kind.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.handoff import accounts, widget_push
from bot.storage.database import Database

from .conftest import AGENT_PASSWORD, SECRET, console_sign_in

ALICE_CONVERSATION = widget_push.widget_conversation_id(DEMO_WIDGET_ISSUER, "alice.hughes")


@pytest.fixture
def agent(database: Database) -> str:
    with database.unit_of_work() as session:
        if session.scalar(select(accounts.Agent).where(accounts.Agent.username == "sam.hr")) \
                is None:
            accounts.create_agent(session, "sam.hr", "Sam Patel", AGENT_PASSWORD, "hr")
    return "sam.hr"


@pytest.mark.parametrize("path", ["/signin", "/console/signin"])
@pytest.mark.parametrize("content_type, body", [
    ("application/x-www-form-urlencoded; charset=bogus", b"subject=alice.hughes"),
    ("application/x-www-form-urlencoded; charset=utf-8", b"subject=%ff%fe%C3%28"),
    ("application/x-www-form-urlencoded", "username=s\u00e9&password=\u00e9".encode("latin-1")),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\nab"),
])
async def test_an_unreadable_sign_in_form_is_a_400(client: TestClient, path: str,
                                                   content_type: str, body: bytes) -> None:
    response = await client.post(path, data=body, headers={"Content-Type": content_type})
    text = await response.text()
    assert 400 <= response.status < 500, text
    assert "Traceback" not in text


async def test_a_non_ascii_csrf_header_is_refused_not_a_crash(client: TestClient,
                                                              agent: str) -> None:
    await console_sign_in(client, agent)
    response = await client.post("/console/handoffs/1/claim",
                                 headers={"X-CSRF-Token": "t\u00e9st\u4e2d",
                                          "Accept": "application/json"})
    assert response.status == 403
    assert await response.json() == {"error": "The form has expired. Reload the page."}


async def test_a_console_form_in_a_bogus_charset_is_a_400(client: TestClient,
                                                          agent: str) -> None:
    csrf = await console_sign_in(client, agent)
    response = await client.post("/console/handoffs/1/reply", data=b"text=hi",
                                 headers={"X-CSRF-Token": csrf,
                                          "Content-Type": "application/x-www-form-urlencoded; "
                                                          "charset=bogus"})
    assert response.status == 400
    assert "UTF-8" in await response.text()


@pytest.mark.parametrize("handoff_id", ["9" * 40, "\u0661\u0662", "1_0"])
async def test_ids_out_of_range_or_not_ascii_digits_are_not_found(client: TestClient, agent: str,
                                                                  handoff_id: str) -> None:
    await console_sign_in(client, agent)
    response = await client.get(f"/console/handoffs/{handoff_id}")
    assert response.status == 404


def push(body: dict[str, Any], timestamp: str | None = None,
         signature: str | None = None) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    stamp = timestamp if timestamp is not None else str(int(time.time()))
    key = widget_push.push_key(SECRET)
    if signature is None:  # signed as a sender would, whatever the timestamp's characters
        mac = hmac.new(key, stamp.encode("utf-8") + b"." + raw, hashlib.sha256)
        signature = "v1=" + mac.hexdigest()
    return raw, {"Content-Type": "application/json", widget_push.TIMESTAMP_HEADER: stamp,
                 widget_push.SIGNATURE_HEADER: signature}


def a_push() -> dict[str, Any]:
    return {"id": uuid.uuid4().hex, "recipient_id": ALICE_CONVERSATION,
            "message": {"text": "Hello from Sam"}}


@pytest.mark.parametrize("timestamp", ["\u0661\u0667\u0660\u0660\u0660\u0660\u0660\u0660\u0660",
                                       "1_700_000_000", " 1700000000", "9" * 5000, "-1"])
async def test_a_push_timestamp_that_is_not_ascii_digits_is_a_401(client: TestClient,
                                                                  timestamp: str) -> None:
    raw, headers = push(a_push(), timestamp=timestamp)
    response = await client.post("/internal/widget/push", data=raw, headers=headers)
    assert response.status == 401


@pytest.mark.parametrize("signature", ["v1=\u00e9\u00e9", "v1=" + "\u4e2d" * 64, "\u00ff"])
async def test_a_non_ascii_push_signature_is_a_401(client: TestClient, signature: str) -> None:
    raw, headers = push(a_push(), signature=signature)
    response = await client.post("/internal/widget/push", data=raw, headers=headers)
    assert response.status == 401


async def test_a_push_body_split_across_tcp_reads_is_accepted(client: TestClient) -> None:
    """The old handler read the body with one `read(n)`, which returns the first chunk that
    arrived: a body sent in two writes failed its signature check."""
    raw, headers = push(a_push())
    middle = len(raw) // 2

    async def two_writes() -> AsyncIterator[bytes]:
        yield raw[:middle]
        yield raw[middle:]

    response = await client.post("/internal/widget/push", data=two_writes(), headers=headers)
    assert response.status == 200, await response.text()
    assert await response.json() == {"stored": True}


async def test_an_oversized_push_is_a_413(client: TestClient) -> None:
    body = a_push()
    body["message"]["text"] = "x" * (widget_push.MAX_BODY_BYTES + 10)
    raw, headers = push(body)
    response = await client.post("/internal/widget/push", data=raw, headers=headers)
    assert response.status == 413


async def test_a_signed_push_nested_too_deep_is_a_400(client: TestClient) -> None:
    """Found by tests/fuzz: json.loads raised RecursionError (a 500)."""
    raw = b'{"a":' * 5000 + b"1" + b"}" * 5000
    stamp = str(int(time.time()))
    mac = hmac.new(widget_push.push_key(SECRET), stamp.encode() + b"." + raw, hashlib.sha256)
    response = await client.post("/internal/widget/push", data=raw, headers={
        "Content-Type": "application/json", widget_push.TIMESTAMP_HEADER: stamp,
        widget_push.SIGNATURE_HEADER: "v1=" + mac.hexdigest()})
    assert response.status == 400
