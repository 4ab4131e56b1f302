"""Each process's copy of the knowledge index, refreshed from the database within seconds.

No retraining and no restart to change knowledge: every action-server replica reads the
published versions from the helpdesk database and keeps an index of them. At most every
`refresh_seconds` (HELPDESK_KB_REFRESH_SECONDS, default 10) it asks the database for the
library's revision, a cheap aggregate over the versions' status-change times; only when that
changed is the index rebuilt. A publish, edit or retirement therefore reaches every replica
within `refresh_seconds` plus a rebuild (milliseconds for hundreds of sections).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.storage.database import Database

from .embeddings import SectionEmbeddings, shared_embeddings
from .models import KbArticle, KbArticleVersion, VersionStatus
from .ranking import IndexedSection, KnowledgeIndex, RankingSettings

DEFAULT_REFRESH_SECONDS = 10.0


def revision(session: Session) -> tuple:
    """Changes whenever a version is added, saved or changes status."""
    return tuple(session.execute(select(
        func.count(KbArticleVersion.id), func.max(KbArticleVersion.status_changed_at),
        func.max(KbArticleVersion.created_at))).one())


def published_sections(session: Session) -> list[IndexedSection]:
    """Every section of every published version, the summary as section 0."""
    rows = session.execute(
        select(KbArticle.slug, KbArticleVersion)
        .join(KbArticleVersion, KbArticleVersion.article_id == KbArticle.id)
        .where(KbArticleVersion.status == VersionStatus.PUBLISHED)
        .options(selectinload(KbArticleVersion.sections))).all()
    sections: list[IndexedSection] = []
    for slug, version in rows:
        common = dict(article_id=version.article_id, slug=slug, version=version.version,
                      topic=version.topic, title=version.title,
                      departments=frozenset(version.departments or ()),
                      effective_from=version.effective_from,
                      keywords=tuple(version.keywords or ()))
        sections.append(IndexedSection(position=0, heading=version.title, text=version.summary,
                                       **common))
        sections += [IndexedSection(position=s.position, heading=s.heading, text=s.body, **common)
                     for s in version.sections]
    return sections


class IndexCache:
    """A process's index, rebuilt when the library's revision changes (checked at most every
    `refresh_seconds`). Thread-safe: actions call it from worker threads.

    `embeddings` gives the sentence encoder (the process's own by default, as the assistant
    ranks); None ranks by BM25 alone (`ranking.LEXICAL`)."""

    def __init__(self, refresh_seconds: float = DEFAULT_REFRESH_SECONDS,
                 settings: RankingSettings | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 embeddings: Callable[[], SectionEmbeddings] | None = shared_embeddings,
                 ) -> None:
        self.refresh_seconds = refresh_seconds
        self.settings = settings
        self.embeddings = embeddings
        self._clock = clock
        self._lock = threading.Lock()
        self._index: KnowledgeIndex | None = None
        self._revision: tuple | None = None
        self._checked_at = float("-inf")
        self.builds = 0

    def get(self, db: Database) -> KnowledgeIndex:
        with self._lock:
            now = self._clock()
            if self._index is not None and now - self._checked_at < self.refresh_seconds:
                return self._index
            with db.unit_of_work() as session:
                current = revision(session)
                changed = self._index is None or current != self._revision
                sections = published_sections(session) if changed else []
            if changed:
                # built outside the unit of work: a new library's first embedding takes seconds
                self._index = KnowledgeIndex(
                    sections, self.settings,
                    self.embeddings() if self.embeddings is not None else None)
                self._revision = current
                self.builds += 1
            self._checked_at = now
            return self._index
