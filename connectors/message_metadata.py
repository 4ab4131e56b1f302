"""Machine-readable metadata that rides on a bot message in Teams and Slack.

An action may send, with a text (or a text with buttons), the custom payload
`{"metadata": {"event_type": "<name>", "event_payload": {...}}}` (Slack's message metadata
format, https://api.slack.com/metadata). It is not a message of its own: the channels attach it
to the activities the text becomes (Teams: the activity's `channelData.metadata`; Slack:
chat.postMessage's `metadata`), so that outside evaluations can read which article answered
(issue 19) without it showing to the employee. The web widget returns the custom payload in
its JSON reply as it is.
"""
from __future__ import annotations

import re
from typing import Any, Dict, Mapping, Optional, Text

EVENT_TYPE = re.compile(r"^[a-z0-9_]{1,100}$")  # Slack's rule for event_type names


def message_metadata(message: Mapping[Text, Any]) -> Optional[Dict[Text, Any]]:
    """The metadata of a bot message that has a text and a metadata-only custom payload."""
    custom = message.get("custom")
    if not message.get("text") or not isinstance(custom, Mapping) or set(custom) != {"metadata"}:
        return None
    metadata = custom["metadata"]
    if not (isinstance(metadata, Mapping) and set(metadata) == {"event_type", "event_payload"}
            and isinstance(metadata["event_type"], str)
            and EVENT_TYPE.match(metadata["event_type"])
            and isinstance(metadata["event_payload"], Mapping)):
        return None
    return {"event_type": metadata["event_type"], "event_payload": dict(metadata["event_payload"])}


def without_custom(message: Mapping[Text, Any]) -> Dict[Text, Any]:
    return {key: value for key, value in message.items() if key != "custom"}


class MetadataRidesAlong:
    """Mixin for an OutputChannel (put it first): while a message is sent, its metadata is in
    `self._metadata` for the channel to attach to what it posts; the custom payload that held
    it is not sent as a message of its own."""

    _metadata: Optional[Dict[Text, Any]] = None

    async def send_response(self, recipient_id: Text, message: Dict[Text, Any]) -> None:
        self._metadata = message_metadata(message)
        if self._metadata is not None:
            message = without_custom(message)
        try:
            await super().send_response(recipient_id, message)  # type: ignore[misc]
        finally:
            self._metadata = None
