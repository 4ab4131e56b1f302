"""Which custom payloads are a message's metadata (connectors/message_metadata.py)."""
from __future__ import annotations

import pytest

from connectors.message_metadata import message_metadata

GOOD = {"event_type": "knowledge_answer", "event_payload": {"topic": "sick_pay"}}


def test_a_text_with_a_metadata_only_payload_has_metadata() -> None:
    assert message_metadata({"text": "hi", "custom": {"metadata": GOOD}}) == GOOD


@pytest.mark.parametrize("message", [
    {"custom": {"metadata": GOOD}},  # nothing to ride on
    {"text": "hi"},
    {"text": "hi", "custom": {"metadata": GOOD, "summary": {}}},  # a card: sent as it is
    {"text": "hi", "custom": {"metadata": {"event_type": "Knowledge Answer",
                                           "event_payload": {}}}},
    {"text": "hi", "custom": {"metadata": {"event_type": "x", "event_payload": []}}},
    {"text": "hi", "custom": {"metadata": {"event_type": "x", "event_payload": {}, "y": 1}}},
    {"text": "hi", "custom": "metadata"},
])
def test_anything_else_is_not(message: dict) -> None:
    assert message_metadata(message) is None
