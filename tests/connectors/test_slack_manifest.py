"""The Slack app manifest asks for exactly what the channel uses, and points at the channel."""
from __future__ import annotations

from pathlib import Path

import yaml

from connectors.slack import CHANNEL

MANIFEST = Path(__file__).resolve().parents[2] / "apps" / "slack" / "manifest.yml"


def manifest() -> dict:
    return yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))


def test_the_events_and_scopes_are_the_ones_the_channel_needs() -> None:
    settings, oauth = manifest()["settings"], manifest()["oauth_config"]
    assert sorted(settings["event_subscriptions"]["bot_events"]) == ["app_mention", "message.im"]
    assert sorted(oauth["scopes"]["bot"]) == sorted([
        "app_mentions:read", "chat:write", "im:history", "users:read", "users:read.email"])
    assert "user" not in oauth["scopes"]  # no user-token scopes at all


def test_events_and_button_clicks_go_to_the_verifying_endpoint() -> None:
    settings = manifest()["settings"]
    events = settings["event_subscriptions"]["request_url"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["interactivity"]["request_url"] == events
    assert events.startswith("https://") and events.endswith(f"/webhooks/{CHANNEL}/webhook")
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False


def test_the_app_home_offers_its_messages_tab() -> None:
    features = manifest()["features"]
    assert features["app_home"]["messages_tab_enabled"] is True
    assert features["app_home"]["messages_tab_read_only_enabled"] is False
    info = manifest()["display_information"]
    assert len(info["description"]) <= 140 and 175 <= len(info["long_description"]) <= 4000
