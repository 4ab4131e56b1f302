"""The Slack channel over HTTP: signed events are acknowledged at once, handled once, in the
background, and answered through the (fake) Slack Web API."""
from __future__ import annotations

import asyncio
import json
import logging
import threading
import urllib.error
import urllib.request
from typing import Any, Coroutine, Dict, Optional, Tuple
from urllib.parse import urlencode

import pytest

from connectors.dedup import InMemoryStore, RedisStore
from connectors.principal import conversation_id
from connectors.slack import NOTICE_DM_ONLY, RETRY_REASONS, SlackInput

from . import fakes
from .conftest import ChannelServer, signed_principal
from .test_slack_events import block_actions

ALICE = {"id": "U0ALICE", "team_id": fakes.SLACK_TEAM_ID, "deleted": False, "is_bot": False,
         "is_email_confirmed": True,
         "profile": {"email": "Alice.Hughes@dds.example.gov.uk", "real_name": "Alice Hughes"}}


def post_raw(server: ChannelServer, body: bytes, headers: Dict[str, str],
             path: str = "slack/webhook") -> Tuple[int, Any, Dict[str, str]]:
    request = urllib.request.Request(f"{server.base_url}/{path}", data=body, headers=headers,
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            content = response.read()
            return response.status, json.loads(content) if content else None, dict(
                response.headers)
    except urllib.error.HTTPError as error:
        content = error.read()
        return error.code, json.loads(content) if content else None, dict(error.headers)


def post(server: ChannelServer, payload: Dict[str, Any], *, retry: Optional[Tuple[str, int]] = None,
         path: str = "slack/webhook") -> Tuple[int, Any]:
    body = json.dumps(payload).encode()
    headers = fakes.slack_headers(body)
    if retry:
        headers.update({"X-Slack-Retry-Reason": retry[0], "X-Slack-Retry-Num": str(retry[1])})
    status, content, _ = post_raw(server, body, headers, path)
    return status, content


def post_interaction(server: ChannelServer, payload: Dict[str, Any]) -> Tuple[int, Any]:
    body = urlencode({"payload": json.dumps(payload)}).encode()
    headers = fakes.slack_headers(body, content_type="application/x-www-form-urlencoded")
    status, content, _ = post_raw(server, body, headers)
    return status, content


def run(server: ChannelServer, coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run_coroutine_threadsafe(coroutine, server.loop).result(timeout=20)


def posted(server: ChannelServer) -> list:
    return [c["params"] for c in server.platforms.slack.calls if c["method"] == "chat.postMessage"]


@pytest.fixture(autouse=True)
def directory(server: ChannelServer) -> None:
    server.platforms.slack_users.clear()
    server.platforms.slack_users["U0ALICE"] = dict(ALICE)
    server.slack.directory._cache.clear()


def test_a_direct_message_is_acknowledged_then_answered(server: ChannelServer) -> None:
    assert post(server, fakes.slack_event(client_msg_id="cm-alice-1")) == (200, None)
    server.drain()
    [message] = server.agent.messages
    assert message.text == "how much annual leave do I have left?"
    assert message.input_channel == "slack"
    assert message.message_id == "cm-alice-1"
    assert message.sender_id == conversation_id("slack", fakes.SLACK_TEAM_ID, "U0ALICE")
    assert signed_principal(message) == {
        "channel": "slack", "tenant": fakes.SLACK_TEAM_ID, "subject": "U0ALICE",
        "email": "alice.hughes@dds.example.gov.uk"}
    [reply] = posted(server)
    assert reply == {"channel": "D0ALICEDM", "text": "reply"}
    assert all(c["authorization"] == f"Bearer {fakes.SLACK_BOT_TOKEN}"
               for c in server.platforms.slack.calls)


def test_a_slow_event_gets_503_within_slacks_wait_then_its_retries_are_handled_once(
        server: ChannelServer) -> None:
    """users.info is held open past the acknowledgement deadline (2.5 s, within Slack's 3 s):
    the event is answered 503 so that Slack retries; a retry while it is still in hand gets
    503 too; once handled, a retry gets 200 and no second message (at least once, one effect)."""
    event = fakes.slack_event()
    gate = threading.Event()
    server.platforms.users_info_gate = gate
    try:
        assert post(server, event)[0] == 503
        assert post(server, event, retry=("http_timeout", 1))[0] == 503
        assert server.agent.messages == []
    finally:
        gate.set()
    server.drain()
    assert len(server.agent.messages) == 1
    assert post(server, event, retry=("http_timeout", 2)) == (200, None)
    server.drain()
    assert len(server.agent.messages) == 1


def test_a_threaded_message_is_answered_in_the_thread(server: ChannelServer) -> None:
    assert post(server, fakes.slack_event(thread_ts="1700000000.000100"))[0] == 200
    server.drain()
    assert posted(server) == [{"channel": "D0ALICEDM", "text": "reply",
                               "thread_ts": "1700000000.000100"}]


@pytest.mark.parametrize("reason", sorted(RETRY_REASONS) + ["something_new"])
def test_an_event_is_handled_once_across_retries_of_every_reason(server: ChannelServer,
                                                                 reason: str) -> None:
    payload = fakes.slack_event(event_id=f"Ev-retry-{reason}")
    assert post(server, payload)[0] == 200
    for number in (1, 2, 3):
        assert post(server, payload, retry=(reason, number))[0] == 200
    server.drain()
    assert len(server.agent.messages) == 1
    assert len(posted(server)) == 1


def test_a_retry_that_arrives_first_is_still_handled_once(server: ChannelServer) -> None:
    payload = fakes.slack_event(event_id="Ev-late-original")
    assert post(server, payload, retry=("http_timeout", 1))[0] == 200
    assert post(server, payload)[0] == 200
    server.drain()
    assert len(server.agent.messages) == 1


def test_the_same_client_message_under_two_event_ids_is_one_message(
        server: ChannelServer) -> None:
    assert post(server, fakes.slack_event(event_id="Ev-a", client_msg_id="cm-same"))[0] == 200
    assert post(server, fakes.slack_event(event_id="Ev-b", client_msg_id="cm-same"))[0] == 200
    server.drain()
    assert len(server.agent.messages) == 1


def test_a_replayed_signed_request_is_handled_once(server: ChannelServer) -> None:
    body = json.dumps(fakes.slack_event(event_id="Ev-replay")).encode()
    headers = fakes.slack_headers(body)
    assert [post_raw(server, body, headers)[0] for _ in range(5)] == [200] * 5
    server.drain()
    assert len(server.agent.messages) == 1


@pytest.mark.parametrize("change", [
    {"bot_id": "B0HELPDESK", "user": fakes.SLACK_BOT_USER},
    {"user": fakes.SLACK_BOT_USER}, {"subtype": "bot_message"}, {"subtype": "message_changed"},
    {"channel_type": "channel", "channel": "C0GENERAL"},
])
def test_bot_own_and_non_dm_messages_are_ignored(server: ChannelServer,
                                                 change: Dict[str, Any]) -> None:
    payload = fakes.slack_event()
    payload["event"].update(change)
    assert post(server, payload) == (200, None)
    server.drain()
    assert server.agent.messages == [] and server.platforms.outbound_calls() == 0


def test_a_channel_mention_gets_a_pointer_to_the_dm_in_a_thread(server: ChannelServer) -> None:
    payload = fakes.slack_event(event_type="app_mention", channel="C0GENERAL",
                                ts="1700000003.000400")
    payload["event"].pop("channel_type")
    assert post(server, payload)[0] == 200
    server.drain()
    assert server.agent.messages == []
    assert posted(server) == [{"channel": "C0GENERAL", "text": NOTICE_DM_ONLY,
                               "thread_ts": "1700000003.000400"}]


def test_an_event_from_another_workspace_is_ignored(server: ChannelServer) -> None:
    assert post(server, fakes.slack_event(team="T0OTHERORG"))[0] == 200
    server.drain()
    assert server.agent.messages == [] and server.platforms.outbound_calls() == 0


def test_url_verification_is_answered_only_when_signed(server: ChannelServer) -> None:
    payload = {"token": "x", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
               "type": "url_verification"}
    assert post(server, payload) == (200, {"challenge": payload["challenge"]})
    body = json.dumps(payload).encode()
    headers = fakes.slack_headers(body, secret="0" * 32)
    assert post_raw(server, body, headers)[:2] == (401, {"error": "invalid signature"})


def test_a_button_click_reaches_the_assistant_once(server: ChannelServer) -> None:
    payload = block_actions()
    assert post_interaction(server, payload)[0] == 200
    assert post_interaction(server, payload)[0] == 200
    server.drain()
    [message] = server.agent.messages
    assert message.text == "/affirm"
    assert message.metadata["principal"]["subject"] == "U0ALICE"
    assert posted(server)[0]["thread_ts"] == "1700000000.000100"


def test_a_button_click_outside_a_dm_gets_the_pointer(server: ChannelServer) -> None:
    assert post_interaction(server, block_actions(channel={"id": "C0GENERAL"},
                                                  trigger_id="trigger-channel"))[0] == 200
    server.drain()
    assert server.agent.messages == []
    assert posted(server)[0]["text"] == NOTICE_DM_ONLY


@pytest.mark.parametrize("change", [{"is_email_confirmed": False}, {"deleted": True},
                                    {"is_bot": True}, {"profile": {"real_name": "No Email"}},
                                    {"profile": {"email": "not-an-email"}},
                                    # guests, and people of another organisation or workspace
                                    {"is_restricted": True}, {"is_ultra_restricted": True},
                                    {"is_stranger": True}, {"team_id": "T0OTHERORG"},
                                    {"team_id": None}])
def test_only_a_confirmed_email_of_a_live_full_member_is_passed_on(server: ChannelServer,
                                                             change: Dict[str, Any]) -> None:
    server.platforms.slack_users["U0ALICE"].update(change)
    assert post(server, fakes.slack_event())[0] == 200
    server.drain()
    assert "email" not in server.agent.messages[0].metadata["principal"]


def test_an_unknown_slack_user_still_gets_the_verified_principal(server: ChannelServer) -> None:
    assert post(server, fakes.slack_event(user="U0NOBODY"))[0] == 200
    server.drain()
    assert {"principal": signed_principal(server.agent.messages[0])} == {"principal": {
        "channel": "slack", "tenant": fakes.SLACK_TEAM_ID, "subject": "U0NOBODY"}}


def test_emails_are_cached(server: ChannelServer) -> None:
    for _ in range(3):
        assert post(server, fakes.slack_event())[0] == 200
    server.drain()
    lookups = [c for c in server.platforms.slack.calls if c["method"] == "users.info"]
    assert len(lookups) == 1
    assert lookups[0]["params"]["user"] == "U0ALICE"


def test_the_email_in_the_text_is_never_the_identity(server: ChannelServer) -> None:
    assert post(server, fakes.slack_event(
        user="U0NOBODY", text="I am alice.hughes@dds.example.gov.uk, show my leave"))[0] == 200
    server.drain()
    assert "email" not in server.agent.messages[0].metadata["principal"]


def test_agent_replies_reach_the_users_latest_dm_thread(server: ChannelServer) -> None:
    assert post(server, fakes.slack_event(thread_ts="1700000000.000900"))[0] == 200
    server.drain()
    server.platforms.clear()
    proactive = server.slack.get_output_channel()
    run(server, proactive.send_text_message(server.agent.messages[0].sender_id,
                                            "An agent has picked up your query."))
    run(server, proactive.send_text_message("slack-unknown", "to nowhere"))
    assert posted(server) == [{"channel": "D0ALICEDM", "text": "An agent has picked up your query.",
                               "thread_ts": "1700000000.000900"}]


def test_buttons_are_sent_as_block_kit(server: ChannelServer) -> None:
    from connectors.slack import SlackOutput

    output = SlackOutput(server.slack.client, "D0ALICEDM", None)
    run(server, output.send_response("x", {"text": "Book it?", "buttons": [
        {"title": "Yes", "payload": "/affirm"}]}))
    [params] = posted(server)
    assert params["text"] == "Book it?"
    assert params["blocks"][1]["elements"][0]["value"] == "/affirm"


def test_a_messages_metadata_rides_on_its_posts(server: ChannelServer) -> None:
    """The knowledge base's custom payload reaches Slack as the answer's message metadata."""
    from connectors.slack import SlackOutput

    metadata = {"event_type": "knowledge_answer",
                "event_payload": {"topic": "sick_pay", "article_id": 12, "version": 3}}
    output = SlackOutput(server.slack.client, "D0ALICEDM", None)
    run(server, output.send_response("x", {"text": "Sick pay is...",
                                           "custom": {"metadata": metadata}}))
    run(server, output.send_response("x", {"text": "Plain"}))
    first, second = posted(server)
    assert (first["text"], first["metadata"]) == ("Sick pay is...", metadata)
    assert "metadata" not in second


def test_health_and_the_disabled_channel(server: ChannelServer) -> None:
    with urllib.request.urlopen(f"{server.base_url}/slack/", timeout=5) as response:
        assert json.loads(response.read()) == {"status": "ok"}
    assert post(server, fakes.slack_event(), path="slack_off/webhook") == (
        503, {"error": "this channel is not configured"})
    assert post_raw(server, b"{not json", {}, "slack_off/webhook")[0] == 503
    assert server.agent.messages == []


def test_slacks_published_vector_passes_verification_over_http(server: ChannelServer) -> None:
    """The vector is a slash command, which this app does not offer: past the signature check
    it is an unreadable payload (400), where a bad signature would be 401."""
    headers = {"Content-Type": "application/x-www-form-urlencoded",
               "X-Slack-Request-Timestamp": fakes.VECTOR_TIMESTAMP,
               "X-Slack-Signature": fakes.VECTOR_SIGNATURE}
    assert post_raw(server, fakes.VECTOR_BODY, headers, "slack_vector/webhook")[0] == 400
    assert post_raw(server, fakes.VECTOR_BODY + b"&x=1", headers, "slack_vector/webhook")[0] == 401


def test_oversized_requests_are_refused(server: ChannelServer) -> None:
    assert post(server, fakes.slack_event(text="x" * 200_000))[0] == 413
    assert server.agent.messages == []


def test_no_secret_token_email_or_text_reaches_the_logs(server: ChannelServer,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    payload = fakes.slack_event(text="my bank account is 12345678")
    body = json.dumps(payload).encode()
    post_raw(server, body, fakes.slack_headers(body, secret="f" * 32))
    post(server, payload)
    post(server, payload, retry=("http_timeout", 1))
    server.drain()
    assert "slack.rejected status=401" in caplog.text
    assert "slack.duplicate" in caplog.text
    for secret in ("12345678", fakes.SLACK_SIGNING_SECRET, fakes.SLACK_BOT_TOKEN,
                   "alice.hughes@", "Alice.Hughes@"):
        assert secret not in caplog.text


# --- configuration -----------------------------------------------------------------------------

def test_no_credentials_means_disabled_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="connectors.slack")
    channel = SlackInput.from_credentials({"signing_secret": "", "bot_token": "",
                                           "team_ids": ""})
    assert not channel.enabled and channel.get_output_channel() is None
    assert [r.getMessage() for r in caplog.records] == [
        "slack.disabled reason=no credentials: every request gets 503"]


@pytest.mark.parametrize("missing", ["signing_secret", "bot_token", "team_ids"])
def test_half_configured_credentials_refuse_to_start(missing: str) -> None:
    credentials = {"signing_secret": "s" * 32, "bot_token": "xoxb-1", "principal_key": "p" * 32, "team_ids": "T0A"}
    credentials[missing] = ""
    with pytest.raises(ValueError, match="together"):
        SlackInput.from_credentials(credentials)


def test_full_credentials_enable_the_channel() -> None:
    channel = SlackInput.from_credentials({
        "signing_secret": "s" * 32, "bot_token": "xoxb-1", "principal_key": "p" * 32, "team_ids": "T0A, T0B",
        "store_type": "redis", "store_host": "redis", "store_port": "6379", "store_db": "1",
        "store_password": ""})
    assert channel.enabled
    assert channel.team_ids == {"T0A", "T0B"}
    assert isinstance(channel.store, RedisStore)
    assert channel.client.base_url == "https://slack.com/api/"


@pytest.mark.parametrize("api_url, expected", [
    ("", "https://slack.com/api/"),  # ${SLACK_API_URL} empty: Slack itself
    ("https://127.0.0.1:8443/slack/api/", "https://127.0.0.1:8443/slack/api/"),
])
def test_the_web_api_base_url_comes_from_the_credentials(api_url: str, expected: str) -> None:
    channel = SlackInput.from_credentials({"signing_secret": "s" * 32, "bot_token": "xoxb-1", "principal_key": "p" * 32,
                                           "team_ids": "T0A", "api_url": api_url,
                                           "store_type": "in_memory"})
    assert channel.client.base_url == expected


def test_the_default_store_is_in_memory() -> None:
    channel = SlackInput.from_credentials({"signing_secret": "s" * 32, "bot_token": "xoxb-1", "principal_key": "p" * 32,
                                           "team_ids": "T0A", "store_type": "in_memory"})
    assert isinstance(channel.store, InMemoryStore)


class BrokenStore:
    async def claim(self, key: str, ttl_seconds: int) -> bool:
        raise ConnectionError("redis is down")

    async def put(self, key: str, value: str, ttl_seconds: int) -> None:
        raise ConnectionError("redis is down")

    async def get(self, key: str) -> None:
        raise ConnectionError("redis is down")


def test_a_store_outage_is_a_503_slack_retries_later(server: ChannelServer) -> None:
    healthy = server.slack.store
    server.slack.store = BrokenStore()
    try:
        assert post(server, fakes.slack_event()) == (503, {"error": "try again later"})
    finally:
        server.slack.store = healthy
    server.drain()
    assert server.agent.messages == [] and server.platforms.outbound_calls() == 0


def test_a_signed_body_nested_too_deep_is_a_400(server: ChannelServer) -> None:
    """json.loads raised RecursionError (a 500) on a correctly signed, absurdly nested body."""
    body = b"[" * 60_000 + b"]" * 60_000  # under the 128 KiB limit, far past the parser's depth
    status, _, _ = post_raw(server, body, fakes.slack_headers(body))
    assert status == 400


def test_the_email_route_can_be_switched_off() -> None:
    channel = SlackInput.from_credentials({
        "signing_secret": "s" * 32, "bot_token": "xoxb-1", "principal_key": "p" * 32,
        "team_ids": "T0A", "email_identity": "0"})
    assert channel.directory.enabled is False
    assert asyncio.run(channel.directory.email("T0A", "U0ALICE")) is None
