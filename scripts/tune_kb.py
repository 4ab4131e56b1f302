"""Choose the knowledge base's ranking settings and its "no article" rule on the TUNING set only.

    .venv/services/bin/python scripts/tune_kb.py [--articles knowledge/articles]

1. Ranking: with `--bm25-grid`, BM25's k1 and b and the synonyms' weight (BM25 alone); then the
   weight of the sentence encoder's cosine in the combined score (0 = BM25 alone), each by the
   share of covered questions of tests/knowledge/tuning.yml whose topic ranks first.
2. The rule: a logistic regression (ridge-regularised, fitted with Newton's method in numpy) of
   "the best topic is right" on the ranking's features (`KnowledgeIndex.features`: ln(1+best
   BM25 score), the best article's coverage of the question, its BM25 lead; with the encoder
   the best section's cosine and its lead in the combined score); uncovered questions (topic
   `none`) count as "not right". The bar `min_confidence` is the one that answers the most
   covered questions rightly while keeping "no article" for at least 82% of uncovered ones (a
   small margin over the 80% target), judged on 5-fold cross-validated predictions.

It prints the figures to put in `bot.knowledge.ranking.RankingSettings` and refuses to read
the held-out set.
"""
from __future__ import annotations

import argparse
import itertools
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.knowledge.embeddings import shared_embeddings  # noqa: E402
from bot.knowledge.ranking import LEXICAL, KnowledgeIndex, RankingSettings  # noqa: E402
from bot.knowledge.topics import NONE  # noqa: E402
from scripts.evaluate_kb import (  # noqa: E402
    DEFAULT_ARTICLES,
    DEFAULT_TUNING,
    Question,
    library_sections,
    load_questions,
)

NO_ARTICLE_RECALL = 0.82
RIDGE = 1.0


def features(index: KnowledgeIndex, questions: list[Question]) -> tuple[np.ndarray, np.ndarray]:
    """Each question's features, and whether its best-ranked topic is the right one."""
    rows, right = [], []
    width = 5 if index.semantic else 3
    for question in questions:
        candidates = index.rank(question.text).candidates
        rows.append(index.features(candidates) if candidates else [0.0] * width)
        right.append(question.topic != NONE and bool(candidates)
                     and candidates[0].topic == question.topic)
    return np.array(rows), np.array(right, dtype=float)


def unfitted(semantic_weight: float) -> tuple[float, ...]:
    """Zero decision weights of the right width (the rule is fitted after the ranking)."""
    return (0.0,) * (6 if semantic_weight else 4)


def ranked_first(index: KnowledgeIndex, covered: list[Question]) -> float:
    return sum(bool(c := index.rank(q.text).candidates) and c[0].topic == q.topic
               for q in covered) / len(covered)


def fit(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Logistic regression weights (features..., bias), ridge-regularised."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-xb @ w))
        hessian = xb.T @ (xb * (p * (1 - p))[:, None]) + RIDGE * np.eye(len(w))
        w -= np.linalg.solve(hessian, xb.T @ (p - y) + RIDGE * w)
    return w


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-(np.hstack([x, np.ones((len(x), 1))]) @ w)))


def outcome(p: np.ndarray, right: np.ndarray, covered: np.ndarray,
            bar: float) -> tuple[float, float]:
    """(top-1 answered rightly on covered questions, "no article" recall on uncovered)."""
    answered = p >= bar
    top1 = float(np.sum(answered & (right == 1) & covered) / max(covered.sum(), 1))
    recall = float(np.sum(~answered & ~covered) / max((~covered).sum(), 1))
    return top1, recall


def best_bar(p: np.ndarray, right: np.ndarray, covered: np.ndarray) -> tuple[float, float, float]:
    choices = [(outcome(p, right, covered, bar), bar) for bar in np.linspace(0.05, 0.95, 91)]
    (top1, recall), bar = max(choices, key=lambda c: (c[0][1] >= NO_ARTICLE_RECALL, c[0][0]))
    return float(bar), top1, recall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, default=DEFAULT_ARTICLES)
    parser.add_argument("--tuning", type=Path, default=DEFAULT_TUNING)
    parser.add_argument("--bm25-grid", action="store_true",
                        help="also search BM25's k1, b and synonym weight (27 indexes)")
    args = parser.parse_args()
    if "heldout" in args.tuning.name:
        raise SystemExit("never tune on the held-out set")
    sections = library_sections(args.articles)
    questions = load_questions(args.tuning)
    covered_questions = [q for q in questions if q.topic != NONE]

    chosen = replace(RankingSettings(), decision_weights=LEXICAL.decision_weights)
    if args.bm25_grid:
        ranked = []
        for k1, b, synonyms in itertools.product([0.9, 1.2, 1.5], [0.3, 0.5, 0.75],
                                                 [0.3, 0.5, 0.8]):
            settings = replace(LEXICAL, k1=k1, b=b, synonym_weight=synonyms)
            ranked.append((ranked_first(KnowledgeIndex(sections, settings), covered_questions),
                           settings))
        ranked.sort(key=lambda r: -r[0])
        for share, settings in ranked[:5]:
            print(f"ranked first {share:.3f}: k1={settings.k1} b={settings.b} "
                  f"synonym_weight={settings.synonym_weight}")
        best = ranked[0][1]
        chosen = replace(chosen, k1=best.k1, b=best.b, synonym_weight=best.synonym_weight)

    embeddings = shared_embeddings()
    shares = []
    for weight in (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8):
        settings = replace(chosen, semantic_weight=weight,
                           decision_weights=unfitted(weight))
        index = KnowledgeIndex(sections, settings, embeddings if weight else None)
        shares.append((ranked_first(index, covered_questions), weight))
        print(f"semantic_weight {weight}: ranked first {shares[-1][0]:.3f}")
    weight = max(shares)[1]
    chosen = replace(chosen, semantic_weight=weight, decision_weights=unfitted(weight))
    index = KnowledgeIndex(sections, chosen, embeddings if weight else None)

    x, right = features(index, questions)
    covered = np.array([q.topic != NONE for q in questions])
    folds = np.random.default_rng(0).permutation(len(x))
    cross = np.zeros(len(x))
    for k in range(5):
        test = folds[k::5]
        cross[test] = predict(fit(x[np.setdiff1d(folds, test)], right[np.setdiff1d(folds, test)]),
                              x[test])
    bar, top1, recall = best_bar(cross, right, covered)
    weights = fit(x, right)
    print(f"cross-validated: top-1 {top1:.3f}, 'no article' recall {recall:.3f} at {bar:.2f}")
    print(f"all tuning questions: top-1 / recall {outcome(predict(weights, x), right, covered, bar)}")
    final = replace(chosen, decision_weights=tuple(round(float(w), 2) for w in weights),
                    min_confidence=round(bar, 2))
    print(f"RankingSettings: {final}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
