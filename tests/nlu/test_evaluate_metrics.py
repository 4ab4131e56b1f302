"""The metrics of scripts/evaluate_nlu.py (pure functions; no Rasa needed)."""
from __future__ import annotations

from scripts.evaluate_nlu import decide, entity_scores, pick_threshold, scores, split_halves, threshold_curve


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


def test_clinc_halves_are_stable_stratified_and_disjoint() -> None:
    items = [(f"sentence {i}", "out_of_scope" if i % 3 else "pay_date") for i in range(30)]
    tune, report = split_halves(items)
    assert set(tune).isdisjoint(report) and sorted(tune + report) == list(range(30))
    assert sum(items[i][1] == "pay_date" for i in tune) == 5
    assert split_halves(list(reversed(items)))[0] == sorted(29 - i for i in tune)


def test_pick_threshold_takes_the_best_accuracy_that_keeps_the_rejection() -> None:
    curve = [{"threshold": 0.0, "in_scope_accuracy": 0.97, "out_of_scope_recall": 0.85},
             {"threshold": 0.2, "in_scope_accuracy": 0.96, "out_of_scope_recall": 0.90},
             {"threshold": 0.3, "in_scope_accuracy": 0.96, "out_of_scope_recall": 0.92},
             {"threshold": 0.5, "in_scope_accuracy": 0.93, "out_of_scope_recall": 0.95}]
    assert pick_threshold(curve, 0.90)["threshold"] == 0.3
    assert pick_threshold(curve, 0.99) is None


def test_entity_scores_exact_and_overlapping_spans() -> None:
    gold = [[(0, 5, "date"), (10, 16, "amount")], [(3, 9, "po_number")]]
    predicted = [[(0, 5, "date"), (9, 16, "amount"), (20, 22, "date")], []]
    table = entity_scores(gold, predicted)
    assert table["date"] == {"support": 1, "predicted": 2, "precision": 0.5, "recall": 1.0,
                             "overlap_precision": 0.5, "overlap_recall": 1.0}
    assert (table["amount"]["precision"], table["amount"]["overlap_recall"]) == (0.0, 1.0)
    assert (table["po_number"]["recall"], table["po_number"]["precision"]) == (0.0, None)


def test_dates_are_also_scored_by_the_days_they_mean() -> None:
    text = "off the 3rd to the 7th of March, and Friday 18th too"
    start = text.index("the 3rd")
    friday = text.index("Friday")
    gold = [[(start, text.index(" of March") + len(" of March"), "date"),
             (friday, len(text) - len(" too"), "date")]]
    # our span leaves out "the"; the second misses the day number: same days / other days
    predicted = [[(start + 4, text.index(" of March") + len(" of March"), "date"),
                  (friday, friday + len("Friday"), "date")]]
    row = entity_scores(gold, predicted, texts=[text])["date"]
    assert (row["precision"], row["recall"]) == (0.0, 0.0)
    assert (row["overlap_precision"], row["overlap_recall"]) == (1.0, 1.0)
    assert (row["value_precision"], row["value_recall"]) == (0.5, 0.5)


def test_date_value_reads_the_forms_of_the_leave_form() -> None:
    import datetime as dt

    from scripts.evaluate_nlu import date_value

    monday = dt.date(2026, 12, 7)
    assert date_value("next Friday", monday) == (dt.date(2026, 12, 11),) * 2
    assert date_value("the 3rd to the 7th", monday) == date_value("3rd to the 7th", monday) \
        == (dt.date(2027, 1, 3), dt.date(2027, 1, 7))
    assert date_value("w/c 12 Jan", monday) == (dt.date(2027, 1, 12), dt.date(2027, 1, 15))
    assert date_value("yesterday", monday) == (dt.date(2026, 12, 6),) * 2
    # what the extractor attaches beyond the forms' reader (nlu_components/date_values.py)
    assert date_value("this month", monday) == (dt.date(2026, 12, 1), dt.date(2026, 12, 31))
    assert date_value("Christmas Eve", monday) == (dt.date(2026, 12, 24),) * 2
    assert date_value("Christmas holidays", monday) is None
