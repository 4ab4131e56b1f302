"""Evaluate the NLU model (`make eval`): intents on three sets, entities on two, one command.

Run with the Rasa runtime's Python. Trains first unless the model is up to date
(scripts/train_if_stale.py, models/current.txt), loads the model once in-process, parses every
sentence and prints and writes (reports/nlu/results.json and plots):

- **headline sets**, never used to choose data, features or thresholds:
  our held-out set (tests/nlu/heldout.yml), the reporting half of the public CLINC150 dev set
  (../shared/eval/clinc150_dev.jsonl) and the independent set (tests/nlu/independent.yml,
  written by someone who saw only ../shared/intents.md). For these only counts are written:
  accuracy, macro-F1, fallback rate, out-of-scope recall, per-intent F1 and confusion counts,
  never a sentence, so that nobody tunes on them by reading their errors;
- **the tuning half** of CLINC dev, the only set the fallback threshold is chosen on
  (`--tune` prints the threshold that the rule in docs/nlu.md picks from its curve); its
  errors are listed in predictions_clinc150_tune.jsonl;
- **our intent development set** (tests/nlu/dev_intents.yml), written for the data work: its
  errors are listed in predictions_dev.jsonl;
- **entities**: precision and recall per entity (exact span and type; also any overlap of the
  same type; dates also by the days they mean, read by bot/records/dates.py as on a fixed day) on the labelled set tests/nlu/entities.yml (counts only) and on our development
  set tests/nlu/entities_dev.yml (with its misses, for working on the extractors).

Metrics: *in-scope accuracy* counts a fallback as wrong; *out-of-scope recall* counts
`out_of_scope` or `nlu_fallback` as a rejection; *macro-F1* is over the intents present in the
set (out-of-scope's F1 counts either rejection as right). The threshold curve is computed from
each parse's raw ranking (the intents below the FallbackClassifier's verdict), so one parse per
sentence gives every threshold. `--model PATH` evaluates another model (the pipeline comparison
in docs/nlu.md) without training. The CLINC halves are fixed by a hash of each sentence, taken
alternately within each expected label, so they stay the same from run to run.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import logging
import os
import re
import resource
import subprocess
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any, Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent
# The shared folder sits beside the checkout (CI lays it there); HELPDESK_SHARED_DIR overrides.
SHARED = Path(os.environ.get("HELPDESK_SHARED_DIR") or ROOT.parent / "shared")
DEFAULT_CLINC = SHARED / "eval" / "clinc150_dev.jsonl"
DEFAULT_INTENTS = SHARED / "intents.md"
NLU_TESTS = ROOT / "tests" / "nlu"
DEFAULT_HELDOUT = NLU_TESTS / "heldout.yml"
DEFAULT_INDEPENDENT = NLU_TESTS / "independent.yml"
DEFAULT_ENTITIES = NLU_TESTS / "entities.yml"
DEFAULT_ENTITIES_DEV = NLU_TESTS / "entities_dev.yml"
DEFAULT_DEV = NLU_TESTS / "dev_intents.yml"
DEFAULT_OUT = ROOT / "reports" / "nlu"

FALLBACK = "nlu_fallback"
OOS = "out_of_scope"
REJECTIONS = {FALLBACK, OOS}
THRESHOLDS = [round(0.02 * i, 2) for i in range(0, 50)]  # 0.00 .. 0.98
# The rule that picks the fallback threshold on the tuning half (docs/nlu.md): the threshold
# with the best in-scope accuracy among those whose out-of-scope recall is at least this; on a
# tie, the better out-of-scope recall, then the lower threshold.
TUNING_MIN_OOS_RECALL = 0.90
# Entities whose precision and recall are reported (the others are counted too).
REPORTED_ENTITIES = ("date", "amount", "ticket_reference", "po_number", "invoice_number",
                     "expense_reference")


# --- pure functions (no Rasa import), tested in tests/nlu ---------------------------------

def contract_intents(path: Path = DEFAULT_INTENTS) -> list[str]:
    """The intent names of intents.md (lines "- `name` — ...")."""
    names = re.findall(r"^- `([a-z_]+)`", path.read_text(encoding="utf-8"), flags=re.M)
    return list(dict.fromkeys(names))


def base_intent(name: str | None) -> str:
    return (name or FALLBACK).split("/", 1)[0]


def decide(ranking: Sequence[tuple[str, float]], threshold: float, ambiguity: float) -> str:
    """What a FallbackClassifier with these thresholds makes of a raw ranking."""
    if not ranking:
        return FALLBACK
    top, confidence = ranking[0]
    if confidence < threshold:
        return FALLBACK
    if len(ranking) > 1 and confidence - ranking[1][1] < ambiguity:
        return FALLBACK
    return top


def scores(gold: Sequence[str], predicted: Sequence[str], intents: Iterable[str]) -> dict[str, Any]:
    """In-scope accuracy, fallback rate, out-of-scope recall, macro-F1 and confusions."""
    intents = list(intents)
    pairs = list(zip(gold, predicted))
    in_scope = [(g, p) for g, p in pairs if g != OOS]
    out_scope = [(g, p) for g, p in pairs if g == OOS]
    result: dict[str, Any] = {
        "n": len(pairs), "n_in_scope": len(in_scope), "n_out_of_scope": len(out_scope),
        "in_scope_accuracy": _ratio(sum(g == p for g, p in in_scope), len(in_scope)),
        "in_scope_fallback_rate": _ratio(sum(p == FALLBACK for _, p in in_scope), len(in_scope)),
        "in_scope_rejected_rate": _ratio(sum(p in REJECTIONS for _, p in in_scope), len(in_scope)),
        "out_of_scope_recall": _ratio(sum(p in REJECTIONS for _, p in out_scope), len(out_scope)),
    }
    # F1 per intent: out_of_scope's true positives are rejections of either kind.
    norm = [(g, OOS if (g == OOS and p in REJECTIONS) else p) for g, p in pairs]
    per_intent = {}
    for intent in intents:
        if not any(g == intent for g, _ in norm):
            continue
        tp = sum(g == intent and p == intent for g, p in norm)
        fp = sum(g != intent and p == intent for g, p in norm)
        fn = sum(g == intent and p != intent for g, p in norm)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        per_intent[intent] = {"precision": round(precision, 4), "recall": round(recall, 4),
                              "f1": round(f1, 4), "support": tp + fn}
    result["macro_f1"] = round(sum(v["f1"] for v in per_intent.values()) / len(per_intent), 4) \
        if per_intent else None
    result["per_intent"] = per_intent
    confusions = Counter((g, p) for g, p in norm if g != p)
    result["top_confusions"] = [{"expected": g, "predicted": p, "count": n}
                                for (g, p), n in confusions.most_common(15)]
    return result


def threshold_curve(gold: Sequence[str], rankings: Sequence[Sequence[tuple[str, float]]],
                    ambiguity: float, thresholds: Iterable[float] = THRESHOLDS,
                    labels: Iterable[str] = ()) -> list[dict]:
    labels = list(labels)
    rows = []
    for t in thresholds:
        predicted = [decide(r, t, ambiguity) for r in rankings]
        s = scores(gold, predicted, labels)
        rows.append({"threshold": t, "ambiguity_threshold": ambiguity,
                     "in_scope_accuracy": s["in_scope_accuracy"],
                     "in_scope_fallback_rate": s["in_scope_fallback_rate"],
                     "out_of_scope_recall": s["out_of_scope_recall"],
                     "macro_f1": s["macro_f1"]})
    return rows


def _ratio(numerator: int, denominator: int) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def split_halves(items: Sequence[tuple[str, str]]) -> tuple[list[int], list[int]]:
    """Indices of the tuning and reporting halves: within each label, sentences ordered by a
    hash of their text go alternately to one half and the other."""
    by_label: dict[str, list[int]] = defaultdict(list)
    for index, (text, label) in enumerate(items):
        by_label[label].append(index)
    tune, report = [], []
    for label in sorted(by_label):
        ordered = sorted(by_label[label],
                         key=lambda i: hashlib.sha256(items[i][0].encode("utf-8")).hexdigest())
        tune += ordered[0::2]
        report += ordered[1::2]
    return sorted(tune), sorted(report)


def pick_threshold(curve: Sequence[dict], min_oos_recall: float = TUNING_MIN_OOS_RECALL) -> dict | None:
    """The curve row the tuning rule chooses (None when no threshold reaches the recall)."""
    eligible = [r for r in curve if (r["out_of_scope_recall"] or 0) >= min_oos_recall]
    if not eligible:
        return None
    return max(eligible, key=lambda r: (r["in_scope_accuracy"] or 0, r["out_of_scope_recall"] or 0,
                                        -r["threshold"]))


Span = tuple[int, int, str]


# Dates are also scored by what they mean: relative dates are read as on this fixed day, so that
# every run reads them alike (a Monday; bot/records/dates.py reads "next Friday" from "today").
VALUE_DAY = dt.date(2026, 12, 7)


def date_value(span: str, today: dt.date = VALUE_DAY) -> tuple[dt.date, dt.date] | None:
    """The first and last day a date span means to the assistant: what the extractor attaches
    to a date entity (`additional_info`), read by nlu_components/date_values.py on top of the
    leave and expense forms' own reader (bot/records/dates.py: future first, then past, then a
    month); None when neither can read it."""
    from nlu_components.date_values import read_date

    days = read_date(span, today)
    return (days[0], days[1]) if days else None


def entity_scores(gold: Sequence[Iterable[Span]], predicted: Sequence[Iterable[Span]],
                  entities: Iterable[str] = REPORTED_ENTITIES,
                  texts: Sequence[str] | None = None) -> dict[str, dict]:
    """Precision and recall per entity type, exact (same start, end and type) and by overlap
    (a predicted span of the type that overlaps a gold span of the type). With the sentences,
    dates also by value: a predicted date is right when it is the gold span, or overlaps a gold
    date that means the same days (`date_value`), so "the 3rd to the 7th" and "3rd to the 7th"
    agree while "Friday" for "Friday 14th" does not."""
    result = {}
    names = sorted(set(entities) | {e for spans in gold for *_, e in spans})
    for name in names:
        tp = fp = fn = overlap_tp_pred = overlap_tp_gold = n_pred = n_gold = 0
        value_tp_pred = value_tp_gold = 0
        for index, (g, p) in enumerate(zip(gold, predicted)):
            g = {s for s in g if s[2] == name}
            p = {s for s in p if s[2] == name}
            n_gold += len(g)
            n_pred += len(p)
            tp += len(g & p)
            fp += len(p - g)
            fn += len(g - p)
            overlap_tp_pred += sum(any(a < d and c < b for c, d, _ in g) for a, b, _ in p)
            overlap_tp_gold += sum(any(c < b and a < d for a, b, _ in p) for c, d, _ in g)
            if name == "date" and texts is not None:
                text = texts[index]

                def same(x: Span, y: Span) -> bool:
                    if x == y:
                        return True
                    if not (x[0] < y[1] and y[0] < x[1]):
                        return False
                    value = date_value(text[x[0]:x[1]])
                    return value is not None and value == date_value(text[y[0]:y[1]])

                value_tp_pred += sum(any(same(x, y) for y in g) for x in p)
                value_tp_gold += sum(any(same(x, y) for x in p) for y in g)
        result[name] = {"support": n_gold, "predicted": n_pred,
                        "precision": _ratio(tp, tp + fp), "recall": _ratio(tp, tp + fn),
                        "overlap_precision": _ratio(overlap_tp_pred, n_pred),
                        "overlap_recall": _ratio(overlap_tp_gold, n_gold)}
        if name == "date" and texts is not None:
            result[name]["value_precision"] = _ratio(value_tp_pred, n_pred)
            result[name]["value_recall"] = _ratio(value_tp_gold, n_gold)
    return result


# --- data ------------------------------------------------------------------------------------

def load_clinc(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [(row["text"], row["expected"]) for row in rows]


def load_nlu_yaml(path: Path) -> list[dict]:
    """Each example of a Rasa NLU YAML file: text, base intent, retrieval key, entity spans."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    return [{"text": m.get("text"), "intent": base_intent(m.get("intent")),
             "key": m.get("intent_response_key"),
             "entities": [(e["start"], e["end"], e["entity"]) for e in m.get("entities") or []]}
            for m in data.training_examples if m.get("text")]


# --- model -----------------------------------------------------------------------------------

def current_model(train: bool) -> Path:
    if train:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "train_if_stale.py")],
                       cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return ROOT / (ROOT / "models" / "current.txt").read_text().strip()


def fallback_settings(agent: Any) -> tuple[float, float]:
    """The FallbackClassifier thresholds inside the loaded model (defaults if it has none)."""
    threshold, ambiguity = 0.3, 0.1
    try:
        for node in agent.processor.graph_runner._graph_schema.nodes.values():
            if node.uses.__name__ == "FallbackClassifier":
                threshold = float(node.config.get("threshold", threshold))
                ambiguity = float(node.config.get("ambiguity_threshold", ambiguity))
    except AttributeError:  # private API changed: fall back to the defaults
        pass
    return threshold, ambiguity


async def parse_all(agent: Any, texts: Sequence[str]) -> tuple[list[dict], list[float]]:
    """Each parse and its wall time in ms (one message at a time, as a conversation sends them)."""
    parses, times = [], []
    for text in texts:
        started = time.perf_counter()
        parses.append(await agent.parse_message(text))
        times.append(1000 * (time.perf_counter() - started))
    return parses, times


def raw_ranking(parse: dict) -> list[tuple[str, float]]:
    ranking = [(base_intent(r["name"]), float(r["confidence"]))
               for r in parse.get("intent_ranking") or [] if r.get("name") != FALLBACK]
    if not ranking and parse.get("intent", {}).get("name") not in (None, FALLBACK):
        ranking = [(base_intent(parse["intent"]["name"]), float(parse["intent"]["confidence"]))]
    return ranking


def retrieval_key(parse: dict) -> str | None:
    selector = (parse.get("response_selector") or {}).get("policy_question") or {}
    return (selector.get("response") or {}).get("intent_response_key")


# --- plots -----------------------------------------------------------------------------------

def plot_confusion(gold: Sequence[str], predicted: Sequence[str], path: Path, title: str) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = sorted(set(gold))
    cols = rows + sorted(set(predicted) - set(rows))
    index_r = {n: i for i, n in enumerate(rows)}
    index_c = {n: i for i, n in enumerate(cols)}
    matrix = np.zeros((len(rows), len(cols)))
    for g, p in zip(gold, predicted):
        matrix[index_r[g], index_c[p]] += 1
    matrix = matrix / np.maximum(matrix.sum(axis=1, keepdims=True), 1)
    size = max(6, 0.28 * len(cols))
    fig, ax = plt.subplots(figsize=(size + 2, 0.28 * len(rows) + 2.5))
    image = ax.imshow(matrix, cmap="Blues", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=90, fontsize=7)
    ax.set_yticks(range(len(rows)), rows, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("expected")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, fraction=0.03, label="share of the expected intent")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_curve(curves: dict[str, list[dict]], chosen: float, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    for name, rows in curves.items():
        t = [r["threshold"] for r in rows]
        if rows[0]["out_of_scope_recall"] is not None:
            left.plot(t, [r["out_of_scope_recall"] for r in rows], label=f"{name}: out-of-scope recall")
            right.plot([r["out_of_scope_recall"] for r in rows], [r["in_scope_accuracy"] for r in rows],
                       marker=".", label=name)
        left.plot(t, [r["in_scope_accuracy"] for r in rows], linestyle="--",
                  label=f"{name}: in-scope accuracy")
    left.axvline(chosen, color="grey", linestyle=":", label=f"chosen threshold {chosen}")
    left.axhline(0.95, color="red", linewidth=0.6)
    left.axhline(0.88, color="orange", linewidth=0.6)
    left.set_xlabel("FallbackClassifier threshold")
    left.set_ylim(0, 1.01)
    left.legend(fontsize=7)
    left.set_title("Threshold curve (from raw top-intent confidences)")
    right.set_xlabel("out-of-scope recall")
    right.set_ylabel("in-scope accuracy")
    right.axhline(0.95, color="red", linewidth=0.6)
    right.axvline(0.88, color="orange", linewidth=0.6)
    right.legend(fontsize=7)
    right.set_title("Trade-off (one point per threshold)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --- main ------------------------------------------------------------------------------------

def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def summary_lines(name: str, s: dict) -> list[str]:
    lines = [f"{name}: {s['n']} sentences ({s['n_in_scope']} in scope, "
             f"{s['n_out_of_scope']} out of scope)",
             f"  in-scope accuracy      {pct(s['in_scope_accuracy'])}  (a fallback counts as wrong)",
             f"  macro-F1 (intents.md)  {s['macro_f1_contract']}",
             f"  macro-F1 (all intents) {s['macro_f1']}",
             f"  in-scope fallback rate {pct(s['in_scope_fallback_rate'])}",
             f"  out-of-scope recall    {pct(s['out_of_scope_recall'])}"]
    if s.get("policy_topic_accuracy") is not None:
        lines.append(f"  policy topic accuracy  {pct(s['policy_topic_accuracy'])}")
    lines.append("  top confusions (expected -> predicted, counts):")
    lines += [f"    {c['count']:3d}  {c['expected']} -> {c['predicted']}" for c in s["top_confusions"][:8]]
    return lines


def entity_lines(name: str, table: dict[str, dict]) -> list[str]:
    lines = [f"{name}: entity precision / recall, exact span (overlapping span)"]
    for entity, row in table.items():
        if not row["support"] and not row["predicted"]:
            continue
        lines.append(f"  {entity:18s} {pct(row['precision']):>6s} / {pct(row['recall']):>6s}   "
                     f"({pct(row['overlap_precision'])} / {pct(row['overlap_recall'])})  "
                     f"gold {row['support']}, predicted {row['predicted']}")
        if "value_precision" in row:
            lines.append(f"  {'  same dates':18s} {pct(row['value_precision']):>6s} / "
                         f"{pct(row['value_recall']):>6s}   (the span, or an overlapping one read "
                         f"as the same days, {VALUE_DAY} as today)")
        if row.get("with_value") is not None:
            lines.append(f"  {'  with days':18s} {pct(row['with_value']):>6s} of the predicted dates carry "
                         f"their first and last day (additional_info)")
    return lines


def intent_report(gold: list[str], parsed: list[dict], contract: list[str],
                  keys: Sequence[str | None] = ()) -> tuple[dict, list[str], list]:
    predicted = [base_intent(p["intent"].get("name")) for p in parsed]
    labels = sorted(set(gold) | (set(predicted) - {FALLBACK}))
    s = scores(gold, predicted, labels)
    contract_f1 = [v["f1"] for k, v in s["per_intent"].items() if k in contract]
    s["macro_f1_contract"] = round(sum(contract_f1) / len(contract_f1), 4) if contract_f1 else None
    rankings = [raw_ranking(p) for p in parsed]
    raw = scores(gold, [decide(r, 0.0, 0.0) for r in rankings], labels)
    s["without_fallback"] = {k: raw[k] for k in ("in_scope_accuracy", "out_of_scope_recall", "macro_f1")}
    pairs = [(k, retrieval_key(p)) for k, p in zip(keys, parsed) if k]
    if pairs and any(b for _, b in pairs):
        s["policy_topic_accuracy"] = _ratio(sum(a == b for a, b in pairs), len(pairs))
    return s, predicted, rankings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model archive (default: train if stale)")
    parser.add_argument("--heldout", type=Path, default=DEFAULT_HELDOUT)
    parser.add_argument("--independent", type=Path, default=DEFAULT_INDEPENDENT)
    parser.add_argument("--entities", type=Path, default=DEFAULT_ENTITIES)
    parser.add_argument("--entities-dev", type=Path, default=DEFAULT_ENTITIES_DEV)
    parser.add_argument("--dev", type=Path, default=DEFAULT_DEV)
    parser.add_argument("--clinc", type=Path, default=DEFAULT_CLINC)
    parser.add_argument("--intents", type=Path, default=DEFAULT_INTENTS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-train", action="store_true", help="use models/current.txt as it is")
    parser.add_argument("--tune", action="store_true",
                        help="print the threshold the tuning rule picks on the CLINC tuning half")
    args = parser.parse_args()

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    logging.basicConfig(level=logging.WARNING)
    model = args.model or current_model(train=not args.no_train)
    contract = contract_intents(args.intents)

    from rasa.core.agent import Agent
    from rasa.utils.common import configure_logging_and_warnings
    from rasa.utils.log_utils import configure_structlog

    configure_logging_and_warnings(logging.WARNING)
    configure_structlog(logging.WARNING)  # no debug line per parsed message

    started = time.monotonic()
    agent = Agent.load(str(model))
    load_seconds = time.monotonic() - started
    threshold, ambiguity = fallback_settings(agent)

    # (name, texts, gold intents, retrieval keys, sentences shown in reports?)
    intent_sets: list[tuple[str, list[str], list[str], list, bool]] = []
    heldout = load_nlu_yaml(args.heldout)
    intent_sets.append(("heldout", [e["text"] for e in heldout], [e["intent"] for e in heldout],
                        [e["key"] for e in heldout], False))
    if args.clinc.exists():
        clinc = load_clinc(args.clinc)
        tune, report = split_halves(clinc)
        for name, indices, shown in (("clinc150_tune", tune, True), ("clinc150_report", report, False),
                                     ("clinc150_dev", range(len(clinc)), False)):
            intent_sets.append((name, [clinc[i][0] for i in indices], [clinc[i][1] for i in indices],
                                [], shown))
    if args.independent.exists():
        independent = load_nlu_yaml(args.independent)
        intent_sets.append(("independent", [e["text"] for e in independent],
                            [e["intent"] for e in independent], [], False))
    if args.dev.exists():  # ours, for the data work: its errors are listed
        dev = load_nlu_yaml(args.dev)
        intent_sets.append(("dev", [e["text"] for e in dev], [e["intent"] for e in dev], [], True))
    entity_sets = [(name, load_nlu_yaml(path), shown) for name, path, shown in
                   (("entities", args.entities, False), ("entities_dev", args.entities_dev, True))
                   if path.exists()]

    unique = list(dict.fromkeys([t for _, texts, *_ in intent_sets for t in texts] +
                                [e["text"] for _, examples, _ in entity_sets for e in examples]))
    started = time.monotonic()
    parse_list, parse_ms = asyncio.run(parse_all(agent, unique))
    parse_seconds = time.monotonic() - started
    parses = dict(zip(unique, parse_list))
    parse_ms.sort()

    results: dict[str, Any] = {
        "model": str(model), "fallback_threshold": threshold, "ambiguity_threshold": ambiguity,
        "load_seconds": round(load_seconds, 1),
        "parse_ms_per_message": round(1000 * parse_seconds / max(len(unique), 1), 1),
        "parse_ms_p50": round(parse_ms[len(parse_ms) // 2], 1) if parse_ms else None,
        "parse_ms_p95": round(parse_ms[int(len(parse_ms) * 0.95)], 1) if parse_ms else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "load_average": round(os.getloadavg()[0], 2),
        "contract_intents": contract, "sets": {}, "threshold_curves": {}, "entities": {},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    for stale in args.out.glob("predictions_*.jsonl"):
        stale.unlink()  # an older run's file must not pass for this run's
    for name, texts, gold, keys, shown in intent_sets:
        parsed = [parses[t] for t in texts]
        s, predicted, rankings = intent_report(gold, parsed, contract, keys)
        contract_labels = [label for label in sorted(set(gold)) if label in contract]
        curves = {a: threshold_curve(gold, rankings, a, labels=contract_labels)
                  for a in sorted({0.0, 0.05, 0.1, ambiguity})}
        results["threshold_curves"][name] = curves
        if shown:
            s["errors"] = [{"text": t, "expected": g, "predicted": p}
                           for t, g, p in zip(texts, gold, predicted)
                           if g != p and not (g == OOS and p in REJECTIONS)]
            with (args.out / f"predictions_{name}.jsonl").open("w", encoding="utf-8") as handle:
                for text, g, p, r in zip(texts, gold, predicted, rankings):
                    handle.write(json.dumps({"text": text, "expected": g, "predicted": p,
                                             "ranking": [[n, round(c, 4)] for n, c in r[:3]]}) + "\n")
            plot_confusion([g for g in gold if g != OOS],
                           [p for g, p in zip(gold, predicted) if g != OOS],
                           args.out / f"confusion_{name}.png",
                           f"{name}: confusion (threshold {threshold}, ambiguity {ambiguity})")
        results["sets"][name] = s
        print("\n".join(summary_lines(name, s)))
        print()
    for name, examples, shown in entity_sets:
        gold = [e["entities"] for e in examples]
        predicted = [[(x["start"], x["end"], x["entity"]) for x in parses[e["text"]].get("entities") or []]
                     for e in examples]
        table = entity_scores(gold, predicted, texts=[e["text"] for e in examples])
        # What the assistant attaches: the share of its date entities that carry their days.
        dates = [x for e in examples for x in parses[e["text"]].get("entities") or []
                 if x.get("entity") == "date"]
        if "date" in table:
            table["date"]["with_value"] = _ratio(sum(bool(x.get("additional_info")) for x in dates),
                                                 len(dates))
        results["entities"][name] = table
        if shown:
            with (args.out / f"predictions_{name}.jsonl").open("w", encoding="utf-8") as handle:
                for e, p in zip(examples, predicted):
                    if set(e["entities"]) != set(p):
                        text = e["text"]
                        handle.write(json.dumps({"text": text,
                                                 "gold": [[text[a:b], n] for a, b, n in e["entities"]],
                                                 "predicted": [[text[a:b], n] for a, b, n in p]}) + "\n")
        print("\n".join(entity_lines(name, table)))
        print()

    if "clinc150_tune" in results["threshold_curves"]:
        chosen = pick_threshold(results["threshold_curves"]["clinc150_tune"][ambiguity])
        results["tuning"] = {"rule": f"best in-scope accuracy with out-of-scope recall >= "
                                     f"{TUNING_MIN_OOS_RECALL} on clinc150_tune (ambiguity {ambiguity})",
                             "chosen": chosen}
        if args.tune:
            print(f"tuning half, ambiguity {ambiguity}: the rule picks {chosen}")
            for row in results["threshold_curves"]["clinc150_tune"][ambiguity][:30]:
                print(f"  {row['threshold']:.2f}  in-scope {pct(row['in_scope_accuracy'])}  "
                      f"oos recall {pct(row['out_of_scope_recall'])}")
    plot_curve({name: curves[ambiguity] for name, curves in results["threshold_curves"].items()
                if name in ("clinc150_tune", "heldout")}, threshold, args.out / "threshold_curve.png")
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=list) + "\n")
    print(f"model {model} (threshold {threshold}, ambiguity {ambiguity}); parse p50 "
          f"{results['parse_ms_p50']} ms, peak RSS {results['peak_rss_mb']} MB, load average "
          f"{results['load_average']}; reports in "
          f"{args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
