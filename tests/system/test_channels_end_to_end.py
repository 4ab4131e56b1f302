"""Teams and Slack end to end through the real processes, against local fakes of the platforms.

`scripts/stack.py` runs as `make run` starts it (action server, Rasa with the trained model, web
app) on free loopback ports with throwaway databases, and with both channels configured by
environment alone: the Bot Framework's OpenID metadata and keys, the Entra ID authority (MSAL),
and the Slack Web API point at platform_fakes.py (HTTPS, certificate from a throwaway CA the Rasa
process trusts through SSL_CERT_FILE / REQUESTS_CA_BUNDLE). The channels' production rules stay
on: an https serviceUrl, an https MSAL authority, certificates checked.

Each genuine request goes in both ways a deployment can route it: through the web app's relay
(production: only the web app is published) and straight to Rasa (embedded set-up behind a
tunnel). The answer is waited for at the fake (condition variable, bounded timeout), never slept
for.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from sqlalchemy import select

from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.identity import Principal
from bot.leave import my_leave_balances
from bot.storage.database import Database
from bot.storage.models import ChannelIdentity, Employee
from scripts.stack_process import StackProcess, current_model

from .platform_fakes import BOT_FRAMEWORK_SCOPE, PlatformFakes

QUESTION = "how much leave do I have left?"
APP_ID = "6f1a0c1e-2b3d-4e5f-8a9b-0c1d2e3f4a5b"
APP_PASSWORD = "app-secret-" + secrets.token_urlsafe(24)
TENANT_ID = "9b8c7d6e-5f4a-4b3c-8d2e-1f0a9b8c7d6e"
ALICE_OBJECT_ID = "0a1b2c3d-4e5f-4a6b-8c7d-8e9f0a1b2c3d"  # Alice's Entra ID object id
SLACK_SIGNING_SECRET = secrets.token_hex(16)
SLACK_BOT_TOKEN = "xoxb-1111-2222-" + secrets.token_hex(12)
SLACK_TEAM_ID = "T0HELPDESK"
BEN_SLACK = "U0BENOKAFOR"  # mapped by a ChannelIdentity row
FATIMA_SLACK = "U0FATIMARAHMAN"  # no row: Slack's confirmed e-mail identifies her
STRANGER_SLACK = "U0STRANGER"  # shows Alice's e-mail, which Slack has not confirmed
ENTRIES = ["web", "rasa"]  # through the web app's relay / straight to Rasa's channel


@pytest.fixture(scope="module")
def platforms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PlatformFakes]:
    fakes = PlatformFakes(tmp_path_factory.mktemp("platforms"), app_id=APP_ID,
                          app_password=APP_PASSWORD, tenant_id=TENANT_ID,
                          slack_bot_token=SLACK_BOT_TOKEN).start()
    fakes.slack_users.update({
        # No e-mail (the app lacks users:read.email, or the profile hides it): the row decides.
        BEN_SLACK: {"id": BEN_SLACK, "deleted": False, "is_bot": False, "profile": {}},
        FATIMA_SLACK: {"id": FATIMA_SLACK, "team_id": SLACK_TEAM_ID, "deleted": False,
                       "is_bot": False,
                       "is_email_confirmed": True,
                       "profile": {"email": "Fatima.Rahman@mpw.example.gov.uk"}},
        STRANGER_SLACK: {"id": STRANGER_SLACK, "team_id": SLACK_TEAM_ID, "deleted": False,
                         "is_bot": False,
                         "is_email_confirmed": False,
                         "profile": {"email": "alice.hughes@dds.example.gov.uk"}},
    })
    yield fakes
    fakes.stop()


def provision_identities(database_url: str) -> None:
    """The directory rows an administrator adds (docs/channels.md, step 8 / step 4)."""
    db = Database(database_url)
    try:
        with db.unit_of_work() as session:
            def employee(number: str) -> int:
                return session.scalar(select(Employee.id).where(
                    Employee.employee_number == number))

            session.add_all([
                ChannelIdentity(channel="msteams", tenant=TENANT_ID, subject=ALICE_OBJECT_ID,
                                employee_id=employee("E1001")),
                ChannelIdentity(channel="slack", tenant=SLACK_TEAM_ID, subject=BEN_SLACK,
                                employee_id=employee("E1002")),
            ])
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory,
          platforms: PlatformFakes) -> Iterator[StackProcess]:
    try:
        model = current_model()
    except FileNotFoundError as error:
        pytest.fail(str(error))
    running = StackProcess(tmp_path_factory.mktemp("stack"), model, extra_env={
        "TEAMS_APP_ID": APP_ID,
        "TEAMS_APP_PASSWORD": APP_PASSWORD,
        "TEAMS_TENANT_ID": TENANT_ID,
        "TEAMS_OPENID_METADATA_URL": platforms.metadata_url,
        "TEAMS_AUTHORITY_HOST": platforms.authority_host,
        "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
        "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
        "SLACK_TEAM_ID": SLACK_TEAM_ID,
        "SLACK_API_URL": platforms.slack_api_url,
        # Trust the fakes' throwaway CA (aiohttp: SSL_CERT_FILE; MSAL's requests: the bundle).
        "SSL_CERT_FILE": str(platforms.ca_file),
        "REQUESTS_CA_BUNDLE": str(platforms.ca_file),
    })
    running.setup_database()
    provision_identities(running.database_url)
    running.start()
    try:
        yield running
    finally:
        assert running.stop() == 0, "stack.py did not stop cleanly"


def expected_answer(stack: StackProcess, widget_subject: str) -> str:
    """The start of the employee's answer, computed from the database (as test_running_stack)."""
    db = Database(stack.database_url)
    try:
        answer = my_leave_balances(db, Principal("widget", DEMO_WIDGET_ISSUER, widget_subject),
                                   dt.date.today())
    finally:
        db.dispose()
    return f"You have {answer.balances[0].remaining.normalize():f} days of annual leave"


def base_url(stack: StackProcess, entry: str) -> str:
    return stack.web if entry == "web" else stack.rasa


# --- Teams ------------------------------------------------------------------------------------

def teams_activity(platforms: PlatformFakes, conversation: str, *, text: str = QUESTION,
                   activity_id: str | None = None) -> dict[str, Any]:
    return {
        "type": "message",
        "id": activity_id or f"activity-{uuid.uuid4().hex}",
        "timestamp": dt.datetime.now(dt.timezone.utc).isoformat(),
        "serviceUrl": platforms.service_url,
        "channelId": "msteams",
        "from": {"id": "29:1alice-teams-user-id", "name": "Alice Hughes",
                 "aadObjectId": ALICE_OBJECT_ID.upper()},  # Teams may send it in upper case
        "conversation": {"id": conversation, "conversationType": "personal",
                         "tenantId": TENANT_ID},
        "recipient": {"id": f"28:{APP_ID}", "name": "Helpdesk"},
        "text": text,
        "channelData": {"tenant": {"id": TENANT_ID}},
    }


def post_teams(stack: StackProcess, entry: str, token: str,
               activity: dict[str, Any]) -> requests.Response:
    return requests.post(f"{base_url(stack, entry)}/webhooks/msteams/webhook",
                         data=json.dumps(activity).encode(), timeout=30,
                         headers={"Authorization": f"Bearer {token}",
                                  "Content-Type": "application/json; charset=utf-8"})


def replies_to(platforms: PlatformFakes, conversation: str) -> list[dict[str, Any]]:
    return [c for c in platforms.connector.snapshot() if c["conversation"] == conversation]


def test_both_channels_are_configured_from_the_environment(stack: StackProcess) -> None:
    for channel in ("msteams", "slack"):
        assert requests.get(f"{stack.rasa}/webhooks/{channel}/",
                            timeout=10).json() == {"status": "ok"}


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_teams_question_gets_alices_balance_back_through_the_bot_connector(
        stack: StackProcess, platforms: PlatformFakes, entry: str) -> None:
    conversation = f"a:1alice-personal-{entry}-{uuid.uuid4().hex[:8]}"
    activity = teams_activity(platforms, conversation)
    response = post_teams(stack, entry, platforms.genuine_token, activity)
    assert response.status_code == 202, response.text

    reply = platforms.connector.wait_for(lambda c: c["conversation"] == conversation)
    assert reply["activity"]["text"].startswith(expected_answer(stack, "alice.hughes"))
    assert reply["activity"]["replyToId"] == activity["id"]
    # Sent to the activity's (verified) serviceUrl, with an app token from our own tenant.
    assert reply["path"].startswith("/connector/v3/conversations/")
    token = reply["authorization"].removeprefix("Bearer ")
    assert token in platforms.issued_tokens
    grant = next(r for r in platforms.token_requests.snapshot() if r["token"] == token)
    assert grant["tenant"] == TENANT_ID and grant["secret_ok"]
    assert grant["form"]["client_id"] == APP_ID
    assert grant["form"]["grant_type"] == "client_credentials"
    assert grant["form"]["scope"].split() == [BOT_FRAMEWORK_SCOPE]


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_forged_teams_request_is_refused_and_nothing_is_sent(
        stack: StackProcess, platforms: PlatformFakes, entry: str) -> None:
    conversation = f"a:1alice-forged-{entry}-{uuid.uuid4().hex[:8]}"
    before = platforms.outbound()
    forged = teams_activity(platforms, conversation)
    response = post_teams(stack, entry, platforms.forged_token, forged)
    assert response.status_code == 401
    # Refused before anything was started in the background: nothing can follow.
    assert platforms.outbound() == before
    # And a genuine message in the same conversation afterwards gets the only reply there.
    genuine = teams_activity(platforms, conversation)
    assert post_teams(stack, entry, platforms.genuine_token, genuine).status_code == 202
    platforms.connector.wait_for(lambda c: c["conversation"] == conversation)
    assert {r["activity"]["replyToId"] for r in replies_to(platforms, conversation)} == {
        genuine["id"]}


# --- Slack ------------------------------------------------------------------------------------

def slack_event(user: str, channel: str, *, text: str = QUESTION,
                thread_ts: str | None = None) -> dict[str, Any]:
    stamp = time.time_ns()
    event: dict[str, Any] = {"type": "message", "user": user, "text": text, "channel": channel,
                             "channel_type": "im", "team": SLACK_TEAM_ID,
                             "ts": f"{stamp // 10**9}.{stamp % 10**6:06d}",
                             "client_msg_id": str(uuid.uuid4())}
    if thread_ts:
        event["thread_ts"] = thread_ts
    return {"token": "unused-legacy-token", "team_id": SLACK_TEAM_ID, "api_app_id": "A0HELPDESK",
            "event": event, "type": "event_callback", "event_id": f"Ev{uuid.uuid4().hex[:16]}",
            "event_time": stamp // 10**9,
            "authorizations": [{"team_id": SLACK_TEAM_ID, "user_id": "U0HELPBOT",
                                "is_bot": True}]}


def post_slack(stack: StackProcess, entry: str, event: dict[str, Any],
               secret: str = SLACK_SIGNING_SECRET) -> requests.Response:
    body = json.dumps(event).encode()
    timestamp = str(int(time.time()))
    signature = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body,
                                 hashlib.sha256).hexdigest()
    return requests.post(f"{base_url(stack, entry)}/webhooks/slack/webhook", data=body,
                         timeout=10, headers={"Content-Type": "application/json",
                                              "X-Slack-Request-Timestamp": timestamp,
                                              "X-Slack-Signature": signature})


def dm_channel() -> str:
    return "D" + secrets.token_hex(5).upper()


def posted_to(platforms: PlatformFakes, channel: str) -> list[dict[str, Any]]:
    return [c["params"] for c in platforms.slack.snapshot()
            if c["method"] == "chat.postMessage" and c["params"].get("channel") == channel]


@pytest.mark.parametrize("entry", ENTRIES)
@pytest.mark.parametrize("user, widget_subject", [
    (BEN_SLACK, "ben.okafor"),  # the directory row
    (FATIMA_SLACK, "fatima.rahman"),  # Slack's confirmed e-mail
], ids=["identity-row", "confirmed-email"])
def test_a_slack_question_gets_the_senders_balance_back_through_chat_post_message(
        stack: StackProcess, platforms: PlatformFakes, entry: str, user: str,
        widget_subject: str) -> None:
    channel = dm_channel()
    response = post_slack(stack, entry, slack_event(user, channel, thread_ts="1700000000.000100"))
    assert response.status_code == 200, response.text

    call = platforms.slack.wait_for(lambda c: c["method"] == "chat.postMessage"
                                    and c["params"].get("channel") == channel)
    assert call["authorization"] == f"Bearer {SLACK_BOT_TOKEN}"
    assert call["params"]["text"].startswith(expected_answer(stack, widget_subject))
    assert call["params"]["thread_ts"] == "1700000000.000100"


def test_an_unconfirmed_slack_email_identifies_nobody(stack: StackProcess,
                                                      platforms: PlatformFakes) -> None:
    channel = dm_channel()
    assert post_slack(stack, "web", slack_event(STRANGER_SLACK, channel)).status_code == 200
    call = platforms.slack.wait_for(lambda c: c["method"] == "chat.postMessage"
                                    and c["params"].get("channel") == channel)
    assert call["params"]["text"].startswith("I can't match your sign-in to an employee record")
    assert not call["params"]["text"].startswith("You have")


@pytest.mark.parametrize("entry", ENTRIES)
def test_a_forged_slack_request_is_refused_and_nothing_is_sent(
        stack: StackProcess, platforms: PlatformFakes, entry: str) -> None:
    channel = dm_channel()
    before = platforms.outbound()
    forged = slack_event(BEN_SLACK, channel, thread_ts="1700000000.000666")
    response = post_slack(stack, entry, forged, secret=secrets.token_hex(16))
    assert response.status_code == 401
    assert platforms.outbound() == before
    genuine = slack_event(BEN_SLACK, channel, thread_ts="1700000000.000777")
    assert post_slack(stack, entry, genuine).status_code == 200
    platforms.slack.wait_for(lambda c: c["method"] == "chat.postMessage"
                             and c["params"].get("channel") == channel)
    assert {p["thread_ts"] for p in posted_to(platforms, channel)} == {"1700000000.000777"}


# --- what the processes wrote -----------------------------------------------------------------

def test_logs_hold_no_message_text_tokens_or_secrets(stack: StackProcess,
                                                     platforms: PlatformFakes) -> None:
    log = stack.log.read_text()
    assert "msteams.rejected status=401" in log and "slack.rejected status=401" in log
    for secret in (APP_PASSWORD, SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN,
                   platforms.genuine_token, platforms.forged_token, *platforms.issued_tokens,
                   "how much leave", "fatima.rahman@", "alice.hughes@"):
        assert secret not in log, f"{secret[:12]}... appears in the logs"
