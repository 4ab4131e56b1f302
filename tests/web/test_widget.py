"""The embeddable widget's server side (issue 24, step 3): the frame page only for allowed
origins (CSP frame-ancestors), every other page unframable, the pop-up sign-in's way back, and
the conversation history behind the chat's continuity. The browser half is in
tests/browser/test_widget_e2e.py."""
from __future__ import annotations

import dataclasses
import json
import time

import pytest
from sqlalchemy import create_engine, insert

from bot.config import ConfigurationError, allowed_origins
from bot.handoff import widget_push
from bot.handoff.feed import tracker_events
from bot.web import session_tokens

from .conftest import cookie_header

pytestmark = pytest.mark.asyncio

INTRANET = "https://intranet.dept.example.gov.uk"
OTHER = "https://evil.example.com"


@pytest.fixture
def tracker_url(tmp_path):  # noqa: ANN001, ANN201
    url = f"sqlite:///{tmp_path / 'tracker.db'}"
    engine = create_engine(url)
    tracker_events.metadata.create_all(engine)
    engine.dispose()
    return url


@pytest.fixture
async def widget_client(make_client, settings, tracker_url):  # noqa: ANN001, ANN201
    return await make_client(dataclasses.replace(
        settings, widget_allowed_origins=frozenset({INTRANET, "http://127.0.0.1:18310"}),
        tracker_store_url=tracker_url))


def _csp(response) -> str:  # noqa: ANN001
    return response.headers["Content-Security-Policy"]


async def test_the_frame_may_be_framed_by_the_allowed_origins_only(widget_client, settings):
    token = session_tokens.mint(settings, "alice.hughes")
    response = await widget_client.get(f"/widget?host={INTRANET}", headers=cookie_header(token))
    assert response.status == 200
    policy = _csp(response)
    assert "frame-ancestors http://127.0.0.1:18310 https://intranet.dept.example.gov.uk;" in policy
    assert "'none'" not in policy.split("frame-ancestors", 1)[1].split(";", 1)[0]
    page = await response.text()
    assert f'data-host-origin="{INTRANET}"' in page
    assert 'id="message"' in page and "/static/widget-frame.js" in page


@pytest.mark.parametrize("host", [OTHER, "", "null", f"{INTRANET}/path", "javascript:alert(1)",
                                  f"{INTRANET}:8443", "http://intranet.dept.example.gov.uk"])
async def test_any_other_host_gets_a_403_that_cannot_be_framed(widget_client, host):
    response = await widget_client.get("/widget", params={"host": host})
    assert response.status == 403
    assert "frame-ancestors 'none'" in _csp(response)


async def test_every_other_page_still_refuses_framing(widget_client, settings):
    token = session_tokens.mint(settings, "alice.hughes")
    for path in ("/chat", "/signin", "/console/signin", f"/widget/signed-in"):
        response = await widget_client.get(path, headers=cookie_header(token))
        assert "frame-ancestors 'none'" in _csp(response), path


async def test_without_a_session_the_frame_offers_the_pop_up_sign_in(widget_client):
    response = await widget_client.get(f"/widget?host={INTRANET}")
    assert response.status == 200
    page = await response.text()
    assert 'id="widget-signin" href="/signin?next=/widget/signed-in"' in page
    assert "/static/chat.js" not in page


async def test_the_development_sign_in_returns_to_the_widget(widget_client):
    form = await (await widget_client.get("/signin?next=/widget/signed-in")).text()
    assert 'name="next" value="/widget/signed-in"' in form
    signed = await widget_client.post("/signin", data={"subject": "alice.hughes",
                                                       "next": "/widget/signed-in"},
                                      allow_redirects=False)
    assert signed.headers["Location"] == "/widget/signed-in"
    landing = await widget_client.get("/widget/signed-in")
    assert "/static/widget-signed-in.js" in await landing.text()


@pytest.mark.parametrize("target", ["https://evil.example.com/", "//evil.example.com",
                                    "/console", "javascript:alert(1)"])
async def test_next_is_one_of_two_pages_or_the_chat(widget_client, target):
    signed = await widget_client.post("/signin", data={"subject": "alice.hughes",
                                                       "next": target}, allow_redirects=False)
    assert signed.headers["Location"] == "/chat"


def _event(url: str, sender: str, kind: str, data: dict) -> None:
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(tracker_events).values(
            sender_id=sender, type_name=kind, timestamp=data["timestamp"],
            data=json.dumps(data)))
    engine.dispose()


async def test_history_is_the_employees_own_conversation(widget_client, settings, tracker_url):
    alice = widget_push.widget_conversation_id(settings.widget_token_issuer, "alice.hughes")
    ben = widget_push.widget_conversation_id(settings.widget_token_issuer, "ben.okafor")
    now = time.time()
    _event(tracker_url, alice, "user", {"event": "user", "timestamp": now - 30,
                                        "text": "how much leave do I have",
                                        "metadata": {"principal": {"subject": "alice.hughes"}}})
    _event(tracker_url, alice, "bot", {"event": "bot", "timestamp": now - 29,
                                       "text": "You have 12.5 days left.",
                                       "data": {"buttons": [{"title": "Book leave",
                                                             "payload": "/leave_request"}]}})
    _event(tracker_url, alice, "user", {"event": "user", "timestamp": now - 20,
                                        "text": "/leave_request"})
    _event(tracker_url, alice, "bot", {"event": "bot", "timestamp": now - 10,
                                       "text": "I have added the days back.",
                                       "metadata": {"handoff_author": "Sam Patel"}})
    _event(tracker_url, ben, "user", {"event": "user", "timestamp": now, "text": "ben's secret"})
    token = session_tokens.mint(settings, "alice.hughes")
    response = await widget_client.get("/api/history", headers=cookie_header(token))
    assert response.status == 200
    body = await response.json()
    assert abs(body["now"] - time.time()) < 60
    shown = [(m["from"], m.get("text"), m.get("author")) for m in body["messages"]]
    assert shown == [("you", "how much leave do I have", None),
                     ("assistant", "You have 12.5 days left.", None),
                     ("you", "Book leave", None),  # the button's title, not its payload
                     ("agent", "I have added the days back.", "Sam Patel")]
    assert "principal" not in json.dumps(body) and "ben" not in json.dumps(body)


async def test_history_needs_a_live_session(widget_client, settings):
    assert (await widget_client.get("/api/history")).status == 401
    token = session_tokens.mint(settings, "alice.hughes")
    await widget_client.post("/signout", headers=cookie_header(token))
    assert (await widget_client.get("/api/history", headers=cookie_header(token))).status == 401


async def test_the_widget_script_is_served(widget_client):
    response = await widget_client.get("/static/widget.js")
    assert response.status == 200
    assert "helpdesk:unread" in await response.text()


async def test_allowed_origins_are_exact_origins() -> None:
    assert allowed_origins(" https://A.example.gov.uk ,http://127.0.0.1:18310/") == {
        "https://a.example.gov.uk", "http://127.0.0.1:18310"}
    for bad in ("https://a.example.gov.uk/intranet", "*", "https://*.example.gov.uk", "ftp://a"):
        with pytest.raises(ConfigurationError):
            allowed_origins(bad)
