"""Pure translations between Bot Framework activities and neutral messages (no I/O here).

Inbound: a verified message activity becomes a `TeamsMessage` (text, who, where to reply).
Outbound: text, buttons, summaries and images become message activities; buttons and
summaries are Adaptive Cards (https://adaptivecards.io), whose Action.Submit buttons use the
Teams `messageBack` form, so a click shows the button title in the chat and sends its payload.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Mapping, Optional, Sequence, Text

from .teams_auth import InvalidActivity, VerifiedActivity

ADAPTIVE_CARD = "application/vnd.microsoft.card.adaptive"
ADAPTIVE_CARD_VERSION = "1.4"
MAX_TEXT_LENGTH = 2000
MAX_BUTTONS = 6  # Teams shows at most six card actions without an overflow menu
MENTION = re.compile(r"<at>[^<]{0,200}</at>")
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


@dataclass(frozen=True)
class TeamsMessage:
    """A user's message, with what is needed to answer it and no more."""

    text: Text  # empty when the activity held no readable text
    activity_id: Optional[Text]
    user_object_id: Optional[Text]  # Azure AD object id, lower case; None if absent/malformed
    conversation_type: Text
    reference: Dict[Text, Any]


def _str(value: Any, limit: int = 512) -> Optional[Text]:
    return value if isinstance(value, str) and 0 < len(value) <= limit else None


def conversation_reference(verified: VerifiedActivity) -> Dict[Text, Any]:
    """Where replies go: only from a verified activity (its serviceUrl was checked)."""
    activity = verified.activity
    conversation = activity.get("conversation")
    bot, user = activity.get("recipient"), activity.get("from")
    if not isinstance(conversation, dict) or not _str(conversation.get("id")):
        raise InvalidActivity("activity has no conversation id")
    if not isinstance(bot, dict) or not _str(bot.get("id")):
        raise InvalidActivity("activity has no recipient")
    if not isinstance(user, dict) or not _str(user.get("id")):
        raise InvalidActivity("activity has no sender")
    return {
        "serviceUrl": verified.service_url,
        "conversationId": conversation["id"],
        "tenantId": verified.tenant_id,
        "bot": {"id": bot["id"], "name": _str(bot.get("name"), 200) or ""},
        "user": {"id": user["id"]},
    }


def message_text(activity: Mapping[Text, Any]) -> Text:
    """The user's words: typed text without @mentions, or a card button's payload."""
    text = activity.get("text")
    if isinstance(text, str) and text.strip():
        return MENTION.sub(" ", text).strip()
    value = activity.get("value")  # an Action.Submit without messageBack text
    if isinstance(value, dict) and isinstance(value.get("payload"), str):
        return value["payload"].strip()
    return ""


def parse_message(verified: VerifiedActivity) -> Optional[TeamsMessage]:
    """A message activity as a `TeamsMessage`; None for other activity types."""
    activity = verified.activity
    if activity.get("type") != "message":
        return None
    reference = conversation_reference(verified)
    conversation = activity["conversation"]
    object_id = activity["from"].get("aadObjectId")
    return TeamsMessage(
        text=message_text(activity),
        activity_id=_str(activity.get("id"), 256),
        user_object_id=object_id.lower() if isinstance(object_id, str)
        and GUID.match(object_id) else None,
        # Absent means unknown, and unknown is treated as shared: records only in "personal".
        conversation_type=_str(conversation.get("conversationType"), 64) or "unknown",
        reference=reference,
    )


def message_activity(reference: Mapping[Text, Any], **content: Any) -> Dict[Text, Any]:
    activity: Dict[Text, Any] = {
        "type": "message",
        "from": dict(reference["bot"]),
        "recipient": dict(reference["user"]),
        "conversation": {"id": reference["conversationId"]},
    }
    activity.update(content)
    return activity


def text_content(text: Text) -> Dict[Text, Any]:
    return {"text": text, "textFormat": "markdown"}


def adaptive_card(body: List[Dict[Text, Any]],
                  actions: Sequence[Dict[Text, Any]] = ()) -> Dict[Text, Any]:
    content: Dict[Text, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": ADAPTIVE_CARD_VERSION,
        "body": body,
    }
    if actions:
        content["actions"] = list(actions)
    return {"attachments": [{"contentType": ADAPTIVE_CARD, "content": content}]}


def button_action(button: Mapping[Text, Any]) -> Dict[Text, Any]:
    title = str(button.get("title") or button.get("payload") or "")[:80]
    payload = str(button.get("payload") or title)[:MAX_TEXT_LENGTH]
    return {
        "type": "Action.Submit",
        "title": title,
        "data": {"msteams": {"type": "messageBack", "displayText": title, "text": payload},
                 "payload": payload},
    }


def buttons_content(text: Text, buttons: Sequence[Mapping[Text, Any]]) -> Dict[Text, Any]:
    return adaptive_card([{"type": "TextBlock", "text": text, "wrap": True}],
                         [button_action(b) for b in buttons[:MAX_BUTTONS]])


def summary_content(summary: Mapping[Text, Any]) -> Dict[Text, Any]:
    """A ticket or leave summary: {"title": ..., "facts": [{"title", "value"}], "text": ...}."""
    body: List[Dict[Text, Any]] = []
    if summary.get("title"):
        body.append({"type": "TextBlock", "text": str(summary["title"]), "weight": "Bolder",
                     "size": "Medium", "wrap": True})
    if summary.get("text"):
        body.append({"type": "TextBlock", "text": str(summary["text"]), "wrap": True})
    facts = [{"title": str(f.get("title", "")), "value": str(f.get("value", ""))}
             for f in summary.get("facts") or [] if isinstance(f, Mapping)]
    if facts:
        body.append({"type": "FactSet", "facts": facts})
    buttons = [b for b in summary.get("buttons") or [] if isinstance(b, Mapping)]
    return adaptive_card(body, [button_action(b) for b in buttons[:MAX_BUTTONS]])


def image_content(url: Text) -> Dict[Text, Any]:
    return adaptive_card([{"type": "Image", "url": url, "altText": "image"}])


def custom_content(message: Mapping[Text, Any]) -> Optional[Dict[Text, Any]]:
    """A custom bot message: {"summary": {...}} or {"adaptive_card": <card content>}."""
    if isinstance(message.get("summary"), Mapping):
        return summary_content(message["summary"])
    card = message.get("adaptive_card")
    if isinstance(card, Mapping) and card.get("type") == "AdaptiveCard":
        return {"attachments": [{"contentType": ADAPTIVE_CARD, "content": dict(card)}]}
    return None
