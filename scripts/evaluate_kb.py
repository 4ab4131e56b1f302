"""Evaluate the knowledge base's answers (`make eval`, after the NLU evaluation).

Run with the services runtime's Python. Builds a throwaway SQLite database, imports the article
folder (knowledge/articles), and asks every question of each set through the assistant's own
decision (`bot.knowledge.answering.decide`, as an unidentified caller: general articles), then
prints and writes (reports/kb/results.json):

- top-1: the assistant answered, from an article of the right topic (a "no article" answer to a
  covered question counts as wrong);
- top-1 ranked and top-3: the right topic first / among the first three ranked topics, whether
  or not the assistant would answer;
- "no article": recall (uncovered questions, topic `none`, answered "no article") and precision
  (of all "no article" answers, the share that were uncovered).

The held-out set (tests/knowledge/heldout.yml) was written independently and is never used for
tuning: only its totals are printed. The tuning set (tests/knowledge/tuning.yml) is ours; its
misses are listed, since the ranking, thresholds and keywords were chosen on it.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from ruamel.yaml import YAML  # noqa: E402

from bot.knowledge.answering import decide  # noqa: E402
from bot.knowledge.embeddings import shared_embeddings  # noqa: E402
from bot.knowledge.index_cache import published_sections  # noqa: E402
from bot.knowledge.library import import_article_folder  # noqa: E402
from bot.knowledge.ranking import IndexedSection, KnowledgeIndex, RankingSettings  # noqa: E402
from bot.knowledge.topics import NONE, TOPICS  # noqa: E402
from bot.storage.database import Database  # noqa: E402
from bot.storage.migrate import upgrade  # noqa: E402

DEFAULT_ARTICLES = ROOT / "knowledge" / "articles"
DEFAULT_HELDOUT = ROOT / "tests" / "knowledge" / "heldout.yml"
DEFAULT_TUNING = ROOT / "tests" / "knowledge" / "tuning.yml"
DEFAULT_OUT = ROOT / "reports" / "kb"


@dataclass(frozen=True)
class Question:
    text: str
    topic: str


def load_questions(path: Path) -> list[Question]:
    """`questions: [{text: ..., topic: ...}]`; topic `none` for a question no article covers."""
    data = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8")) or {}
    items = data.get("questions") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise SystemExit(f"{path}: expected `questions:` with a list of {{text, topic}}")
    questions = []
    for item in items:
        if not (isinstance(item, dict) and isinstance(item.get("text"), str)
                and isinstance(item.get("topic"), str)):
            raise SystemExit(f"{path}: every question needs `text` and `topic`")
        questions.append(Question(item["text"].strip(), item["topic"].strip()))
    return questions


def library_sections(articles: Path) -> list[IndexedSection]:
    """The published sections of `articles`, imported into a throwaway database."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'kb-eval.db'}"
        upgrade(url)
        db = Database(url)
        try:
            report = import_article_folder(db, articles)
            if not report.written:
                raise SystemExit(report.summary())
            with db.unit_of_work() as session:
                return published_sections(session)
        finally:
            db.dispose()


def pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def score(index: KnowledgeIndex, questions: Sequence[Question]) -> dict[str, Any]:
    """The metrics of one question set, and each question's outcome."""
    details = []
    for question in questions:
        decision = decide(index, question.text)
        ranked = [c.topic for c in decision.ranking.candidates]
        said = decision.topic if decision.answered else NONE
        details.append({"text": question.text, "topic": question.topic, "answered": said,
                        "ranked": ranked[:3],
                        "scores": [round(c.score, 2) for c in decision.ranking.candidates[:3]],
                        "coverage": round(decision.ranking.best.coverage, 2)
                        if decision.ranking.best else 0.0})
    covered = [d for d in details if d["topic"] != NONE]
    uncovered = [d for d in details if d["topic"] == NONE]
    no_article = [d for d in details if d["answered"] == NONE]
    return {
        "questions": len(details), "covered": len(covered), "uncovered": len(uncovered),
        "unknown_topics": sorted({d["topic"] for d in details} - set(TOPICS) - {NONE}),
        "top1": _ratio(sum(d["answered"] == d["topic"] for d in covered), len(covered)),
        "top1_ranked": _ratio(sum(d["ranked"][:1] == [d["topic"]] for d in covered),
                              len(covered)),
        "top3": _ratio(sum(d["topic"] in d["ranked"][:3] for d in covered), len(covered)),
        "covered_answered_no_article": sum(d["answered"] == NONE for d in covered),
        "no_article_recall": _ratio(sum(d["answered"] == NONE for d in uncovered),
                                    len(uncovered)),
        "no_article_precision": _ratio(sum(d["topic"] == NONE for d in no_article),
                                       len(no_article)),
        "details": details,
    }


def summary_lines(name: str, result: dict[str, Any]) -> list[str]:
    lines = [f"{name}: {result['questions']} questions ({result['covered']} covered, "
             f"{result['uncovered']} uncovered)",
             f"  top-1 (answered, right topic)  {pct(result['top1'])}",
             f"  top-1 ranked                   {pct(result['top1_ranked'])}",
             f"  top-3 ranked                   {pct(result['top3'])}",
             f"  covered but 'no article'       {result['covered_answered_no_article']}",
             f"  'no article' recall            {pct(result['no_article_recall'])}",
             f"  'no article' precision         {pct(result['no_article_precision'])}"]
    if result["unknown_topics"]:
        lines.append(f"  topics not in kb-topics.md: {len(result['unknown_topics'])}")
    return lines


def misses(result: dict[str, Any]) -> list[str]:
    return [f"  {d['topic']:>26} -> {d['answered']:<26} {d['text']}  {d['ranked']} "
            f"{d['scores']} cov={d['coverage']}"
            for d in result["details"] if d["answered"] != d["topic"]]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, default=DEFAULT_ARTICLES)
    parser.add_argument("--heldout", type=Path, default=DEFAULT_HELDOUT)
    parser.add_argument("--tuning", type=Path, default=DEFAULT_TUNING)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--show-tuning-misses", action="store_true",
                        help="list the tuning set's wrong answers (never the held-out set's)")
    args = parser.parse_args(argv)

    if not args.articles.is_dir():
        print(f"knowledge base: no article folder at {args.articles}; nothing to evaluate")
        return 1
    # As the assistant ranks: BM25 and the sentence encoder (bot.knowledge.embeddings).
    index = KnowledgeIndex(library_sections(args.articles), RankingSettings(),
                           shared_embeddings())
    results: dict[str, Any] = {"articles": len(set(index.article_ids())),
                               "sections": len(index), "sets": {}}
    print(f"\nKnowledge base ({results['articles']} articles, {results['sections']} sections)")
    for name, path in (("held-out", args.heldout), ("tuning", args.tuning)):
        if not path.exists():
            print(f"{name}: {path} not found, skipped")
            continue
        result = score(index, load_questions(path))
        results["sets"][name] = result
        print("\n".join(summary_lines(name, result)))
        if name == "tuning" and args.show_tuning_misses:
            print("\n".join(misses(result)))
    confusions = Counter((d["topic"], d["answered"]) for r in results["sets"].values()
                         for d in r["details"] if d["answered"] != d["topic"])
    results["confusions"] = [list(pair) + [n] for pair, n in confusions.most_common(20)]
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False),
                                           encoding="utf-8")
    print(f"details: {args.out / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
