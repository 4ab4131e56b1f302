"""The action server's half of the principal proof (bot/principal_proof.py): the fixed vector
the connectors produce (tests/connectors/test_principal_signing.py), and each refusal."""
from __future__ import annotations

import copy
import hashlib
import hmac
from typing import Any

import pytest

from bot.identity import Principal
from bot.principal_proof import ProofRefused, proof_payload, verify

KEY = b"k" * 32
VECTOR_MAC = "75e2602c1b34868a56731a83b2e81b5d86a7163ac01281cc1456426c28f7a670"
NOW = 1700000100.0


def tracker() -> dict[str, Any]:
    return {"sender_id": "slack-abc", "latest_message": {
        "text": "how much leave? \u00e9", "message_id": "cm-1",
        "metadata": {"principal": {"channel": "slack", "tenant": "T0HELPDESK",
                                   "subject": "U0ALICE", "email": "alice@example.gov.uk"},
                     "principal_proof": {"v": 1, "iat": 1700000000, "mac": VECTOR_MAC}}}}


def test_the_connectors_vector_verifies() -> None:
    principal = verify(tracker(), KEY, now=NOW, max_age=600)
    assert principal == Principal("slack", "T0HELPDESK", "U0ALICE")
    assert principal.email == "alice@example.gov.uk"
    payload = proof_payload(tracker()["latest_message"]["metadata"]["principal"], "slack-abc",
                            "cm-1", "how much leave? \u00e9", 1700000000)
    assert hmac.new(KEY, payload, hashlib.sha256).hexdigest() == VECTOR_MAC


def changed(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    data = copy.deepcopy(tracker())
    target = data
    for key in path[:-1]:
        target = target[key]
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return data


MESSAGE = ("latest_message",)
META = MESSAGE + ("metadata",)


@pytest.mark.parametrize("data, reason", [
    (changed(("sender_id",), "slack-abd"), "signature does not match"),
    (changed(MESSAGE + ("text",), "how much leave?"), "signature does not match"),
    (changed(MESSAGE + ("message_id",), "cm-2"), "signature does not match"),
    (changed(META + ("principal", "subject"), "U0BOSS"), "signature does not match"),
    (changed(META + ("principal", "email"), "boss@example.gov.uk"), "signature does not match"),
    (changed(META + ("principal_proof", "iat"), 1700000001), "signature does not match"),
    (changed(META + ("principal_proof", "mac"), "0" * 64), "signature does not match"),
    (changed(META + ("principal_proof", "mac"), "\u00e9" * 64), "signature does not match"),
    (changed(META + ("principal_proof",), KeyError), "unsigned principal"),
    (changed(META + ("principal",), KeyError), "no principal"),
    (changed(META + ("principal", "channel"), "rest"), "malformed principal"),
    (changed(META + ("principal_proof", "v"), 2), "malformed proof"),
    (changed(META + ("principal_proof", "iat"), True), "malformed proof"),
    (changed(META + ("principal_proof", "iat"), 1.7e9), "malformed proof"),
    (changed(MESSAGE + ("message_id",), None), "message id missing"),
    (changed(("sender_id",), None), "sender id missing"),
    (changed(("latest_message",), None), "no principal"),
    ([], "no tracker"),
])
def test_each_broken_part_is_refused(data: Any, reason: str) -> None:
    with pytest.raises(ProofRefused, match=reason):
        verify(data, KEY, now=NOW, max_age=600)


def test_age_and_future() -> None:
    with pytest.raises(ProofRefused, match="expired"):
        verify(tracker(), KEY, now=1700000000 + 601, max_age=600)
    assert verify(tracker(), KEY, now=1700000000 + 10**7, max_age=None)  # deliveries
    with pytest.raises(ProofRefused, match="future"):
        verify(tracker(), KEY, now=1700000000 - 31, max_age=600)
    with pytest.raises(ProofRefused, match="signature"):
        verify(tracker(), b"x" * 32, now=NOW, max_age=600)
