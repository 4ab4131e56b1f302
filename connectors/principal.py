"""The verified principal a connector attaches to every user message's metadata.

Actions read identity only from here; `bot.identity.Principal.from_metadata` is the reader.
"""
from __future__ import annotations

import hashlib
from typing import Any, Dict, Text


def principal_metadata(channel: Text, tenant: Text, subject: Text) -> Dict[Text, Any]:
    return {"principal": {"channel": channel, "tenant": tenant, "subject": subject}}


def conversation_id(channel: Text, tenant: Text, subject: Text) -> Text:
    """A stable sender id derived from the verified principal, opaque in logs and URLs."""
    digest = hashlib.sha256(f"{channel}\n{tenant}\n{subject}".encode()).hexdigest()
    return f"{channel}-{digest[:32]}"
