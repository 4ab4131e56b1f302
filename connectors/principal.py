"""The verified principal a connector attaches to every user message's metadata, signed.

Actions read identity only from here; `bot.identity.Principal.from_metadata` is the reader and
`bot.principal_proof.verify` the checker. The connector signs what it verified, so metadata
carried through Rasa, its tracker store and the action call cannot be made up or moved:

    metadata = {"principal": {"channel", "tenant", "subject"[, "email"]},
                "principal_proof": {"v": 1, "iat": <unix seconds>, "mac": <hex>}}
    mac = HMAC-SHA256(HELPDESK_PRINCIPAL_KEY, json([1, channel, tenant, subject, email or "",
                      sender_id, message_id, sha256(text), iat]))   (compact, ASCII-escaped)

bound to the conversation (sender id), the message (its id and the SHA-256 of its text, as
Rasa stores it: stripped) and the time it was issued. The key is held by Rasa and the action
server only (docs/security.md); an HMAC costs microseconds a message, where a public-key
signature per message would cost a verification of its own.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any, Dict, Optional, Text

PROOF_VERSION = 1
MIN_KEY_LENGTH = 32


def principal_key(value: Optional[Text]) -> bytes:
    """The signing key from configuration; refuses a missing or short one."""
    if not value or len(value) < MIN_KEY_LENGTH:
        raise ValueError(f"principal_key (HELPDESK_PRINCIPAL_KEY) must be at least "
                         f"{MIN_KEY_LENGTH} characters")
    return value.encode("utf-8")


def new_message_id() -> Text:
    """An id for a message whose platform gave none: the proof binds every message to one."""
    return uuid.uuid4().hex


def proof_payload(principal: Dict[Text, Any], sender_id: Text, message_id: Text, text: Text,
                  issued_at: int) -> bytes:
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    fields = [PROOF_VERSION, principal["channel"], principal["tenant"], principal["subject"],
              principal.get("email") or "", sender_id, message_id, digest, issued_at]
    return json.dumps(fields, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def principal_metadata(key: bytes, channel: Text, tenant: Text, subject: Text, *,
                       sender_id: Text, message_id: Text, text: Text,
                       email: Optional[Text] = None, now: Optional[float] = None
                       ) -> Dict[Text, Any]:
    """The signed principal for one message (`text` as Rasa will store it: stripped)."""
    principal: Dict[Text, Any] = {"channel": channel, "tenant": tenant, "subject": subject}
    if email:
        principal["email"] = email
    issued_at = int(time.time() if now is None else now)
    mac = hmac.new(key, proof_payload(principal, sender_id, message_id, text.strip(), issued_at),
                   hashlib.sha256).hexdigest()
    return {"principal": principal,
            "principal_proof": {"v": PROOF_VERSION, "iat": issued_at, "mac": mac}}


def conversation_id(channel: Text, tenant: Text, subject: Text) -> Text:
    """A stable sender id derived from the verified principal, opaque in logs and URLs."""
    digest = hashlib.sha256(f"{channel}\n{tenant}\n{subject}".encode()).hexdigest()
    return f"{channel}-{digest[:32]}"
