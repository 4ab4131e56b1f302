"""Compare the candidate rankings for the knowledge base on our TUNING questions (docs/knowledge.md).

    .venv/services/bin/python scripts/compare_kb_ranking.py [--postgres URL]

The same published sections (knowledge/articles, imported into a throwaway database) are ranked
for each covered question of tests/knowledge/tuning.yml by:

- SQLite FTS5 (`porter unicode61` tokenizer, `bm25()` with the title, heading and keywords
  weighted like the text, and twice);
- PostgreSQL full-text search (`english` configuration, title and keywords weight A, heading B,
  text D; `ts_rank` and `ts_rank_cd`), on a throwaway database of the server at --postgres;
- bm25s over our own words (Snowball stems, no stop words), plain; then with bigrams and the
  synonym groups, as the assistant ranks.

Each engine is asked for the question's content words OR'ed together (an AND of every word finds
almost nothing for a typed question). It prints top-1 and top-3 topic accuracy and the median
time per question. It never reads the held-out set.
"""
from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.knowledge.embeddings import SectionEmbeddings, shared_embeddings  # noqa: E402
from bot.knowledge.ranking import (  # noqa: E402
    LEXICAL,
    STOPWORDS,
    IndexedSection,
    KnowledgeIndex,
    RankingSettings,
    words,
)
from bot.knowledge.topics import NONE  # noqa: E402
from scripts.evaluate_kb import (  # noqa: E402
    DEFAULT_ARTICLES,
    DEFAULT_TUNING,
    library_sections,
    load_questions,
)

Ranker = Callable[[str], list[str]]  # question -> topics, best first


def content_words(question: str) -> list[str]:
    return list(dict.fromkeys(w for w in words(question) if w not in STOPWORDS))


def topics_of(rows: Sequence[tuple[str, float]]) -> list[str]:
    return list(dict.fromkeys(topic for topic, _ in rows))


def fts5(sections: Sequence[IndexedSection], field_weight: float) -> Ranker:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE s USING fts5(topic UNINDEXED, title, heading, keywords, "
               "body, tokenize='porter unicode61')")
    db.executemany("INSERT INTO s VALUES (?, ?, ?, ?, ?)",
                   [(s.topic, s.title, s.heading, " ".join(s.keywords), s.text)
                    for s in sections])

    def rank(question: str) -> list[str]:
        query = " OR ".join(f'"{w}"' for w in content_words(question))
        if not query:
            return []
        rows = db.execute(
            "SELECT topic, bm25(s, 0, ?, ?, ?, 1.0) AS score FROM s WHERE s MATCH ? "
            "ORDER BY score LIMIT 40", (field_weight, field_weight, field_weight, query))
        return topics_of(rows.fetchall())

    return rank


def postgres(sections: Sequence[IndexedSection], admin_url: str,
             function: str) -> tuple[Ranker, Callable[[], None]]:
    name = f"kb_compare_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine = create_engine(make_url(admin_url).set(database=name))
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE s (topic text, doc tsvector)"))
        for s in sections:
            connection.execute(text(
                "INSERT INTO s VALUES (:topic, "
                "setweight(to_tsvector('english', :title), 'A') || "
                "setweight(to_tsvector('english', :keywords), 'A') || "
                "setweight(to_tsvector('english', :heading), 'B') || "
                "setweight(to_tsvector('english', :body), 'D'))"),
                {"topic": s.topic, "title": s.title, "keywords": " ".join(s.keywords),
                 "heading": s.heading, "body": s.text})
        connection.execute(text("CREATE INDEX ON s USING gin (doc)"))

    def rank(question: str) -> list[str]:
        query = " OR ".join(content_words(question))
        if not query:
            return []
        with engine.connect() as connection:
            rows = connection.execute(text(
                f"SELECT topic, {function}(doc, q) AS score FROM s, "
                "websearch_to_tsquery('english', :q) q WHERE doc @@ q "
                "ORDER BY score DESC LIMIT 40"), {"q": query}).all()
        return topics_of(rows)

    def drop() -> None:
        engine.dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return rank, drop


def bm25s_ranker(sections: Sequence[IndexedSection], settings: RankingSettings,
                 embeddings: SectionEmbeddings | None = None) -> Ranker:
    index = KnowledgeIndex(sections, settings, embeddings)
    return lambda question: [c.topic for c in index.rank(question, limit=10).candidates]


def measure(name: str, rank: Ranker, questions: Sequence[tuple[str, str]]) -> str:
    top1 = top3 = 0
    times = []
    for question, topic in questions:
        started = time.perf_counter()
        ranked = rank(question)
        times.append(time.perf_counter() - started)
        top1 += ranked[:1] == [topic]
        top3 += topic in ranked[:3]
    n = len(questions)
    return (f"| {name} | {100 * top1 / n:.1f}% | {100 * top3 / n:.1f}% | "
            f"{1000 * statistics.median(times):.2f} ms |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=Path, default=DEFAULT_ARTICLES)
    parser.add_argument("--tuning", type=Path, default=DEFAULT_TUNING)
    parser.add_argument("--postgres", default="postgresql+psycopg://postgres@127.0.0.1:5432/"
                                              "postgres")
    args = parser.parse_args()
    if "heldout" in args.tuning.name:
        raise SystemExit("the comparison runs on the tuning set only")
    sections = library_sections(args.articles)
    questions = [(q.text, q.topic) for q in load_questions(args.tuning) if q.topic != NONE]
    print(f"{len(questions)} covered tuning questions, {len(sections)} sections\n")
    print("| ranking | top-1 | top-3 | median per question |\n|---|---|---|---|")
    print(measure("SQLite FTS5 bm25(), fields weighted 1", fts5(sections, 1.0), questions))
    print(measure("SQLite FTS5 bm25(), title/heading/keywords x2", fts5(sections, 2.0),
                  questions))
    for function in ("ts_rank", "ts_rank_cd"):
        rank, drop = postgres(sections, args.postgres, function)
        try:
            print(measure(f"PostgreSQL {function}, weights A/B/D", rank, questions))
        finally:
            drop()
    plain = replace(LEXICAL, bigrams=False, synonym_weight=0.0, k1=1.2, b=0.75)
    print(measure("bm25s, plain (k1 1.2, b 0.75)", bm25s_ranker(sections, plain), questions))
    print(measure("bm25s, tuned (bigrams, synonyms)", bm25s_ranker(sections, LEXICAL),
                  questions))
    print(measure("bm25s + all-MiniLM-L6-v2 cosine, as the assistant ranks",
                  bm25s_ranker(sections, RankingSettings(), shared_embeddings()), questions))
    return 0


if __name__ == "__main__":
    sys.exit(main())
