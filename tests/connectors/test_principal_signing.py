"""The connectors' half of the principal proof: one fixed vector, checked on both runtimes
(tests/unit/test_principal_proof.py checks the action server's half against the same mac)."""
from __future__ import annotations

import pytest

from connectors.principal import principal_key, principal_metadata

VECTOR_MAC = "75e2602c1b34868a56731a83b2e81b5d86a7163ac01281cc1456426c28f7a670"


def test_the_fixed_vector() -> None:
    metadata = principal_metadata(b"k" * 32, "slack", "T0HELPDESK", "U0ALICE",
                                  sender_id="slack-abc", message_id="cm-1",
                                  text="  how much leave? \u00e9 ", email="alice@example.gov.uk",
                                  now=1700000000.7)
    assert metadata == {
        "principal": {"channel": "slack", "tenant": "T0HELPDESK", "subject": "U0ALICE",
                      "email": "alice@example.gov.uk"},
        "principal_proof": {"v": 1, "iat": 1700000000, "mac": VECTOR_MAC}}


def test_each_bound_part_changes_the_mac() -> None:
    base = dict(sender_id="slack-abc", message_id="cm-1", text="hello", now=1700000000)
    macs = {principal_metadata(b"k" * 32, "slack", "T0", "U0", **{**base, **change}
                               )["principal_proof"]["mac"]
            for change in ({}, {"sender_id": "slack-abd"}, {"message_id": "cm-2"},
                           {"text": "hello!"}, {"now": 1700000001})}
    assert len(macs) == 5


@pytest.mark.parametrize("value", [None, "", "short"])
def test_a_missing_or_short_key_is_refused(value: object) -> None:
    with pytest.raises(ValueError, match="HELPDESK_PRINCIPAL_KEY"):
        principal_key(value)  # type: ignore[arg-type]
