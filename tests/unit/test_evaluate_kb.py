"""scripts/evaluate_kb.py's arithmetic: top-1 (answered rightly), top-3, "no article"."""
from __future__ import annotations

from dataclasses import replace

import datetime as dt
from pathlib import Path

import pytest

from bot.knowledge.ranking import LEXICAL, IndexedSection, KnowledgeIndex
from scripts.evaluate_kb import Question, load_questions, score


def section(article_id: int, topic: str, text: str) -> IndexedSection:
    return IndexedSection(article_id, topic, 1, topic, topic, 1, topic, text, frozenset(),
                          dt.date(2026, 1, 1))


INDEX = KnowledgeIndex([section(1, "sick_pay", "sick pay is full pay then half pay"),
                        section(2, "overtime", "overtime is paid at time and a half"),
                        section(3, "mileage_rates", "mileage is 45p a mile for cars")],
                       replace(LEXICAL, min_confidence=0.05))


def test_the_metrics_of_a_small_set() -> None:
    result = score(INDEX, [
        Question("how much sick pay", "sick_pay"),  # right
        Question("overtime rate", "mileage_rates"),  # wrong first, not in the top 3 either
        Question("can I bring my dog", "none"),  # rightly "no article"
        Question("mileage for cars", "none"),  # answered, though labelled uncovered
    ])
    assert (result["covered"], result["uncovered"]) == (2, 2)
    assert result["top1"] == 0.5 and result["top1_ranked"] == 0.5
    assert result["no_article_recall"] == 0.5 and result["no_article_precision"] == 1.0
    assert [d["answered"] for d in result["details"]] == [
        "sick_pay", "overtime", "none", "mileage_rates"]


def test_a_question_file_needs_text_and_topic(tmp_path: Path) -> None:
    good = tmp_path / "good.yml"
    good.write_text('questions:\n  - {text: "how long is paternity leave", topic: paternity}\n')
    assert load_questions(good) == [Question("how long is paternity leave", "paternity")]
    bad = tmp_path / "bad.yml"
    bad.write_text("questions:\n  - {text: no topic}\n")
    with pytest.raises(SystemExit, match="needs `text` and `topic`"):
        load_questions(bad)
