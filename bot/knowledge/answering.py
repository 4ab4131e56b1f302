"""Answering a policy question from the library: the best section, or "no article".

The same code path serves the assistant (`actions/policy.py`, through `answer_question`, which
records the answer) and `python -m bot.cli kb-ask` (through `decide`, which records nothing).

The caller's department comes from the verified principal's employee record; an unidentified
caller is answered from the general articles. A follow-up question ("and if I'm part time?")
is answered from the article of the previous answer (its id is kept in a slot by the action)
unless it clearly names another topic.
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy.orm import Session

from bot.identity import Principal, find_employee
from bot.storage.database import Database

from .index_cache import DEFAULT_REFRESH_SECONDS, IndexCache
from .models import KbAnswer
from .ranking import Candidate, KnowledgeIndex, Ranking
from .topics import NONE

ARTICLE_PATH = "/knowledge/articles/{article_id}"
EXCERPT_CHARACTERS = 320
# How much better a new topic must score than the previous answer's article before a
# follow-up question leaves that article ("and what about paternity leave?"); it must also
# hold more of the question's words than that article does.
SWITCH_MARGIN = 1.5

FOLLOW_UP = re.compile(
    r"^\W*(?:and|but|so|also|or|then|ok(?:ay)?\W+and|what\s+about|how\s+about|what\s+if|"
    r"if|does\s+(?:that|this|it)|do\s+(?:they|those|these|the\s+same)|is\s+(?:that|this|it)|"
    r"would\s+(?:that|this|it)|can\s+(?:that|this|it)|same\b|even\s+if|in\s+that\s+case)\b",
    re.IGNORECASE)


@dataclass(frozen=True)
class Caller:
    employee_id: int | None
    department: str | None
    channel: str


@dataclass(frozen=True)
class Decision:
    """What the assistant says to a policy question, and why (the ranked topics)."""

    answered: bool
    ranking: Ranking
    chosen: Candidate | None = None
    follow_up: bool = False  # answered from the previous answer's article

    @property
    def topic(self) -> str | None:
        return self.chosen.topic if self.chosen else None

    @property
    def article_id(self) -> int | None:
        return self.chosen.article_id if self.chosen else None

    @property
    def version(self) -> int | None:
        return self.chosen.version if self.chosen else None

    @property
    def excerpt(self) -> str:
        return excerpt(self.chosen.section.text) if self.chosen else ""

    def as_json(self) -> dict:
        """`kb-ask`'s output: the ranked topics with scores and whether the assistant answers."""
        result: dict = {
            "would_answer": self.answered,
            "confidence": round(self.ranking.confidence, 3),
            "topics": [{"topic": c.topic, "score": round(c.score, 3),
                        "coverage": round(c.coverage, 3), "article_id": c.article_id,
                        "version": c.version} for c in self.ranking.candidates],
        }
        if self.chosen is not None and self.answered:
            section = self.chosen.section
            result["answer"] = {
                "topic": section.topic, "article_id": section.article_id,
                "version": section.version, "title": section.title,
                "section": section.heading, "excerpt": self.excerpt,
                "effective_from": section.effective_from.isoformat(),
                "follow_up": self.follow_up,
            }
        return result


def is_follow_up(question: str) -> bool:
    return bool(FOLLOW_UP.match(question))


def decide(index: KnowledgeIndex, question: str, department: str | None = None,
           context_article_id: int | None = None) -> Decision:
    """Choose the section to answer from, or none."""
    ranking = index.rank(question, department)
    if context_article_id is not None and is_follow_up(question):
        within = index.best_in_article(question, context_article_id)
        applicable = within is not None and _applicable(index, within, department)
        best = ranking.best
        # Leave the previous article only for a confident topic that holds more of the
        # question ("and what about paternity leave?" after maternity) and scores clearly
        # higher; a modifier the previous article covers ("and if I'm part time?") stays.
        switches = (ranking.confident and best is not None and within is not None
                    and best.article_id != context_article_id
                    and best.coverage > within.coverage
                    and best.score >= SWITCH_MARGIN * within.score)
        if applicable and not switches:
            return Decision(True, ranking, within, follow_up=True)
    if ranking.confident:
        return Decision(True, ranking, ranking.best)
    return Decision(False, ranking)


def _applicable(index: KnowledgeIndex, candidate: Candidate, department: str | None) -> bool:
    section = candidate.section
    return not section.departments or (department is not None
                                        and department in section.departments)


SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(£])")
MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\([^)]+\)")


def plain(text: str) -> str:
    """Markdown to chat text: links keep their words, emphasis markers go, lines join."""
    text = MARKDOWN_LINK.sub(r"\1", text)
    text = re.sub(r"(\*\*|__|`)", "", text)
    text = re.sub(r"^\s*[-*+]\s+", "", text, flags=re.M)
    text = re.sub(r"^\s*#+\s*", "", text, flags=re.M)
    return re.sub(r"\s*\n\s*", " ", text).strip()


def excerpt(text: str, limit: int = EXCERPT_CHARACTERS) -> str:
    """The first sentences of a section, up to `limit` characters (at least one sentence,
    cut at a word if that one is longer)."""
    sentences = SENTENCE_END.split(plain(text))
    chosen = ""
    for sentence in sentences:
        candidate = f"{chosen} {sentence}".strip()
        if chosen and len(candidate) > limit:
            break
        chosen = candidate
    if len(chosen) > limit:
        chosen = chosen[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"
    return chosen


def long_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def source_line(chosen: Candidate) -> str:
    """'Source: <title>, effective <date>, version <n>'."""
    section = chosen.section
    return (f"Source: {section.title}, effective {long_date(section.effective_from)}, "
            f"version {section.version}")


def article_path(article_id: int, version: int | None = None) -> str:
    path = ARTICLE_PATH.format(article_id=article_id)
    return f"{path}?version={version}" if version is not None else path


EVENT_TYPE = "knowledge_answer"
# Channels whose messages are read outside the web app: their links must be absolute.
EXTERNAL_CHANNELS = frozenset({"msteams", "slack"})


def article_link(article_id: int, version: int, channel: str, public_base_url: str) -> str:
    """The web app's page of the article version shown: a path on the chat page; an absolute
    address in Teams and Slack when the web app's public address is configured."""
    path = article_path(article_id, version)
    if channel in EXTERNAL_CHANNELS and public_base_url:
        return public_base_url.rstrip("/") + path
    return path


def reply_text(decision: Decision, link: str) -> str:
    """The answer: a short excerpt of the best section, then its source, date and version."""
    assert decision.chosen is not None
    return f"{decision.excerpt}\n\n{source_line(decision.chosen)}. Full article: {link}"


def reply_metadata(decision: Decision, link: str | None = None) -> dict:
    """What outside evaluations read from the reply (the custom payload's `metadata`)."""
    chosen = decision.chosen if decision.answered else None
    payload = {"answered": chosen is not None,
               "topic": chosen.topic if chosen else NONE,
               "article_id": chosen.article_id if chosen else None,
               "version": chosen.version if chosen else None}
    if chosen is not None and link:
        payload["url"] = link
    return {"event_type": EVENT_TYPE, "event_payload": payload}


# --- the assistant's path: the caller, the cached index, the record of the answer ----------

@lru_cache(maxsize=8)
def _cache_for(url: str, refresh_seconds: float) -> IndexCache:
    return IndexCache(refresh_seconds)


def index_for(db: Database, refresh_seconds: float = DEFAULT_REFRESH_SECONDS) -> KnowledgeIndex:
    """This process's index of `db`'s library (see bot.knowledge.index_cache)."""
    return _cache_for(db.url, refresh_seconds).get(db)


def caller(session: Session, principal: Principal | None) -> Caller:
    if principal is None:
        return Caller(None, None, "unknown")
    employee = find_employee(session, principal)
    if employee is None:
        return Caller(None, None, principal.channel)
    return Caller(employee.id, employee.department_code, principal.channel)


def department_of(db: Database, principal: Principal | None) -> Caller:
    with db.unit_of_work() as session:
        return caller(session, principal)


def record(session: Session, who: Caller, conversation_id: str, decision: Decision) -> None:
    """Which article version and section the caller was shown (never the question)."""
    chosen = decision.chosen if decision.answered else None
    session.add(KbAnswer(
        employee_id=who.employee_id, conversation_id=conversation_id[:200],
        channel=who.channel[:32], answered=decision.answered,
        article_id=chosen.article_id if chosen else None,
        version=chosen.version if chosen else None,
        section_position=chosen.section.position if chosen else None,
        topic=chosen.topic if chosen else None))


def answer_question(db: Database, principal: Principal | None, question: str,
                    conversation_id: str, context_article_id: int | None = None,
                    refresh_seconds: float = DEFAULT_REFRESH_SECONDS) -> Decision:
    """Decide the answer for the verified caller and record what they were shown."""
    index = index_for(db, refresh_seconds)
    with db.unit_of_work() as session:
        who = caller(session, principal)
        decision = decide(index, question, who.department, context_article_id)
        record(session, who, conversation_id, decision)
    return decision
