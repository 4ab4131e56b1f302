"""Pure translations between Bot Framework activities and neutral messages."""
from __future__ import annotations

from typing import Any, Dict

import pytest

from connectors.teams_auth import InvalidActivity, VerifiedActivity
from connectors.teams_cards import (
    ADAPTIVE_CARD,
    MAX_BUTTONS,
    buttons_content,
    custom_content,
    message_activity,
    message_text,
    parse_message,
    summary_content,
)
from connectors.teams_client import activities_url

from . import fakes

SERVICE_URL = "https://smba.trafficmanager.net/uk/"


def verified(**kwargs: Any) -> VerifiedActivity:
    return VerifiedActivity(fakes.activity(SERVICE_URL, **kwargs), SERVICE_URL, "msteams",
                            fakes.TENANT_ID)


def test_a_message_activity_becomes_a_neutral_message() -> None:
    message = parse_message(verified(text="<at>Helpdesk</at> how much leave?",
                                     activity_id="1700000000000",
                                     object_id=fakes.USER_OBJECT_ID.upper()))
    assert message.text == "how much leave?"
    assert message.activity_id == "1700000000000"
    assert message.user_object_id == fakes.USER_OBJECT_ID  # lower case, as the directory keeps it
    assert message.conversation_type == "personal"
    assert message.reference == {
        "serviceUrl": SERVICE_URL,
        "conversationId": "a:1personal-chat-with-alice",
        "tenantId": fakes.TENANT_ID,
        "bot": {"id": f"28:{fakes.APP_ID}", "name": "Helpdesk"},
        "user": {"id": "29:1alice-teams-user-id"},
    }


@pytest.mark.parametrize("kind", ["conversationUpdate", "typing", "invoke", "messageReaction"])
def test_other_activity_types_are_not_messages(kind: str) -> None:
    assert parse_message(verified(kind=kind)) is None


@pytest.mark.parametrize("object_id", [None, "", "not-a-guid", "12345", 7])
def test_a_missing_or_malformed_object_id_gives_no_subject(object_id: Any) -> None:
    assert parse_message(verified(object_id=object_id)).user_object_id is None


@pytest.mark.parametrize("field", ["conversation", "recipient", "from"])
def test_an_activity_without_its_parties_is_invalid(field: str) -> None:
    activity = verified()
    del activity.activity[field]
    with pytest.raises(InvalidActivity):
        parse_message(activity)


@pytest.mark.parametrize("activity, text", [
    ({"text": "  hello  "}, "hello"),
    ({"text": "<at>Helpdesk</at>"}, ""),
    ({"text": "", "value": {"payload": "/affirm"}}, "/affirm"),
    ({"value": {"payload": 5}}, ""),
    ({}, ""),
])
def test_message_text(activity: Dict[str, Any], text: str) -> None:
    assert message_text(activity) == text


def test_buttons_are_an_adaptive_card_with_message_back_actions() -> None:
    content = buttons_content("Book it?", [{"title": "Yes", "payload": "/affirm"},
                                           {"title": "No", "payload": "/deny"}])
    [attachment] = content["attachments"]
    assert attachment["contentType"] == ADAPTIVE_CARD
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    assert card["body"] == [{"type": "TextBlock", "text": "Book it?", "wrap": True}]
    assert card["actions"][0] == {
        "type": "Action.Submit", "title": "Yes",
        "data": {"msteams": {"type": "messageBack", "displayText": "Yes", "text": "/affirm"},
                 "payload": "/affirm"},
    }


def test_at_most_six_buttons_are_shown() -> None:
    buttons = [{"title": str(i), "payload": str(i)} for i in range(10)]
    card = buttons_content("pick", buttons)["attachments"][0]["content"]
    assert len(card["actions"]) == MAX_BUTTONS


def test_a_summary_is_a_fact_set_card() -> None:
    card = summary_content({"title": "Leave booked", "text": "Enjoy!",
                            "facts": [{"title": "From", "value": "1 May"},
                                      {"title": "Days", "value": 3}, "junk"]})
    body = card["attachments"][0]["content"]["body"]
    assert body[0]["text"] == "Leave booked" and body[0]["weight"] == "Bolder"
    assert body[1]["text"] == "Enjoy!"
    assert body[2] == {"type": "FactSet", "facts": [{"title": "From", "value": "1 May"},
                                                     {"title": "Days", "value": "3"}]}


def test_custom_messages_are_summaries_or_adaptive_cards_only() -> None:
    assert custom_content({"summary": {"title": "T"}})["attachments"][0]["contentType"] == \
        ADAPTIVE_CARD
    card = {"type": "AdaptiveCard", "version": "1.4", "body": []}
    assert custom_content({"adaptive_card": card})["attachments"][0]["content"] == card
    assert custom_content({"adaptive_card": {"type": "HeroCard"}}) is None
    assert custom_content({"channel": "elsewhere", "text": "x"}) is None


def test_replies_go_to_the_referenced_conversation_from_the_bot() -> None:
    reference = parse_message(verified()).reference
    activity = message_activity(reference, text="hi")
    assert activity == {"type": "message", "from": reference["bot"],
                        "recipient": reference["user"],
                        "conversation": {"id": "a:1personal-chat-with-alice"}, "text": "hi"}


@pytest.mark.parametrize("service_url", ["https://smba.trafficmanager.net/uk/",
                                         "https://smba.trafficmanager.net/uk"])
def test_the_activities_url_quotes_the_conversation_id(service_url: str) -> None:
    assert activities_url(service_url, "19:abc@thread.v2/../x") == (
        "https://smba.trafficmanager.net/uk/v3/conversations/"
        "19%3Aabc%40thread.v2%2F..%2Fx/activities")
