"""Slack request verification and pure translations of Slack payloads (no I/O here).

Verification follows Slack's "Verifying requests from Slack": HMAC-SHA256 of
`v0:<X-Slack-Request-Timestamp>:<raw body>` with the app's signing secret, compared in constant
time with `X-Slack-Signature`, and the timestamp within five minutes of our clock. slack-sdk's
`SignatureVerifier` does the computation; this module first makes sure its inputs are well
formed, because it raises (a 500 in Rasa's stock channel) on a non-numeric timestamp or a body
that is not UTF-8. Every failure is `SlackUnauthenticated` (HTTP 401).
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Dict, FrozenSet, List, Mapping, Optional, Sequence, Text
from urllib.parse import parse_qs

from slack_sdk.signature import SignatureVerifier

TIMESTAMP = re.compile(r"^[0-9]{1,12}$")  # ASCII digits only: int() would also take "1_0", "١٢"
SIGNATURE = re.compile(r"^v0=[0-9a-f]{64}$")
SLACK_ID = re.compile(r"^[A-Z0-9][A-Z0-9_-]{0,63}$")
SLACK_TS = re.compile(r"^[0-9]{1,12}(\.[0-9]{1,9})?$")
MAX_TEXT_LENGTH = 2000
MAX_BUTTONS = 25  # Block Kit: at most 25 elements in an actions block
BUTTON_TEXT_LENGTH = 75
BUTTON_VALUE_LENGTH = 2000


class SlackUnauthenticated(Exception):
    """Not a request signed by Slack for us, or not a fresh one (HTTP 401)."""


class InvalidPayload(Exception):
    """A signed request whose body we cannot read (HTTP 400)."""


def verify_request(verifier: SignatureVerifier, body: bytes, timestamp: Optional[Text],
                   signature: Optional[Text]) -> None:
    """Raise unless Slack signed exactly these bytes, less than five minutes ago."""
    if timestamp is None or signature is None:
        raise SlackUnauthenticated("missing signature headers")
    if not TIMESTAMP.match(timestamp):
        raise SlackUnauthenticated("malformed timestamp")
    if not SIGNATURE.match(signature):
        raise SlackUnauthenticated("malformed signature")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise SlackUnauthenticated("body is not UTF-8") from error
    if not verifier.is_valid(body=body, timestamp=timestamp, signature=signature):
        raise SlackUnauthenticated("signature mismatch or stale timestamp")


@dataclass(frozen=True)
class SlackMessage:
    """A user's message or button click, with what is needed to answer it."""

    kind: Text  # "dm" (direct message / app home), "mention" (in a channel), "action" (button)
    team_id: Text
    user_id: Text
    channel_id: Text
    text: Text
    thread_ts: Optional[Text]  # reply in this thread; None for a top-level message
    dedup_keys: Sequence[Text]
    message_id: Optional[Text]


def _id(value: Any) -> Optional[Text]:
    return value if isinstance(value, str) and SLACK_ID.match(value) else None


def _ts(value: Any) -> Optional[Text]:
    return value if isinstance(value, str) and SLACK_TS.match(value) else None


def parse_body(body: bytes, content_type: Optional[Text]) -> Dict[Text, Any]:
    """Events API JSON, or an interactivity form whose `payload` field is JSON."""
    kind = (content_type or "").split(";")[0].strip().lower()
    try:
        if kind == "application/x-www-form-urlencoded":
            fields = parse_qs(body.decode("utf-8"), strict_parsing=False, max_num_fields=20)
            raw = (fields.get("payload") or [None])[0]
            if raw is None:
                raise InvalidPayload("form without payload")
            payload = json.loads(raw)
        else:
            payload = json.loads(body)
    except (ValueError, RecursionError) as error:  # not JSON or UTF-8, or nested too deep
        raise InvalidPayload("body is not JSON") from error
    if not isinstance(payload, dict):
        raise InvalidPayload("payload is not an object")
    return payload


def url_verification_challenge(payload: Mapping[Text, Any]) -> Optional[Text]:
    if payload.get("type") != "url_verification":
        return None
    challenge = payload.get("challenge")
    if not isinstance(challenge, str) or not 0 < len(challenge) <= 256:
        raise InvalidPayload("bad challenge")
    return challenge


def bot_user_ids(payload: Mapping[Text, Any]) -> FrozenSet[Text]:
    """Our own bot user, as Slack names it in the event's authorizations."""
    found = set()
    for authorization in payload.get("authorizations") or []:
        if isinstance(authorization, dict) and authorization.get("is_bot"):
            user = _id(authorization.get("user_id"))
            if user:
                found.add(user)
    return frozenset(found)


def clean_text(text: Text, own_ids: FrozenSet[Text]) -> Text:
    """Drop mentions of the bot; turn Slack's <url|label> and <mailto:x|x> into their labels."""
    for user in own_ids:
        text = text.replace(f"<@{user}>", " ")
    text = re.sub(r"<(?:https?://|mailto:)[^|>]{0,2000}\|([^>]{0,2000})>", r"\1", text)
    return re.sub(r"[ \t]+", " ", text).strip()


def message_from_event(payload: Mapping[Text, Any]) -> Optional[SlackMessage]:
    """An `event_callback` as a user message; None for anything we do not answer.

    Ignored: bot messages (ours included), edits, deletions and other subtypes, events
    without a user, and message events outside direct messages (the app's Messages tab).
    """
    if payload.get("type") != "event_callback":
        return None
    event = payload.get("event")
    if not isinstance(event, dict):
        raise InvalidPayload("event_callback without event")
    event_type = event.get("type")
    if event_type not in ("message", "app_mention"):
        return None
    own = bot_user_ids(payload)
    user = _id(event.get("user"))
    if event.get("bot_id") or event.get("subtype") or user is None or user in own:
        return None
    if event_type == "message" and event.get("channel_type") != "im":
        return None
    team = _id(payload.get("team_id")) or _id(event.get("team"))
    channel = _id(event.get("channel"))
    text = event.get("text")
    if team is None or channel is None or not isinstance(text, str):
        return None
    keys = []
    event_id = payload.get("event_id")
    if isinstance(event_id, str) and event_id:
        keys.append(f"event:{event_id[:128]}")
    client_msg_id = event.get("client_msg_id")
    if isinstance(client_msg_id, str) and client_msg_id:
        keys.append(f"msg:{client_msg_id[:128]}")
    return SlackMessage(
        kind="dm" if event_type == "message" else "mention",
        team_id=team,
        user_id=user,
        channel_id=channel,
        text=clean_text(text, own),
        # A mention in a channel is answered in a thread under it, to keep the channel quiet.
        thread_ts=_ts(event.get("thread_ts")) or (
            _ts(event.get("ts")) if event_type == "app_mention" else None),
        dedup_keys=tuple(keys),
        message_id=client_msg_id[:128] if isinstance(client_msg_id, str) and client_msg_id
        else _ts(event.get("ts")),
    )


def message_from_interaction(payload: Mapping[Text, Any]) -> Optional[SlackMessage]:
    """A Block Kit button click (`block_actions`) as the button's payload text."""
    if payload.get("type") != "block_actions":
        return None
    actions = payload.get("actions")
    if not isinstance(actions, list) or not actions or not isinstance(actions[0], dict):
        return None
    action = actions[0]
    value = action.get("value")
    if action.get("type") != "button" or not isinstance(value, str) or not value:
        return None
    user, team, channel = payload.get("user"), payload.get("team"), payload.get("channel")
    user_id = _id(user.get("id")) if isinstance(user, dict) else None
    team_id = (_id(team.get("id")) if isinstance(team, dict) else None) or (
        _id(user.get("team_id")) if isinstance(user, dict) else None)
    channel_id = _id(channel.get("id")) if isinstance(channel, dict) else None
    if user_id is None or team_id is None or channel_id is None:
        return None
    container = payload.get("container") if isinstance(payload.get("container"), dict) else {}
    message = payload.get("message") if isinstance(payload.get("message"), dict) else {}
    trigger = payload.get("trigger_id")
    keys = [f"action:{trigger[:128]}"] if isinstance(trigger, str) and trigger else []
    return SlackMessage(
        kind="action",
        team_id=team_id,
        user_id=user_id,
        channel_id=channel_id,
        text=value[:MAX_TEXT_LENGTH],
        thread_ts=_ts(container.get("thread_ts")) or _ts(message.get("thread_ts")),
        dedup_keys=tuple(keys),
        message_id=_ts(action.get("action_ts")),
    )


def text_section(text: Text) -> Dict[Text, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text[:3000]}}


def button_element(button: Mapping[Text, Any], index: int) -> Dict[Text, Any]:
    title = str(button.get("title") or button.get("payload") or "")
    payload = str(button.get("payload") or title)
    return {
        "type": "button",
        "action_id": f"helpdesk_button_{index}",
        "text": {"type": "plain_text", "text": title[:BUTTON_TEXT_LENGTH], "emoji": True},
        "value": payload[:BUTTON_VALUE_LENGTH],
    }


def buttons_blocks(text: Text, buttons: Sequence[Mapping[Text, Any]]) -> List[Dict[Text, Any]]:
    return [
        text_section(text),
        {"type": "actions",
         "elements": [button_element(b, i) for i, b in enumerate(buttons[:MAX_BUTTONS])]},
    ]


def summary_blocks(summary: Mapping[Text, Any]) -> List[Dict[Text, Any]]:
    """A ticket or leave summary: {"title": ..., "facts": [{"title", "value"}], "text": ...}."""
    blocks: List[Dict[Text, Any]] = []
    if summary.get("title"):
        blocks.append({"type": "header",
                       "text": {"type": "plain_text", "text": str(summary["title"])[:150]}})
    if summary.get("text"):
        blocks.append(text_section(str(summary["text"])))
    facts = [f for f in summary.get("facts") or [] if isinstance(f, Mapping)]
    if facts:
        blocks.append({"type": "section", "fields": [
            {"type": "mrkdwn", "text": f"*{f.get('title', '')}*\n{f.get('value', '')}"[:2000]}
            for f in facts[:10]]})
    buttons = [b for b in summary.get("buttons") or [] if isinstance(b, Mapping)]
    if buttons:
        blocks.append({"type": "actions",
                       "elements": [button_element(b, i) for i, b in enumerate(buttons[:25])]})
    return blocks


def image_blocks(url: Text) -> List[Dict[Text, Any]]:
    return [{"type": "image", "image_url": url, "alt_text": "image"}]


def custom_blocks(message: Mapping[Text, Any]) -> Optional[List[Dict[Text, Any]]]:
    """A custom bot message: {"summary": {...}} or {"blocks": [...]}."""
    if isinstance(message.get("summary"), Mapping):
        return summary_blocks(message["summary"])
    blocks = message.get("blocks")
    if isinstance(blocks, list) and all(isinstance(b, dict) for b in blocks):
        return list(blocks)
    return None


def fallback_text(message: Mapping[Text, Any]) -> Text:
    """Notification text for a blocks-only message (Slack asks for one)."""
    summary = message.get("summary")
    if isinstance(summary, Mapping) and summary.get("title"):
        return str(summary["title"])[:300]
    return str(message.get("text") or "New message")[:300]
