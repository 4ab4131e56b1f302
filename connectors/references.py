"""Where to send a message to a conversation that is not answering a live request.

Agent replies and notifications reach Rasa through its HTTP API with `output_channel=latest`;
Rasa then calls `InputChannel.get_output_channel()` with no arguments, and the output channel
gets only the conversation's sender id. A channel therefore remembers, for each sender id, the
reference it saw on the user's latest *verified* message (Teams: serviceUrl + conversation id;
Slack: channel + thread). Only the verification path writes references, so a proactive reply
can only go where a verified platform request came from.
"""
from __future__ import annotations

import json
import logging
from typing import Any, Dict, Optional, Text

from .dedup import SharedStore

logger = logging.getLogger(__name__)

REFERENCE_TTL_SECONDS = 14 * 24 * 3600  # an agent may answer a query days later


class ConversationReferences:
    def __init__(self, store: SharedStore, channel: Text,
                 ttl_seconds: int = REFERENCE_TTL_SECONDS) -> None:
        self._store = store
        self._channel = channel
        self._ttl = ttl_seconds

    def _key(self, sender_id: Text) -> Text:
        return f"ref:{self._channel}:{sender_id}"

    async def remember(self, sender_id: Text, reference: Dict[Text, Any]) -> None:
        await self._store.put(self._key(sender_id), json.dumps(reference), self._ttl)

    async def recall(self, sender_id: Text) -> Optional[Dict[Text, Any]]:
        raw = await self._store.get(self._key(sender_id))
        if raw is None:
            return None
        try:
            value = json.loads(raw)
        except ValueError:
            logger.warning("%s.reference.corrupt", self._channel)
            return None
        return value if isinstance(value, dict) else None
