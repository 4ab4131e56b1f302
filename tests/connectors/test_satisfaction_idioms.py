"""The satisfaction question in each channel's own idiom, from the domain's one response:
an Adaptive Card with Action.Submit buttons in Teams, Block Kit buttons in Slack (the web
widget shows the same buttons); a click sends the rating payload back as the message."""
from __future__ import annotations

from pathlib import Path

import yaml

from connectors.slack_events import buttons_blocks
from connectors.teams_cards import buttons_content, message_text

ROOT = Path(__file__).resolve().parents[2]


def _question() -> dict:
    domain = yaml.safe_load((ROOT / "domain" / "satisfaction.yml").read_text(encoding="utf-8"))
    return domain["responses"]["utter_satisfaction_ask"][0]


def _payloads(question: dict) -> list[str]:
    # Rasa fills the response's template, turning the doubled braces into single ones.
    return [b["payload"].replace("{{", "{").replace("}}", "}") for b in question["buttons"]]


def test_teams_gets_an_adaptive_card_whose_buttons_send_the_rating() -> None:
    question = _question()
    buttons = [{"title": b["title"], "payload": p}
               for b, p in zip(question["buttons"], _payloads(question))]
    content = buttons_content(question["text"], buttons)
    card = content["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    actions = card["content"]["actions"]
    assert [a["type"] for a in actions] == ["Action.Submit"] * 5
    assert [a["title"] for a in actions] == ["5 Very good", "4 Good", "3 OK", "2 Poor",
                                            "1 Very poor"]
    clicked = {"type": "message", "value": actions[1]["data"]}
    assert message_text(clicked) == '/rate_service{"rating": "4"}'


def test_slack_gets_block_kit_buttons_with_the_rating_payload() -> None:
    question = _question()
    buttons = [{"title": b["title"], "payload": p}
               for b, p in zip(question["buttons"], _payloads(question))]
    blocks = buttons_blocks(question["text"], buttons)
    elements = [e for block in blocks if block["type"] == "actions" for e in block["elements"]]
    assert [e["type"] for e in elements] == ["button"] * 5
    assert [e["value"] for e in elements] == _payloads(question)
    assert elements[0]["text"]["text"] == "5 Very good"
