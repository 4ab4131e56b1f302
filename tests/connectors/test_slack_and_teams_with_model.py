"""Teams and Slack in front of the trained model (rasa Agent, in process).

A genuine Teams activity and a genuine Slack event asking for the leave balance are verified,
understood by the real model, which calls `action_leave_balance` carrying the verified
principal; the answer comes back through the (fake) Bot Connector and Slack Web API. A card
button (Teams) and a Block Kit button (Slack) from the model's own `utter_help` (the balance, one
of its buttons) lead to the same action. Forged copies reach neither the model nor the action server.

The action server here is a stand-in (fakes.PlatformFakes._action): the real actions need the
services runtime (Python 3.12, SQLAlchemy 2), which cannot be imported into Rasa's. What the
real action makes of the principal is covered by the action and persistence tests there.
"""
from __future__ import annotations

import json
from typing import Any, Dict

import pytest

from connectors.principal import conversation_id

from . import fakes
from .conftest import ChannelServer
from .test_slack_channel import post as slack_post
from .test_slack_channel import post_interaction
from .test_slack_events import block_actions
from .test_teams_channel import post as teams_post

QUESTION = "how much annual leave do I have left?"
ALICE_SLACK = {"id": "U0ALICE", "team_id": fakes.SLACK_TEAM_ID, "deleted": False, "is_bot": False,
               "is_email_confirmed": True,
               "profile": {"email": "alice.hughes@dds.example.gov.uk"}}


@pytest.fixture
def live(with_model: ChannelServer) -> ChannelServer:
    with_model.platforms.slack_users["U0ALICE"] = dict(ALICE_SLACK)
    return with_model


def teams_activity(server: ChannelServer, text: str, **kwargs: Any) -> Dict[str, Any]:
    return fakes.activity(server.platforms.service_url, text=text, **kwargs)


def teams_token(server: ChannelServer, key: Any = None) -> str:
    return fakes.mint_token(key or server.platforms.keys.signing,
                            service_url=server.platforms.service_url)


def action_principal(call: Dict[str, Any]) -> Dict[str, Any]:
    return call["tracker"]["latest_message"]["metadata"]["principal"]


def test_a_teams_question_is_answered_with_the_verified_employees_balance(
        live: ChannelServer) -> None:
    conversation = "a:1alice-model-chat"
    assert teams_post(live, teams_token(live),
                      teams_activity(live, f"<at>Helpdesk</at> {QUESTION}",
                                     conversation=conversation))[0] == 202
    live.drain()
    [call] = live.platforms.actions.calls
    assert call["next_action"] == "action_leave_balance"
    assert call["sender_id"] == conversation_id("msteams", fakes.TENANT_ID, fakes.USER_OBJECT_ID)
    assert action_principal(call) == {"channel": "msteams", "tenant": fakes.TENANT_ID,
                                      "subject": fakes.USER_OBJECT_ID}
    [reply] = live.platforms.connector.calls
    assert reply["conversation"] == conversation
    assert reply["activity"]["text"] == f"Leave balance of msteams:{fakes.USER_OBJECT_ID}"


def test_a_slack_question_is_answered_with_the_verified_employees_balance(
        live: ChannelServer) -> None:
    assert slack_post(live, fakes.slack_event(text=QUESTION,
                                              thread_ts="1700000000.000500"))[0] == 200
    live.drain()
    [call] = live.platforms.actions.calls
    assert call["next_action"] == "action_leave_balance"
    assert call["sender_id"] == conversation_id("slack", fakes.SLACK_TEAM_ID, "U0ALICE")
    assert action_principal(call) == {"channel": "slack", "tenant": fakes.SLACK_TEAM_ID,
                                      "subject": "U0ALICE",
                                      "email": "alice.hughes@dds.example.gov.uk"}
    [reply] = [c["params"] for c in live.platforms.slack.calls
               if c["method"] == "chat.postMessage"]
    assert reply == {"channel": "D0ALICEDM", "text": "Leave balance of slack:U0ALICE",
                     "thread_ts": "1700000000.000500"}


def test_the_help_card_button_in_teams_leads_to_the_balance(live: ChannelServer) -> None:
    assert teams_post(live, teams_token(live), teams_activity(live, "help"))[0] == 202
    live.drain()
    [card] = [c["activity"]["attachments"][0]["content"] for c in live.platforms.connector.calls
              if c["activity"].get("attachments")]
    # what Teams sends back on a click; the help offers several, the balance among them
    [action] = [a for a in card["actions"] if a["data"]["msteams"]["text"] == "/leave_balance"]
    clicked = action["data"]["msteams"]["text"]
    assert len(card["actions"]) > 1
    live.platforms.clear()
    assert teams_post(live, teams_token(live),
                      teams_activity(live, clicked, value=action["data"]))[0] == 202
    live.drain()
    assert [c["next_action"] for c in live.platforms.actions.calls] == ["action_leave_balance"]


def test_the_help_button_in_slack_leads_to_the_balance(live: ChannelServer) -> None:
    assert slack_post(live, fakes.slack_event(text="help"))[0] == 200
    live.drain()
    [blocks] = [c["params"]["blocks"] for c in live.platforms.slack.calls
                if c["method"] == "chat.postMessage" and c["params"].get("blocks")]
    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks
    [button] = [b for b in blocks[1]["elements"] if b["value"] == "/leave_balance"]
    assert len(blocks[1]["elements"]) > 1
    live.platforms.clear()
    click = block_actions(actions=[{"type": "button", "action_id": button["action_id"],
                                    "value": button["value"], "action_ts": "1700000009.1"}],
                          trigger_id="trigger-model-help", container={"type": "message"})
    assert post_interaction(live, click)[0] == 200
    live.drain()
    assert [c["next_action"] for c in live.platforms.actions.calls] == ["action_leave_balance"]


def test_forged_questions_reach_neither_the_model_nor_the_actions(live: ChannelServer) -> None:
    forged = teams_token(live, key=live.platforms.keys.attacker)
    assert teams_post(live, forged, teams_activity(live, QUESTION))[0] == 401
    foreign = teams_activity(live, QUESTION, tenant=fakes.FOREIGN_TENANT_ID)
    assert teams_post(live, teams_token(live), foreign)[0] == 403
    body = json.dumps(fakes.slack_event(text=QUESTION)).encode()
    headers = fakes.slack_headers(body, secret="0" * 32)
    from .test_slack_channel import post_raw

    assert post_raw(live, body, headers)[0] == 401
    live.drain()
    assert live.agent.messages == []
    assert live.platforms.actions.calls == [] and live.platforms.outbound_calls() == 0
