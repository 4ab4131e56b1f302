"""Evaluate the NLU model on the held-out set and the CLINC dev set (`make eval`).

Run with the Rasa runtime's Python. Trains first unless the model is up to date
(scripts/train_if_stale.py, models/current.txt), loads the model once in-process, parses every
sentence, and prints and writes (reports/nlu/):

- in-scope accuracy (a fallback counts as wrong), macro-F1 over the intents of
  ../shared/intents.md, in-scope fallback rate, out-of-scope recall (`out_of_scope` or
  `nlu_fallback` count as a rejection) and the top confusions, for each evaluation set;
- results.json with all of it, plus the threshold curve;
- confusion_heldout.png, confusion_clinc150.png (in-scope rows), threshold_curve.png and
  predictions_{heldout,clinc150_dev}.jsonl (each sentence with its raw top-3 ranking).

The threshold curve is computed from the raw top intent confidence of each parse (the ranking
below the FallbackClassifier's verdict), so no retraining per threshold: a message is rejected
at threshold t when its top intent's confidence is below t, or when the top two are closer than
the ambiguity threshold. `--model PATH` evaluates another model (the pipeline comparison in
docs/nlu.md) without training.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, Iterable, Sequence

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CLINC = ROOT.parent / "shared" / "eval" / "clinc150_dev.jsonl"
DEFAULT_HELDOUT = ROOT / "tests" / "nlu" / "heldout.yml"
DEFAULT_INTENTS = ROOT.parent / "shared" / "intents.md"
DEFAULT_OUT = ROOT / "reports" / "nlu"

FALLBACK = "nlu_fallback"
OOS = "out_of_scope"
REJECTIONS = {FALLBACK, OOS}
THRESHOLDS = [round(0.02 * i, 2) for i in range(0, 50)]  # 0.00 .. 0.98


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


# --- data ------------------------------------------------------------------------------------

def load_clinc(path: Path) -> list[tuple[str, str]]:
    with path.open(encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    return [(row["text"], row["expected"]) for row in rows]


def load_heldout(path: Path) -> list[tuple[str, str, str | None]]:
    """(plain text, base intent, retrieval key or None) from a Rasa NLU YAML file."""
    from rasa.shared.nlu.training_data.loading import load_data

    data = load_data(str(path))
    items = []
    for message in data.intent_examples:
        intent = message.get("intent")
        key = message.get("intent_response_key")
        items.append((message.get("text"), base_intent(intent), key))
    return items


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


async def parse_all(agent: Any, texts: Sequence[str]) -> list[dict]:
    return [await agent.parse_message(text) for text in texts]


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
    left.axhline(0.90, color="red", linewidth=0.6)
    left.axhline(0.75, color="orange", linewidth=0.6)
    left.set_xlabel("FallbackClassifier threshold")
    left.set_ylim(0, 1.01)
    left.legend(fontsize=7)
    left.set_title("Threshold curve (from raw top-intent confidences)")
    right.set_xlabel("out-of-scope recall")
    right.set_ylabel("in-scope accuracy")
    right.axhline(0.90, color="red", linewidth=0.6)
    right.axvline(0.75, color="orange", linewidth=0.6)
    right.legend(fontsize=7)
    right.set_title("Trade-off (one point per threshold)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# --- main ------------------------------------------------------------------------------------

def summary_lines(name: str, s: dict) -> list[str]:
    def pct(value: float | None) -> str:
        return "n/a" if value is None else f"{100 * value:.1f}%"
    lines = [f"{name}: {s['n']} sentences ({s['n_in_scope']} in scope, "
             f"{s['n_out_of_scope']} out of scope)",
             f"  in-scope accuracy      {pct(s['in_scope_accuracy'])}  (a fallback counts as wrong)",
             f"  macro-F1 (intents.md)  {s['macro_f1_contract']}",
             f"  macro-F1 (all intents) {s['macro_f1']}",
             f"  in-scope fallback rate {pct(s['in_scope_fallback_rate'])}",
             f"  out-of-scope recall    {pct(s['out_of_scope_recall'])}"]
    if s.get("policy_topic_accuracy") is not None:
        lines.append(f"  policy topic accuracy  {pct(s['policy_topic_accuracy'])}")
    lines.append("  top confusions (expected -> predicted):")
    lines += [f"    {c['count']:3d}  {c['expected']} -> {c['predicted']}" for c in s["top_confusions"][:10]]
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="a model archive (default: train if stale)")
    parser.add_argument("--heldout", type=Path, default=DEFAULT_HELDOUT)
    parser.add_argument("--clinc", type=Path, default=DEFAULT_CLINC)
    parser.add_argument("--intents", type=Path, default=DEFAULT_INTENTS)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--no-train", action="store_true", help="use models/current.txt as it is")
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

    heldout = load_heldout(args.heldout)
    clinc = load_clinc(args.clinc) if args.clinc.exists() else []
    texts = [t for t, _, _ in heldout] + [t for t, _ in clinc]
    started = time.monotonic()
    parses = asyncio.run(parse_all(agent, texts))
    parse_seconds = time.monotonic() - started
    parsed_heldout, parsed_clinc = parses[:len(heldout)], parses[len(heldout):]

    results: dict[str, Any] = {
        "model": str(model), "fallback_threshold": threshold, "ambiguity_threshold": ambiguity,
        "load_seconds": round(load_seconds, 1),
        "parse_ms_per_message": round(1000 * parse_seconds / max(len(texts), 1), 1),
        "contract_intents": contract, "sets": {}, "threshold_curves": {},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    sets = {"heldout": ([g for _, g, _ in heldout], parsed_heldout),
            "clinc150_dev": ([g for _, g in clinc], parsed_clinc)}
    for name, (gold, parsed) in sets.items():
        if not gold:
            continue
        predicted = [base_intent(p["intent"].get("name")) for p in parsed]
        labels = sorted(set(gold) | (set(predicted) - {FALLBACK}))
        s = scores(gold, predicted, labels)
        contract_f1 = [v["f1"] for k, v in s["per_intent"].items() if k in contract]
        s["macro_f1_contract"] = round(sum(contract_f1) / len(contract_f1), 4) if contract_f1 else None
        rankings = [raw_ranking(p) for p in parsed]
        raw = scores(gold, [decide(r, 0.0, 0.0) for r in rankings], labels)
        s["without_fallback"] = {k: raw[k] for k in ("in_scope_accuracy", "out_of_scope_recall", "macro_f1")}
        if name == "heldout":
            keys = [(k, retrieval_key(p)) for (_, g, k), p in zip(heldout, parsed) if k]
            s["policy_topic_accuracy"] = _ratio(sum(a == b for a, b in keys), len(keys))
            s["errors"] = [{"text": t, "expected": g, "predicted": p}
                           for (t, g, _), p in zip(heldout, predicted) if g != p
                           and not (g == OOS and p in REJECTIONS)]
        else:
            s["errors_in_scope"] = [{"text": t, "expected": g, "predicted": p}
                                    for (t, g), p in zip(clinc, predicted) if g != OOS and g != p]
            s["accepted_out_of_scope"] = Counter(p for (_, g), p in zip(clinc, predicted)
                                                 if g == OOS and p not in REJECTIONS).most_common()
        results["sets"][name] = s
        contract_labels = [label for label in labels if label in contract]
        curves = {a: threshold_curve(gold, rankings, a, labels=contract_labels)
                  for a in sorted({0.0, 0.05, 0.1, ambiguity})}
        with (args.out / f"predictions_{name}.jsonl").open("w", encoding="utf-8") as handle:
            for text, g, p, r in zip((t for t, *_ in (heldout if name == "heldout" else clinc)),
                                     gold, predicted, rankings):
                handle.write(json.dumps({"text": text, "expected": g, "predicted": p,
                                         "ranking": [[n, round(c, 4)] for n, c in r[:3]]}) + "\n")
        results["threshold_curves"][name] = curves
        plot_confusion(gold if name == "heldout" else [g for g in gold if g != OOS],
                       predicted if name == "heldout" else
                       [p for g, p in zip(gold, predicted) if g != OOS],
                       args.out / f"confusion_{name.split('_')[0]}.png",
                       f"{name}: confusion matrix (threshold {threshold}, ambiguity {ambiguity})")
        print("\n".join(summary_lines(name, s)))
        print()

    plot_curve({name: curves[ambiguity] for name, curves in results["threshold_curves"].items()},
               threshold, args.out / "threshold_curve.png")
    (args.out / "results.json").write_text(json.dumps(results, indent=2, default=list) + "\n")
    print(f"model {model} (threshold {threshold}, ambiguity {ambiguity}); "
          f"reports in {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
