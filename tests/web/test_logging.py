"""Logs carry event names, statuses and timings: never message text, tokens or cookies."""
from __future__ import annotations

import logging

import pytest

from bot.web import session_tokens

from .conftest import cookie_header

pytestmark = pytest.mark.asyncio

SECRET_TEXT = "my payslip shows 1234.56 and my NI number is QQ123456C"


def _everything_logged(caplog) -> str:
    parts = [caplog.text]
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        parts.append(repr(getattr(record, "__dict__", {})))
    return "\n".join(parts)


async def test_message_round_trip_logs_neither_text_nor_token(client, fake_rasa, settings,
                                                              caplog):
    caplog.set_level(logging.DEBUG)
    sign_in = await client.post("/signin", data={"subject": "alice.hughes"},
                                allow_redirects=False)
    cookie_token = sign_in.cookies["hd_session"].value
    token = session_tokens.mint(settings, "alice.hughes")
    fake_rasa.reply = [{"recipient_id": "alice.hughes", "text": "Reply about " + SECRET_TEXT}]

    response = await client.post("/api/messages", json={"text": SECRET_TEXT},
                                 headers=cookie_header(token))
    assert response.status == 200
    assert fake_rasa.calls[0]["body"]["text"] == SECRET_TEXT
    fake_rasa.status = 401
    rejected = await client.post("/api/messages", json={"text": SECRET_TEXT},
                                 headers=cookie_header(token))
    assert rejected.status == 401
    await client.post("/api/messages", json={"text": SECRET_TEXT},
                      headers=cookie_header(token + "x"))

    logged = _everything_logged(caplog)
    assert "message forwarded" in logged, "the round trip was logged (the check can fail)"
    assert "dev sign-in succeeded" in logged
    assert SECRET_TEXT not in logged
    assert "1234.56" not in logged and "QQ123456C" not in logged
    for secret in (token, cookie_token, settings.widget_token_secret):
        assert secret not in logged
        assert secret.split(".")[-1] not in logged  # not even the signature
    assert "alice.hughes" not in logged


async def test_rasa_down_logs_the_event_without_the_text(make_client, make_settings,
                                                         closed_port_url, caplog):
    caplog.set_level(logging.DEBUG)
    settings = make_settings(rasa_url=closed_port_url)
    client = await make_client(settings)
    token = session_tokens.mint(settings, "alice.hughes")
    response = await client.post("/api/messages", json={"text": SECRET_TEXT},
                                 headers=cookie_header(token))
    assert response.status == 502
    logged = _everything_logged(caplog)
    assert "rasa unavailable" in logged
    assert SECRET_TEXT not in logged and token not in logged
