"""Knowledge base, pure logic: the article file format, words and synonyms, ranking, excerpts."""
from __future__ import annotations

import datetime as dt
import os
from dataclasses import replace
from pathlib import Path

import pytest

from bot.knowledge.answering import decide, excerpt, is_follow_up, plain, source_line
from bot.knowledge.article_files import ArticleFormatError, parse, render, split_sections
from bot.knowledge.ranking import (
    LEXICAL,
    IndexedSection,
    KnowledgeIndex,
    RankingSettings,
    concepts,
    terms,
    words,
)
from bot.knowledge.topics import TOPICS

FIXTURES = Path(__file__).resolve().parents[1] / "knowledge" / "articles"
ROOT = Path(__file__).resolve().parents[2]
SHARED_TOPICS = Path(os.environ.get("HELPDESK_SHARED_DIR") or ROOT.parent / "shared") \
    / "kb-topics.md"

GOOD = """---
topic: sick_pay
title: Sick pay
summary: Full pay, then half pay.
source_title: "Statutory Sick Pay (SSP)"
source_url: https://www.gov.uk/statutory-sick-pay
owner: HR Policy
effective_from: 2026-04-06
review_by: 2027-04-05
version: 3
departments: [dds, MPW]
keywords: [SSP, "half pay"]
---
Lead text before any heading.

## How much
Full pay for six months.

## Part-time staff
Pro rata.
"""


def test_the_topics_are_the_contract_of_kb_topics_md() -> None:
    if not SHARED_TOPICS.exists():
        pytest.fail(f"{SHARED_TOPICS} is missing: put the shared folder beside the checkout "
                    "or point HELPDESK_SHARED_DIR at it")
    listed = [line.split("|")[1].strip() for line in SHARED_TOPICS.read_text().splitlines()
              if line.startswith("| ") and not line.startswith("| topic")
              and not line.startswith("|---")]
    assert sorted(TOPICS) == sorted(t for t in listed if t != "none")
    assert len(TOPICS) == 58


def test_an_article_file_parses_into_its_fields_and_sections() -> None:
    content = parse(GOOD, "sick_pay.md")
    assert content.topic == "sick_pay" and content.version == 3
    assert content.departments == ("DDS", "MPW")
    assert content.keywords == ("SSP", "half pay")
    assert content.effective_from == dt.date(2026, 4, 6)
    assert [(s.heading, s.body) for s in content.sections] == [
        ("", "Lead text before any heading."), ("How much", "Full pay for six months."),
        ("Part-time staff", "Pro rata.")]


def test_rendering_then_parsing_gives_the_same_article() -> None:
    content = parse(GOOD)
    assert parse(render(content)) == content
    assert render(parse(render(content))) == render(content)
    assert "departments: [DDS, MPW]" in render(content)


def test_departments_all_means_every_department() -> None:
    content = parse(GOOD.replace("departments: [dds, MPW]", "departments: all"))
    assert content.departments == ()
    assert "departments: all" in render(content)


@pytest.mark.parametrize("change, problem", [
    (("topic: sick_pay", "topic: sick_leave"), "unknown topic 'sick_leave'"),
    (("topic: sick_pay\n", ""), "missing front matter keys: topic"),
    (("version: 3", "version: 3\ncolour: red"), "unknown front matter keys: colour"),
    (("https://www.gov.uk/statutory-sick-pay", "gov.uk"), "source_url: must be a web address"),
    (("review_by: 2027-04-05", "review_by: 2020-01-01"), "review_by is before effective_from"),
    (("effective_from: 2026-04-06", "effective_from: someday"), "effective_from"),
    (("[dds, MPW]", "[Digital Services]"), "is not a department code"),
    (("## How much", "How much"), None),  # still has one section
    (("version: 3", "version: 0"), "version"),
])
def test_a_bad_article_is_refused_with_the_reason(change: tuple[str, str],
                                                  problem: str | None) -> None:
    text = GOOD.replace(*change)
    if problem is None:
        parse(text)
        return
    with pytest.raises(ArticleFormatError) as refused:
        parse(text, "sick_pay.md")
    assert str(refused.value).startswith("sick_pay.md: ")
    assert problem in str(refused.value)


def test_a_body_without_sections_or_front_matter_is_refused() -> None:
    with pytest.raises(ArticleFormatError, match="at least one section"):
        parse(GOOD.replace("## How much", "How much").replace("## Part-time staff", "Part"))
    with pytest.raises(ArticleFormatError, match="must start with YAML front matter"):
        parse("## Just a body\ntext")
    with pytest.raises(ArticleFormatError, match="not valid YAML"):
        parse(GOOD.replace("keywords: [SSP, \"half pay\"]", "keywords: [SSP, \"half"))


def test_headings_inside_code_fences_do_not_start_sections() -> None:
    body = "## One\n```\n## not a heading\n```\n## Two\ntext"
    assert [s.heading for s in split_sections(body)] == ["One", "Two"]


def test_words_fold_apostrophes_and_terms_drop_function_words_and_stem() -> None:
    assert words("Carer's leave, I'm part-time") == ["carer", "leave", "im", "part", "time"]
    assert terms("How do I carry over my holidays?") == ["carri", "holiday"]
    assert terms("job share, part time", bigrams=True) == [
        "job", "share", "part", "time", "job_share", "part_time"]  # never across the comma


def test_a_question_word_brings_its_synonyms_phrases_as_bigrams() -> None:
    found = {c.term: c.alternatives for c in concepts("my husband passed away")}
    assert {"partner", "wife", "spous"} <= found["husband"]
    assert {"die", "death", "bereav"} <= found["pass"]
    probation = {c.term: c.alternatives for c in concepts("I passed my probation")}
    assert probation["pass"] == frozenset()  # "passed" alone is not a death


def section(article_id: int, topic: str, heading: str, text: str, position: int = 1,
            departments: frozenset[str] = frozenset(), version: int = 1) -> IndexedSection:
    return IndexedSection(article_id, f"{topic}-{article_id}", version, topic, topic.title(),
                          position, heading, text, departments, dt.date(2026, 4, 1))


LIBRARY = [
    section(1, "annual_leave", "How much leave", "You get 25 days of annual leave a year."),
    section(1, "annual_leave", "Part-time staff", "Part-time staff get leave pro rata.", 2),
    section(2, "annual_leave", "How much leave", "DDS staff get 27 days of annual leave.",
            departments=frozenset({"DDS"})),
    section(3, "sick_pay", "Sick pay", "Full pay for six months, then half pay when off sick."),
    section(3, "sick_pay", "Part-time staff", "Part-time staff get sick pay pro rata.", 2),
    section(4, "overtime", "Overtime", "Overtime is paid at time and a half on weekdays."),
]


# BM25 scores are small in a six-section library: a lower bar than the real library's.
SMALL_LIBRARY = replace(LEXICAL, min_confidence=0.2)


def test_ranking_finds_the_topic_and_the_best_section() -> None:
    index = KnowledgeIndex(LIBRARY)
    ranking = index.rank("how many days of annual leave do I get")
    assert ranking.best.topic == "annual_leave" and ranking.best.article_id == 1
    assert ranking.best.section.heading == "How much leave"
    assert index.rank("what is the overtime rate").best.topic == "overtime"


def test_a_departments_own_article_wins_and_others_never_see_it() -> None:
    index = KnowledgeIndex(LIBRARY)
    assert index.rank("how much annual leave", "DDS").best.article_id == 2
    assert index.rank("how much annual leave", "MPW").best.article_id == 1
    assert index.rank("how much annual leave", None).best.article_id == 1
    assert all(c.article_id != 2 for c in index.rank("DDS staff 27 days annual leave").candidates)


def test_an_uncovered_question_gets_no_article() -> None:
    index = KnowledgeIndex(LIBRARY, SMALL_LIBRARY)
    decision = decide(index, "can I bring my dog to the office")
    assert not decision.answered and decision.chosen is None
    assert decide(index, "").answered is False


def test_a_follow_up_is_answered_from_the_previous_article() -> None:
    index = KnowledgeIndex(LIBRARY, SMALL_LIBRARY)
    first = decide(index, "how long do I get sick pay for")
    assert first.answered and first.topic == "sick_pay"
    follow = decide(index, "and if I'm part time?", context_article_id=first.article_id)
    assert follow.answered and follow.follow_up and follow.topic == "sick_pay"
    assert follow.chosen.section.heading == "Part-time staff"
    alone = decide(index, "and if I'm part time?")  # no context: either topic would do
    assert not alone.follow_up
    switched = decide(index, "and what about the overtime rate at time and a half?",
                      context_article_id=first.article_id)
    assert switched.topic == "overtime" and not switched.follow_up


@pytest.mark.parametrize("text", ["and if I'm part time?", "What about if I'm on probation",
                                  "does that apply in Scotland", "Is that the same for DDS?",
                                  "ok and for shift workers"])
def test_follow_up_phrasings_are_recognised(text: str) -> None:
    assert is_follow_up(text)


@pytest.mark.parametrize("text", ["how much annual leave do I get", "android phones",
                                  "ifs and buts"])
def test_new_questions_are_not_follow_ups(text: str) -> None:
    assert not is_follow_up(text)


def test_an_excerpt_is_the_first_sentences_within_the_limit() -> None:
    text = ("First sentence here. Second one follows. " + "Third is much longer " * 20 + ".")
    assert excerpt(text, 60) == "First sentence here. Second one follows."
    long = "word " * 100
    cut = excerpt(long, 50)
    assert cut.endswith("…") and len(cut) <= 51
    assert plain("See [the guide](https://x.example) and **this**:\n- one\n- two") == \
        "See the guide and this: one two"


def test_the_source_line_names_title_date_and_version() -> None:
    index = KnowledgeIndex(LIBRARY)
    chosen = index.rank("overtime rate").best
    assert source_line(chosen) == "Source: Overtime, effective 1 April 2026, version 1"


def test_the_fixture_articles_parse() -> None:
    for path in FIXTURES.glob("*.md"):
        parse(path.read_text(), path.name)


class ConceptEncoder:
    """A stand-in sentence encoder: a text's vector counts the concepts its words belong to
    (each concept one dimension), normalised. Enough to show what meaning adds to BM25."""

    CONCEPTS = {"death": {"died", "funeral", "bereavement", "passes", "mourning"},
                "money": {"pay", "paid", "salary", "wage"},
                "illness": {"sick", "ill", "unwell", "flu"}}

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def embed(self, texts):
        import numpy as np

        self.calls.append(list(texts))
        rows = []
        for text in texts:
            said = set(words(text))
            row = np.array([len(said & members) for members in self.CONCEPTS.values()] + [0.1],
                           dtype=np.float32)
            rows.append(row / np.linalg.norm(row))
        return np.stack(rows)


SEMANTIC_LIBRARY = [
    section(1, "compassionate_leave", "Bereavement leave",
            "Up to five days of paid leave when a close relative passes away."),
    section(2, "sick_pay", "Sick pay", "Full pay for six months, then half pay when off sick."),
    section(3, "overtime", "Overtime", "Overtime is paid at time and a half on weekdays."),
]


def test_meaning_finds_a_section_that_shares_no_word_with_the_question() -> None:
    from bot.knowledge.embeddings import SectionEmbeddings

    question = "mourning this week"
    lexical = KnowledgeIndex(SEMANTIC_LIBRARY)
    assert not lexical.semantic and lexical.rank(question).candidates == []  # no word in common
    hybrid = KnowledgeIndex(SEMANTIC_LIBRARY, embeddings=SectionEmbeddings(ConceptEncoder()))
    assert hybrid.semantic
    ranking = hybrid.rank(question)
    assert ranking.best.topic == "compassionate_leave"
    assert ranking.best.similarity > 0.8 and ranking.best.score == 0.0
    assert len(hybrid.features(ranking.candidates)) == 5
    # words still count: a question that names its topic finds it whatever the encoder says
    assert hybrid.rank("overtime at time and a half").best.topic == "overtime"


def test_section_vectors_are_kept_by_their_text() -> None:
    from bot.knowledge.embeddings import SectionEmbeddings

    encoder = ConceptEncoder()
    embeddings = SectionEmbeddings(encoder)
    KnowledgeIndex(SEMANTIC_LIBRARY, embeddings=embeddings)
    assert len(encoder.calls) == 1 and len(encoder.calls[0]) == 3
    edited = SEMANTIC_LIBRARY[:2] + [section(3, "overtime", "Overtime",
                                             "Overtime is paid at double time on Sundays.")]
    KnowledgeIndex(edited, embeddings=embeddings)  # a rebuild after an edit
    assert len(encoder.calls) == 2 and len(encoder.calls[1]) == 1  # only the edited section


def test_the_decision_weights_must_fit_the_features() -> None:
    from bot.knowledge.embeddings import SectionEmbeddings

    first_round = replace(RankingSettings(), decision_weights=LEXICAL.decision_weights)
    with pytest.raises(ValueError, match="3 decision weights for 5 features"):
        KnowledgeIndex(SEMANTIC_LIBRARY, first_round,
                       SectionEmbeddings(ConceptEncoder())).rank("bereavement leave")
    assert RankingSettings().semantic_weight > 0 and len(RankingSettings().decision_weights) == 6


def test_an_empty_question_ranks_nothing() -> None:
    ranking = KnowledgeIndex(LIBRARY).rank("   ")
    assert ranking.candidates == [] and not ranking.confident
