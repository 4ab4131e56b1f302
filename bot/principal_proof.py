"""Checking the principal a connector signed (the other half of `connectors/principal.py`).

The connector signs the principal it verified, bound to the conversation (sender id), the
message (its id and the SHA-256 of its text) and the time it was issued, with an HMAC key that
only Rasa and the action server hold. The action server checks it before any action runs
(`actions/server.py`), so a tracker made up by anyone else on the backend network, or a signed
message moved into another conversation, onto another message or kept past its age, names
nobody. The two halves share the payload's definition; `tests/unit/test_principal_proof.py` and
`tests/connectors/test_principal_signing.py` check one fixed vector on both runtimes.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from typing import Any

from .identity import Principal

PROOF_VERSION = 1
CLOCK_SKEW_SECONDS = 30
# A message's actions run within seconds of it; Rasa gives an action call up to 300 s.
DEFAULT_MAX_AGE_SECONDS = 600
MAX_FIELD_LENGTH = 512


class ProofRefused(Exception):
    """The call's principal is missing, unsigned, forged, moved or too old (reason: for audit)."""


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_FIELD_LENGTH * 8:
        raise ProofRefused(f"{name} missing")
    return value


def proof_payload(principal: Mapping[str, Any], sender_id: str, message_id: str, text: str,
                  issued_at: int) -> bytes:
    digest = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    fields = [PROOF_VERSION, principal["channel"], principal["tenant"], principal["subject"],
              principal.get("email") or "", sender_id, message_id, digest, issued_at]
    return json.dumps(fields, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def verify(tracker: Any, key: bytes, *, now: float, max_age: float | None) -> Principal:
    """The principal of the tracker's latest user message, if its proof holds.

    `tracker` is the action call's tracker (JSON). `max_age` None: any age (deliveries to the
    conversation's owner on an old message, see docs/security.md).
    """
    if not isinstance(tracker, Mapping):
        raise ProofRefused("no tracker")
    sender_id = _text(tracker.get("sender_id"), "sender id")
    latest = tracker.get("latest_message")
    metadata = latest.get("metadata") if isinstance(latest, Mapping) else None
    if not isinstance(metadata, Mapping) or "principal" not in metadata:
        raise ProofRefused("no principal")
    raw, proof = metadata.get("principal"), metadata.get("principal_proof")
    principal = Principal.from_metadata(metadata)
    if principal is None or not isinstance(raw, Mapping):
        raise ProofRefused("malformed principal")
    if not isinstance(proof, Mapping):
        raise ProofRefused("unsigned principal")
    issued_at, mac = proof.get("iat"), proof.get("mac")
    if proof.get("v") != PROOF_VERSION or isinstance(issued_at, bool) \
            or not isinstance(issued_at, int) or not isinstance(mac, str) or len(mac) != 64:
        raise ProofRefused("malformed proof")
    email = raw.get("email")
    if email is not None and not isinstance(email, str):
        raise ProofRefused("malformed principal")
    payload = proof_payload(raw, sender_id, _text(latest.get("message_id"), "message id"),
                            _text(latest.get("text"), "text"), issued_at)
    expected = hmac.new(key, payload, hashlib.sha256).hexdigest().encode("ascii")
    if not hmac.compare_digest(expected, mac.encode("utf-8", "surrogatepass")):
        raise ProofRefused("signature does not match this principal, conversation and message")
    if not math.isfinite(now) or issued_at > now + CLOCK_SKEW_SECONDS:
        raise ProofRefused("issued in the future")
    if max_age is not None and now - issued_at > max_age:
        raise ProofRefused("expired principal")
    return principal
