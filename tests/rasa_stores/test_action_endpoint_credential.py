"""Rasa sends the action server's credential on every call (issue 21): endpoints.yml's
`action_endpoint.headers`, with ${ACTION_SERVER_TOKEN} expanded. Rasa expands environment
variables in plain YAML scalars only: a quoted "Bearer ${...}" reached the action server
literally, and every action call was refused."""
from __future__ import annotations

from pathlib import Path

import pytest
from rasa.utils.endpoints import read_endpoint_config

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT_VARIABLES = ("ACTION_ENDPOINT_URL", "TRACKER_STORE_URL", "LOCK_STORE_TYPE",
                      "LOCK_STORE_HOST", "LOCK_STORE_PORT", "LOCK_STORE_DB",
                      "LOCK_STORE_PASSWORD", "EVENT_BROKER_URL", "EVENT_BROKER_QUEUE",
                      "EVENT_BROKER_EXCHANGE")


def test_the_action_endpoint_sends_the_expanded_bearer_token(
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENDPOINT_VARIABLES:
        monkeypatch.setenv(name, "x")
    monkeypatch.setenv("ACTION_ENDPOINT_URL", "http://127.0.0.1:5055/webhook")
    monkeypatch.setenv("ACTION_SERVER_TOKEN", "token-from-the-environment")
    endpoint = read_endpoint_config(str(ROOT / "endpoints.yml"), "action_endpoint")
    assert endpoint.headers == {"Authorization": "Bearer token-from-the-environment"}
