"""Policy questions are wired to the knowledge base (issue 19): the domain holds no policy
answer, `policy_question` predicts action_answer_policy, the "no article" reply offers a ticket
and a person, and no ResponseSelector is trained for policy topics (an answer comes from the
articles when the question is asked, so changing one needs no retraining)."""
from __future__ import annotations

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def load(path: str) -> dict:
    return yaml.safe_load((ROOT / path).read_text(encoding="utf-8")) or {}


def test_policy_question_is_answered_by_the_knowledge_base_action() -> None:
    rules = load("data/rules/policy.yml")["rules"]
    steps = [rule["steps"] for rule in rules]
    assert [{"intent": "policy_question"}, {"action": "action_answer_policy"}] in steps
    domain = load("domain/policy.yml")
    assert "action_answer_policy" in domain["actions"]
    assert set(domain["slots"]) == {"kb_topic", "kb_article_id"}
    assert all(slot["influence_conversation"] is False for slot in domain["slots"].values())


def test_no_policy_answer_is_written_into_the_domain() -> None:
    for path in sorted((ROOT / "domain").glob("*.yml")):
        responses = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("responses") or {}
        assert not [name for name in responses if name.startswith("utter_policy_question")], path
    for path in sorted((ROOT / "data").rglob("*.yml")):
        assert "utter_policy_question" not in path.read_text(encoding="utf-8"), path


def test_the_no_article_reply_offers_a_ticket_and_a_person() -> None:
    [reply] = load("domain/policy.yml")["responses"]["utter_kb_no_article"]
    assert "don't have an article" in reply["text"]
    assert {button["payload"] for button in reply["buttons"]} == {"/ticket_create",
                                                                  "/human_handoff"}


def test_no_response_selector_and_one_plain_intent() -> None:
    pipeline = load("config.yml")["pipeline"]
    assert "ResponseSelector" not in [component["name"] for component in pipeline]
    intents = {item["intent"] for item in load("data/nlu/policy.yml")["nlu"] if "intent" in item}
    assert intents == {"policy_question"}
