"""Ranking the library's sections for a question: BM25 (bm25s) over stemmed words.

Chosen by measurement over SQLite FTS5 and PostgreSQL full-text search (docs/knowledge.md,
`scripts/compare_kb_ranking.py`): the index is built in the services process from the published
versions, so it ranks identically on SQLite and PostgreSQL, and an edit reaches it when the
process next refreshes its copy (`bot.knowledge.index_cache`).

Each section is one BM25 document: the article's title and keywords, the section's heading and
its text (the article's summary is section 0). An article scores as its best section; a topic as
its best applicable article. A department's own article replaces the general article of the same
topic for its staff, and another department's article is never used.

With a sentence encoder (`embeddings.py`, as the assistant runs), a section's score is
`(1 - w) * bm25 / best bm25 + w * cosine(question, section)`: BM25 finds the words, the encoder
the meaning said in other words. Without one (`LEXICAL`: tests of the ranking's own logic, the
comparison scripts), BM25 alone.

Whether the assistant answers at all is decided by `confidence`, a logistic function of the best
section's BM25 score, how much of the question the best article holds (`coverage`), how far the
best topic leads the others in BM25, and (with the encoder) the best section's cosine and its
lead in the combined score; its weights and the bar `min_confidence` were fitted on
tests/knowledge/tuning.yml (scripts/tune_kb.py), never on the held-out set.
"""
from __future__ import annotations

import datetime as dt
import logging
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import bm25s
import numpy as np
import Stemmer

from .embeddings import SectionEmbeddings
from .synonyms import GROUPS

logging.getLogger("bm25s").setLevel(logging.WARNING)  # one debug line per index build

# Function words that say nothing about a topic. Domain words ("time", "off", "leave", "day",
# "part") are kept: "time off", "part time" and "day off" are how people ask.
STOPWORDS = frozenset("""
a about above after again against all am an and any are as at be because been before being
below between both but by can could did do does doing done down during each few for from
further get gets getting got had has have having he her here hers herself him himself his how
i i'd i'll i'm i've if in into is it it's its itself just let me might more most must my myself
no nor not now of on once only or other ought our ours ourselves out over own please same she
should so some such tell than that the their theirs them themselves then there these they this
those through to too under until up us very want was we were what when where which while who
whom why will with would you your yours yourself yourselves im ive id whats hows dont cant
wont isnt arent doesnt didnt anyone someone something anything thing things know need needs
ok okay hi hello thanks also yes really still
""".split())

TOKEN = re.compile(r"[a-z0-9]+")
PUNCTUATION = re.compile(r"[.,;:!?()\[\]\n\u2013\u2014|/]+|\s-\s")
_PHRASES: dict[tuple[str, ...], frozenset[str]] = {}  # filled below, once terms() exists
_stemmer = Stemmer.Stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    return _stemmer.stemWord(word)


def words(text: str) -> list[str]:
    """Lower-case word tokens, apostrophes folded ("carer's" -> "carer", "I'm" -> "im")."""
    folded = text.lower().replace("\u2019", "'")
    folded = re.sub(r"'s\b", "", folded)
    return TOKEN.findall(folded.replace("'", ""))


def terms(text: str, bigrams: bool = False) -> list[str]:
    """The stemmed content words of `text`, in order (repeats kept: BM25 counts them); with
    `bigrams`, each pair of neighbouring content words within a phrase as well ("job share" ->
    "job_share"; never across punctuation)."""
    found: list[str] = []
    pairs: list[str] = []
    for span in PUNCTUATION.split(text):
        stems = [_stem(word) for word in words(span) if word not in STOPWORDS]
        found += stems
        pairs += [f"{a}_{b}" for a, b in zip(stems, stems[1:])]
    return found + pairs if bigrams else found


def phrase_term(text: str) -> str | None:
    """A synonym as one term: its stem, or the bigram of a two-word phrase (else None)."""
    stems = terms(text)
    if len(stems) == 1:
        return stems[0]
    if len(stems) == 2:
        return f"{stems[0]}_{stems[1]}"
    return None


def _phrase_table() -> dict[tuple[str, ...], frozenset[str]]:
    """Each synonym (as a tuple of words) -> the stemmed terms of the other members of its
    groups."""
    table: dict[tuple[str, ...], set[str]] = {}
    for group in GROUPS:
        for member in group:
            key = tuple(words(member))
            others = {phrase_term(other) for other in group if other != member}
            table.setdefault(key, set()).update(others - {None, phrase_term(member)})
    return {key: frozenset(value) for key, value in table.items()}


@dataclass(frozen=True)
class Concept:
    """One content word of a question, and the words that mean the same (synonyms.py)."""

    term: str
    alternatives: frozenset[str] = frozenset()

    @property
    def all(self) -> frozenset[str]:
        return self.alternatives | {self.term}


def concepts(text: str, bigrams: bool = False) -> list[Concept]:
    """The question's content words with their synonyms; bigrams have none."""
    found: list[Concept] = []
    for span in PUNCTUATION.split(text):
        found += _concepts(span)
    if bigrams:
        found += [Concept(t) for t in terms(text, bigrams=True) if "_" in t]
    return found


def _concepts(text: str) -> list[Concept]:
    said = words(text)
    alternatives: dict[int, set[str]] = {}
    for length in (3, 2, 1):
        for start in range(len(said) - length + 1):
            others = _PHRASES.get(tuple(said[start:start + length]))
            if others:
                for position in range(start, start + length):
                    alternatives.setdefault(position, set()).update(others)
    return [Concept(_stem(word), frozenset(alternatives.get(position, ())))
            for position, word in enumerate(said) if word not in STOPWORDS]


def _idf(containing: int, total: int) -> float:
    """BM25's inverse document frequency (always positive)."""
    return math.log(1 + (total - containing + 0.5) / (containing + 0.5))


_PHRASES.update(_phrase_table())


@dataclass(frozen=True)
class IndexedSection:
    """One published section, as the index sees it."""

    article_id: int
    slug: str
    version: int
    topic: str
    title: str
    position: int  # 0: the article's summary
    heading: str
    text: str
    departments: frozenset[str]  # empty: every department
    effective_from: dt.date
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class RankingSettings:
    """The knobs tuned on tests/knowledge/tuning.yml (docs/knowledge.md has the measurements)."""

    k1: float = 0.9
    b: float = 0.3
    title_weight: int = 1  # repeats of the title in each section's document
    heading_weight: int = 1
    keyword_weight: int = 1
    bigrams: bool = True
    synonym_weight: float = 0.5  # a synonym's match counts this much of the word's own
    # With an encoder: a section's score is (1 - w) * bm25 / best bm25 + w * cosine.
    semantic_weight: float = 0.7
    # confidence = logistic(weights . features + bias), features as `KnowledgeIndex.features`
    # (three without an encoder, five with one); the assistant answers at `min_confidence` or
    # above.
    decision_weights: tuple[float, ...] = (0.99, 2.09, 1.3, 4.03, 2.2, -4.52)
    min_confidence: float = 0.55


# BM25 alone (no encoder): the first round's settings, fitted on the tuning set.
LEXICAL = RankingSettings(semantic_weight=0.0, decision_weights=(1.96, 2.22, 1.45, -4.48),
                          min_confidence=0.63)


@dataclass(frozen=True)
class Candidate:
    """An applicable article and its best section for a question."""

    topic: str
    article_id: int
    version: int
    section: IndexedSection
    score: float  # the section's BM25 score
    coverage: float
    similarity: float = 0.0  # cosine of the question and the section (with an encoder)
    combined: float = 0.0  # what the candidates are ordered by (BM25 alone: its score)


@dataclass(frozen=True)
class Ranking:
    question_terms: tuple[Concept, ...]
    candidates: list[Candidate]  # best first, one per topic
    confidence: float  # that the best topic is right (0 with no candidate)
    confident: bool

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None


def semantic_text(section: IndexedSection) -> str:
    """What the encoder reads of a section: the article's title, the heading and the text."""
    return f"{section.title}. {section.heading}. {section.text}"


@dataclass
class KnowledgeIndex:
    """A BM25 index over the published sections, with their sentence vectors when an encoder
    is given (immutable once built)."""

    sections: Sequence[IndexedSection]
    settings: RankingSettings | None = None  # default: RankingSettings(), LEXICAL without encoder
    embeddings: SectionEmbeddings | None = None

    def __post_init__(self) -> None:
        if self.settings is None:
            self.settings = RankingSettings() if self.embeddings is not None else LEXICAL
        self.sections = sorted(self.sections, key=lambda s: (s.article_id, s.position))
        self._vectors: np.ndarray | None = None
        if self.embeddings is not None and self.settings.semantic_weight > 0 and self.sections:
            self._vectors = self.embeddings.sections([semantic_text(s) for s in self.sections])
        self._article_terms: dict[int, frozenset[str]] = {}
        documents = []
        for section in self.sections:
            document = self.document(section)
            documents.append(document)
            known = self._article_terms.get(section.article_id, frozenset())
            self._article_terms[section.article_id] = known | frozenset(document)
        self._vocabulary = frozenset().union(*self._article_terms.values()) \
            if self._article_terms else frozenset()
        articles = len(self._article_terms)
        frequency: dict[str, int] = {}
        for held in self._article_terms.values():
            for term in held:
                frequency[term] = frequency.get(term, 0) + 1
        self._article_idf = {t: _idf(n, articles) for t, n in frequency.items()}
        self._unknown_idf = _idf(0, articles)
        self._retriever: bm25s.BM25 | None = None
        if documents:
            self._retriever = bm25s.BM25(k1=self.settings.k1, b=self.settings.b)
            self._retriever.index(documents, show_progress=False)

    def document(self, section: IndexedSection) -> list[str]:
        s = self.settings
        keywords = [term for keyword in section.keywords for term in self.terms(keyword)]
        return (self.terms(section.title) * s.title_weight
                + self.terms(section.heading) * s.heading_weight
                + keywords * s.keyword_weight
                + self.terms(section.text))

    def terms(self, text: str) -> list[str]:
        return terms(text, self.settings.bigrams)

    def __len__(self) -> int:
        return len(self.sections)

    def _term_scores(self, term: str) -> np.ndarray:
        if self._retriever is None or term not in self._vocabulary:
            return np.zeros(len(self.sections))
        return np.asarray(self._retriever.get_scores([term]), dtype=float)

    def scores(self, question: Sequence[Concept]) -> np.ndarray:
        """BM25 of each section: the sum over the question's words of the word's own score or
        (at `synonym_weight`) its best synonym's, whichever is higher."""
        total = np.zeros(len(self.sections))
        for concept in question:
            best = self._term_scores(concept.term)
            for alternative in concept.alternatives:
                best = np.maximum(best, self.settings.synonym_weight
                                  * self._term_scores(alternative))
            total += best
        return total

    def _weight(self, concept: Concept) -> float:
        known = [self._article_idf[t] for t in concept.all if t in self._article_idf]
        if concept.term in self._article_idf:
            return self._article_idf[concept.term]
        return min(known) if known else self._unknown_idf

    def coverage(self, question: Sequence[Concept], article_id: int) -> float:
        """The share of the question's words (or their synonyms) the article holds, each word
        weighted by its rarity across articles (a word no article uses weighs most: "dog")."""
        distinct = {c.term: c for c in question if "_" not in c.term}.values()
        if not distinct:
            return 0.0
        held = self._article_terms.get(article_id, frozenset())
        weights = [(self._weight(c), not c.all.isdisjoint(held)) for c in distinct]
        return sum(w for w, covered in weights if covered) / sum(w for w, _ in weights)

    def applicable(self, department: str | None) -> np.ndarray:
        """A mask of the sections a caller of `department` may be answered from.

        A department's own article on a topic replaces the general one; an unidentified caller
        (None) gets general articles only.
        """
        own_topics = {s.topic for s in self.sections if department and department in s.departments}
        return np.array([
            (department in s.departments) if s.departments
            else s.topic not in own_topics
            for s in self.sections], dtype=bool)

    @property
    def semantic(self) -> bool:
        """Whether meaning counts as well as words (an encoder was given)."""
        return self._vectors is not None

    def combined(self, question: str, lexical: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each section's combined score and cosine (zeros without an encoder)."""
        if self._vectors is None or self.embeddings is None:
            return lexical, np.zeros(len(self.sections))
        similarity = self._vectors @ self.embeddings.question(question)
        top = float(lexical.max()) if len(lexical) else 0.0
        normalised = lexical / top if top > 0 else lexical
        w = self.settings.semantic_weight
        return (1 - w) * normalised + w * similarity, similarity

    def rank(self, question: str, department: str | None = None,
             limit: int = 5) -> Ranking:
        question_terms = tuple(concepts(question, self.settings.bigrams))
        if not question.strip() or not self.sections:
            return Ranking(question_terms, [], 0.0, False)
        lexical = self.scores(question_terms)
        combined, similarity = self.combined(question, lexical)
        mask = self.applicable(department)
        best: dict[str, Candidate] = {}
        for index in np.argsort(-combined, kind="stable"):
            if not mask[index] or (not self.semantic and lexical[index] <= 0):
                continue
            section = self.sections[index]
            if section.topic in best:
                continue
            best[section.topic] = Candidate(
                section.topic, section.article_id, section.version, section,
                float(lexical[index]), self.coverage(question_terms, section.article_id),
                float(similarity[index]), float(combined[index]))
            if len(best) >= limit:
                break
        candidates = list(best.values())
        confidence = self.confidence(candidates)
        return Ranking(question_terms, candidates, confidence,
                       bool(candidates) and confidence >= self.settings.min_confidence)

    def features(self, candidates: Sequence[Candidate]) -> list[float]:
        """What the "no article" rule reads: ln(1 + the best BM25 score), the best article's
        coverage of the question, its BM25 lead over the other topics (in logs); with an
        encoder also the best section's cosine and its lead in the combined score."""
        first = candidates[0]
        lexical = math.log1p(first.score)
        others = max((math.log1p(c.score) for c in candidates[1:]), default=0.0)
        found = [lexical, first.coverage, lexical - others]
        if self.semantic:
            runner_up = candidates[1].combined if len(candidates) > 1 else 0.0
            found += [first.similarity, first.combined - runner_up]
        return found

    def confidence(self, candidates: Sequence[Candidate]) -> float:
        """How sure the ranking is that its best topic answers the question (0 to 1)."""
        if not candidates:
            return 0.0
        *weights, bias = self.settings.decision_weights
        features = self.features(candidates)
        if len(weights) != len(features):
            raise ValueError(f"{len(weights)} decision weights for {len(features)} features")
        z = sum(w * x for w, x in zip(weights, features)) + bias
        return 1 / (1 + math.exp(-z))

    def best_in_article(self, question: str, article_id: int) -> Candidate | None:
        """The article's best section for a follow-up question, if any of its words match."""
        question_terms = tuple(concepts(question, self.settings.bigrams))
        scores = self.scores(question_terms)
        chosen: int | None = None
        for index, section in enumerate(self.sections):
            if section.article_id == article_id and scores[index] > 0 and (
                    chosen is None or scores[index] > scores[chosen]):
                chosen = index
        if chosen is None:
            return None
        section = self.sections[chosen]
        return Candidate(section.topic, article_id, section.version, section,
                         float(scores[chosen]), self.coverage(question_terms, article_id))

    def article_ids(self) -> Iterable[int]:
        return self._article_terms.keys()
