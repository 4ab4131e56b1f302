"""The metrics of scripts/evaluate_nlu.py (pure functions; no Rasa needed)."""
from __future__ import annotations

from scripts.evaluate_nlu import decide, scores, threshold_curve


def test_decide_applies_threshold_and_ambiguity() -> None:
    ranking = [("pay_date", 0.5), ("payslip", 0.45)]
    assert decide(ranking, 0.4, 0.0) == "pay_date"
    assert decide(ranking, 0.6, 0.0) == "nlu_fallback"
    assert decide(ranking, 0.4, 0.1) == "nlu_fallback"
    assert decide([], 0.0, 0.0) == "nlu_fallback"


def test_scores_count_fallback_as_wrong_and_either_rejection_as_right() -> None:
    gold = ["pay_date", "pay_date", "payslip", "out_of_scope", "out_of_scope"]
    pred = ["pay_date", "nlu_fallback", "pay_date", "nlu_fallback", "payslip"]
    s = scores(gold, pred, ["pay_date", "payslip", "out_of_scope"])
    assert s["in_scope_accuracy"] == round(1 / 3, 4)
    assert s["in_scope_fallback_rate"] == round(1 / 3, 4)
    assert s["out_of_scope_recall"] == 0.5
    assert s["per_intent"]["out_of_scope"]["recall"] == 0.5
    assert s["top_confusions"][0]["count"] == 1


def test_threshold_curve_trades_acceptance_for_rejection() -> None:
    gold = ["pay_date", "out_of_scope"]
    rankings = [[("pay_date", 0.7)], [("payslip", 0.4)]]
    low, high = threshold_curve(gold, rankings, 0.0, [0.3, 0.5])
    assert (low["in_scope_accuracy"], low["out_of_scope_recall"]) == (1.0, 0.0)
    assert (high["in_scope_accuracy"], high["out_of_scope_recall"]) == (1.0, 1.0)
