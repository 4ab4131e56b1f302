"""The Teams channel over HTTP: verified activities reach the assistant and are answered
through the (fake) Bot Connector with an MSAL token from our own tenant."""
from __future__ import annotations

import asyncio
import json
import logging
import urllib.error
import urllib.request
from typing import Any, Coroutine, Dict, Optional, Tuple

import pytest

from connectors.dedup import InMemoryStore
from connectors.principal import conversation_id
from connectors.teams import NOTICE_NO_IDENTITY, NOTICE_PERSONAL_ONLY, TeamsInput, TeamsOutput
from connectors.teams_auth import BOT_FRAMEWORK_OPENID_METADATA_URL, Forbidden

from . import fakes
from .conftest import ChannelServer, signed_principal


def post(server: ChannelServer, token: Optional[str], body: Any = None, *,
         raw: Optional[bytes] = None, path: str = "msteams/webhook",
         authorization: Optional[str] = None) -> Tuple[int, Any]:
    headers = {"Content-Type": "application/json"}
    if authorization is not None:
        headers["Authorization"] = authorization
    elif token is not None:
        headers["Authorization"] = f"Bearer {token}"
    data = raw if raw is not None else json.dumps(body).encode()
    request = urllib.request.Request(f"{server.base_url}/{path}", data=data, headers=headers,
                                     method="POST")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            content = response.read()
            return response.status, json.loads(content) if content else None
    except urllib.error.HTTPError as error:
        content = error.read()
        return error.code, json.loads(content) if content else None


def run(server: ChannelServer, coroutine: Coroutine[Any, Any, Any]) -> Any:
    return asyncio.run_coroutine_threadsafe(coroutine, server.loop).result(timeout=20)


def genuine(server: ChannelServer, **activity_args: Any) -> Tuple[str, Dict[str, Any]]:
    service_url = server.platforms.service_url
    token = fakes.mint_token(server.platforms.keys.signing, service_url=service_url)
    return token, fakes.activity(service_url, **activity_args)


def test_a_verified_activity_reaches_the_assistant_and_is_answered(server: ChannelServer) -> None:
    token, activity = genuine(server, activity_id="1700000000001")
    assert post(server, token, activity) == (202, None)
    server.drain()
    [message] = server.agent.messages
    assert message.text == "how much annual leave do I have left?"
    assert message.input_channel == "msteams"
    assert message.message_id == "1700000000001"
    assert message.sender_id == conversation_id("msteams", fakes.TENANT_ID, fakes.USER_OBJECT_ID)
    assert signed_principal(message) == {"channel": "msteams", "tenant": fakes.TENANT_ID,
                                         "subject": fakes.USER_OBJECT_ID}
    [call] = server.platforms.connector.calls
    assert call["conversation"] == "a:1personal-chat-with-alice"
    assert call["authorization"] == "Bearer msal-app-token"
    assert call["activity"] == {
        "type": "message", "from": {"id": f"28:{fakes.APP_ID}", "name": "Helpdesk"},
        "recipient": {"id": "29:1alice-teams-user-id"},
        "conversation": {"id": "a:1personal-chat-with-alice"},
        "text": "reply", "textFormat": "markdown", "replyToId": "1700000000001",
    }


def test_the_app_token_comes_from_our_tenant_and_is_cached(server: ChannelServer) -> None:
    for _ in range(3):
        token, activity = genuine(server)
        assert post(server, token, activity)[0] == 202
    server.drain()
    assert len(server.platforms.connector.calls) == 3
    posts = [r for r in server.msal_http.requests.calls if r["method"] == "POST"]
    assert len(posts) == 1, "MSAL did not cache the app token"
    assert posts[0]["url"] == (
        f"https://login.microsoftonline.com/{fakes.TENANT_ID}/oauth2/v2.0/token")
    assert posts[0]["form"]["scope"] == "https://api.botframework.com/.default"
    assert posts[0]["form"]["grant_type"] == "client_credentials"
    assert posts[0]["form"]["client_id"] == fakes.APP_ID
    assert "botframework.com/oauth2" not in json.dumps(server.msal_http.requests.calls)


def test_a_redelivered_activity_is_handled_once(server: ChannelServer) -> None:
    token, activity = genuine(server, activity_id="1700000000777")
    assert [post(server, token, activity)[0] for _ in range(4)] == [202] * 4
    server.drain()
    assert len(server.agent.messages) == 1
    assert len(server.platforms.connector.calls) == 1


def test_the_same_activity_id_in_another_conversation_is_another_message(
        server: ChannelServer) -> None:
    token, first = genuine(server, activity_id="1700000000888")
    _, second = genuine(server, activity_id="1700000000888", conversation="a:1another-chat")
    assert post(server, token, first)[0] == post(server, token, second)[0] == 202
    server.drain()
    assert len(server.agent.messages) == 2


@pytest.mark.parametrize("conversation_type", ["groupChat", "channel", "Personal", None])
def test_group_chats_get_a_pointer_to_the_personal_chat(server: ChannelServer,
                                                        conversation_type: str | None) -> None:
    token, activity = genuine(server, conversation_type=conversation_type)
    if conversation_type is None:  # unknown is treated as shared
        del activity["conversation"]["conversationType"]
    assert post(server, token, activity)[0] == 202
    server.drain()
    assert server.agent.messages == []
    [call] = server.platforms.connector.calls
    assert call["activity"]["text"] == NOTICE_PERSONAL_ONLY


def test_a_sender_without_an_azure_ad_object_id_is_not_identified(server: ChannelServer) -> None:
    token, activity = genuine(server, object_id=None)
    assert post(server, token, activity)[0] == 202
    server.drain()
    assert server.agent.messages == []
    assert server.platforms.connector.calls[0]["activity"]["text"] == NOTICE_NO_IDENTITY


@pytest.mark.parametrize("kind", ["conversationUpdate", "typing", "invoke"])
def test_other_activities_are_acknowledged_and_ignored(server: ChannelServer, kind: str) -> None:
    token, activity = genuine(server, kind=kind)
    assert post(server, token, activity)[0] == 202
    server.drain()
    assert server.agent.messages == [] and server.platforms.outbound_calls() == 0


def test_a_card_button_click_arrives_as_its_payload(server: ChannelServer) -> None:
    token, activity = genuine(server, text="", value={"payload": "/affirm"})
    assert post(server, token, activity)[0] == 202
    server.drain()
    assert server.agent.messages[0].text == "/affirm"


@pytest.mark.parametrize("raw", [b"{not json", b"[]", b"\xff\xfe", b'"text"'])
def test_an_authenticated_body_that_is_not_an_activity_is_400(server: ChannelServer,
                                                              raw: bytes) -> None:
    token, _ = genuine(server)
    assert post(server, token, raw=raw) == (400, {"error": "not a valid activity"})
    assert server.agent.messages == [] and server.platforms.outbound_calls() == 0


def test_the_token_is_checked_before_the_body_is_read(server: ChannelServer) -> None:
    assert post(server, None, raw=b"{not json")[0] == 401
    assert post(server, "x.y.z", raw=b"\xff")[0] == 401


def test_oversized_activities_are_refused(server: ChannelServer) -> None:
    token, activity = genuine(server, text="x" * 300_000)
    assert post(server, token, activity)[0] == 413
    assert server.agent.messages == []


def test_an_overlong_message_gets_a_notice(server: ChannelServer) -> None:
    token, activity = genuine(server, text="x" * 2500)
    assert post(server, token, activity)[0] == 202
    server.drain()
    assert server.agent.messages == []
    assert "too long" in server.platforms.connector.calls[0]["activity"]["text"]


def test_buttons_and_summaries_are_sent_as_adaptive_cards(server: ChannelServer) -> None:
    reference = {"serviceUrl": server.platforms.service_url, "conversationId": "a:1chat",
                 "tenantId": fakes.TENANT_ID, "bot": {"id": "28:bot", "name": "Helpdesk"},
                 "user": {"id": "29:user"}}
    output = TeamsOutput(server.teams.connector, reference)
    run(server, output.send_response("x", {"text": "Book it?", "buttons": [
        {"title": "Yes", "payload": "/affirm"}]}))
    run(server, output.send_response("x", {"custom": {"summary": {
        "title": "Leave request", "facts": [{"title": "Days", "value": "3"}]}}}))
    first, second = server.platforms.connector.wait_for(2)
    card = first["activity"]["attachments"][0]["content"]
    assert card["actions"][0]["data"]["msteams"]["text"] == "/affirm"
    assert second["activity"]["attachments"][0]["content"]["body"][1]["type"] == "FactSet"


KNOWLEDGE_METADATA = {"event_type": "knowledge_answer", "event_payload": {
    "topic": "sick_pay", "article_id": 12, "version": 3}}


def test_a_messages_metadata_rides_on_its_activities(server: ChannelServer) -> None:
    """The knowledge base's custom payload (topic, article, version) reaches Teams on the
    answer's own activities, never as a message of its own."""
    reference = {"serviceUrl": server.platforms.service_url, "conversationId": "a:1chat",
                 "tenantId": fakes.TENANT_ID, "bot": {"id": "28:bot", "name": "Helpdesk"},
                 "user": {"id": "29:user"}}
    output = TeamsOutput(server.teams.connector, reference)
    run(server, output.send_response("x", {"text": "Sick pay is...\n\nSource: Sick pay",
                                           "custom": {"metadata": KNOWLEDGE_METADATA}}))
    run(server, output.send_response("x", {"text": "No article.", "buttons": [
        {"title": "Raise a query", "payload": "/ticket_create"}],
        "custom": {"metadata": KNOWLEDGE_METADATA}}))
    run(server, output.send_response("x", {"text": "Plain"}))
    calls = server.platforms.connector.wait_for(4)
    assert [c["activity"].get("text") for c in calls[:2]] == ["Sick pay is...",
                                                              "Source: Sick pay"]
    for call in calls[:3]:
        assert call["activity"]["channelData"]["metadata"] == KNOWLEDGE_METADATA
    assert "channelData" not in calls[3]["activity"]
    assert len(server.platforms.connector.calls) == 4


def test_agent_replies_reach_the_users_latest_verified_conversation(
        server: ChannelServer) -> None:
    token, activity = genuine(server, conversation="a:1alice-latest")
    assert post(server, token, activity)[0] == 202
    server.drain()
    server.platforms.clear()
    sender = server.agent.messages[0].sender_id
    proactive = server.teams.get_output_channel()
    run(server, proactive.send_text_message(sender, "An agent has picked up your query."))
    run(server, proactive.send_text_message("msteams-unknown-sender", "to nowhere"))
    [call] = server.platforms.connector.calls
    assert call["conversation"] == "a:1alice-latest"
    assert call["activity"]["text"] == "An agent has picked up your query."


def test_health_reports_the_channel_state(server: ChannelServer) -> None:
    with urllib.request.urlopen(f"{server.base_url}/msteams/", timeout=5) as response:
        assert json.loads(response.read()) == {"status": "ok"}
    with urllib.request.urlopen(f"{server.base_url}/msteams_off/", timeout=5) as response:
        assert json.loads(response.read()) == {"status": "disabled"}


@pytest.mark.parametrize("raw", [b"", b"{}", b"{not json"])
def test_a_channel_without_credentials_answers_503_without_reading(server: ChannelServer,
                                                                   raw: bytes) -> None:
    token, activity = genuine(server)
    assert post(server, token, activity, path="msteams_off/webhook") == (
        503, {"error": "this channel is not configured"})
    assert post(server, None, raw=raw, path="msteams_off/webhook")[0] == 503
    assert server.agent.messages == [] and server.platforms.outbound_calls() == 0


def test_no_token_secret_or_text_reaches_the_logs(server: ChannelServer,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    token, activity = genuine(server, text="my national insurance number is QQ123456C")
    forged = fakes.mint_token(server.platforms.keys.attacker,
                              service_url=server.platforms.service_url)
    post(server, forged, activity)
    post(server, token, activity)
    server.drain()
    assert "msteams.rejected status=401" in caplog.text
    for secret in ("QQ123456C", token, forged, token.split(".")[1], "app-password",
                   "msal-app-token"):
        assert secret not in caplog.text


# --- configuration -----------------------------------------------------------------------------

def test_no_credentials_means_disabled_with_one_warning(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="connectors.teams")
    channel = TeamsInput.from_credentials({"app_id": "", "app_password": "", "tenant_id": "",
                                           "store_type": "in_memory"})
    assert not channel.enabled and channel.get_output_channel() is None
    assert [r.getMessage() for r in caplog.records] == [
        "msteams.disabled reason=no credentials: every request gets 503"]


@pytest.mark.parametrize("missing", ["app_id", "app_password", "tenant_id"])
def test_half_configured_credentials_refuse_to_start(missing: str) -> None:
    credentials = {"app_id": fakes.APP_ID, "app_password": "pw", "principal_key": "p" * 32, "tenant_id": fakes.TENANT_ID}
    credentials[missing] = ""
    with pytest.raises(ValueError, match="together"):
        TeamsInput.from_credentials(credentials)


def test_full_credentials_enable_the_channel_with_microsofts_endpoints() -> None:
    channel = TeamsInput.from_credentials({"app_id": fakes.APP_ID, "app_password": "pw", "principal_key": "p" * 32,
                                           "tenant_id": fakes.TENANT_ID.upper(),
                                           "store_type": "in_memory"})
    assert channel.enabled
    assert channel.tenant_id == fakes.TENANT_ID
    assert channel.keys.metadata_url == BOT_FRAMEWORK_OPENID_METADATA_URL
    assert isinstance(channel.store, InMemoryStore)
    assert channel.require_https_service_url


class FakeRequest:
    def __init__(self, token: str, body: Dict[str, Any]) -> None:
        self.headers = {"Authorization": f"Bearer {token}"}
        self.body = json.dumps(body).encode()


async def test_production_refuses_a_plain_http_service_url(keys: fakes.Keys,
                                                           platforms: fakes.PlatformFakes) -> None:
    from connectors.teams_auth import OpenIdKeys
    from connectors.teams_client import JsonFetcher

    fetcher = JsonFetcher()
    channel = TeamsInput(fakes.APP_ID, fakes.TENANT_ID, OpenIdKeys(platforms.metadata_url,
                                                                   fetcher),
                         connector=None, store=InMemoryStore())
    service_url = "http://insecure.example/"
    token = fakes.mint_token(keys.signing, service_url=service_url)
    with pytest.raises(Forbidden, match="https"):
        await channel.verify(FakeRequest(token, fakes.activity(service_url)))
    https_url = "https://smba.trafficmanager.net/uk/"
    token = fakes.mint_token(keys.signing, service_url=https_url)
    assert (await channel.verify(FakeRequest(token, fakes.activity(https_url)))).service_url \
        == https_url
    await fetcher.close()


async def test_msal_tokens_never_reach_the_logs(caplog: pytest.LogCaptureFixture) -> None:
    from connectors.teams_client import MsalTokenSource

    caplog.set_level(logging.DEBUG)
    http = fakes.FakeMsalHttp(token="eyJ-very-secret-app-token")
    source = MsalTokenSource(fakes.APP_ID, "s3cr3t-app-password", fakes.TENANT_ID, http_client=http)
    assert await source.token() == "eyJ-very-secret-app-token"
    assert await source.token() == "eyJ-very-secret-app-token"
    assert len([r for r in http.requests.calls if r["method"] == "POST"]) == 1
    assert "eyJ-very-secret-app-token" not in caplog.text
    assert "s3cr3t-app-password" not in caplog.text


def test_empty_endpoint_settings_mean_microsofts_public_cloud() -> None:
    """credentials.yml passes ${TEAMS_OPENID_METADATA_URL} and ${TEAMS_AUTHORITY_HOST}: empty
    by default (scripts/stack.py, docker-compose.yml)."""
    channel = TeamsInput.from_credentials({"app_id": fakes.APP_ID, "app_password": "pw", "principal_key": "p" * 32,
                                           "tenant_id": fakes.TENANT_ID,
                                           "openid_metadata_url": "", "authority_host": "",
                                           "store_type": "in_memory"})
    assert channel.keys.metadata_url == BOT_FRAMEWORK_OPENID_METADATA_URL
    tokens = channel.connector._tokens
    assert tokens._authority == f"https://login.microsoftonline.com/{fakes.TENANT_ID}"


def test_endpoint_settings_point_the_channel_elsewhere() -> None:
    channel = TeamsInput.from_credentials({
        "app_id": fakes.APP_ID, "app_password": "pw", "tenant_id": fakes.TENANT_ID,
        "principal_key": "p" * 32,
        "openid_metadata_url": "https://127.0.0.1:8443/botframework/openid",
        "authority_host": "https://login.microsoftonline.us/", "store_type": "in_memory"})
    assert channel.keys.metadata_url == "https://127.0.0.1:8443/botframework/openid"
    assert channel.connector._tokens._authority == (
        f"https://login.microsoftonline.us/{fakes.TENANT_ID}")
    assert channel.require_https_service_url


async def test_a_configured_authority_host_is_used_without_asking_microsoft_about_it() -> None:
    """MSAL's instance discovery would ask login.microsoftonline.com to vouch for any other
    host (and fail offline); an operator-configured host is taken as configured."""
    from connectors.teams_client import MsalTokenSource

    http = fakes.FakeMsalHttp()
    source = MsalTokenSource(fakes.APP_ID, "pw", fakes.TENANT_ID,
                             authority_host="https://login.test.example", http_client=http)
    assert await source.token() == "msal-app-token"
    urls = [call["url"] for call in http.requests.calls]
    assert urls[0].startswith(f"https://login.test.example/{fakes.TENANT_ID}/")
    assert not any("/discovery/instance" in url for url in urls)
    assert not any("login.microsoftonline.com/common" in url for url in urls)


async def test_a_failed_token_means_nothing_is_sent_and_nothing_crashes(
        platforms: fakes.PlatformFakes, caplog: pytest.LogCaptureFixture) -> None:
    from connectors.teams_client import BotConnector, MsalTokenSource

    http = fakes.FakeMsalHttp()
    http.fail = True
    connector = BotConnector(MsalTokenSource(fakes.APP_ID, "wrong", fakes.TENANT_ID,
                                             http_client=http))
    reference = {"serviceUrl": platforms.service_url, "conversationId": "a:1x",
                 "bot": {"id": "28:b"}, "user": {"id": "29:u"}}
    before = len(platforms.connector.calls)
    assert await connector.send(reference, {"type": "message", "text": "hi"}) is False
    await connector.close()
    assert len(platforms.connector.calls) == before
    assert "msteams.token.failed error=TokenUnavailable" in caplog.text


def test_a_store_outage_is_a_503_the_connector_retries_later(server: ChannelServer) -> None:
    from .test_slack_channel import BrokenStore

    healthy = server.teams.store
    server.teams.store = BrokenStore()
    try:
        token, activity = genuine(server)
        assert post(server, token, activity) == (503, {"error": "try again later"})
    finally:
        server.teams.store = healthy
    server.drain()
    assert server.agent.messages == [] and server.platforms.outbound_calls() == 0
