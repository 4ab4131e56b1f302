"""Reading the library for people: an article version for the employee's page, and the console's
list, search, history and the differences between two versions.

Everything returned is a plain value (never an ORM row), read in one short unit of work.
Employees see published, superseded and retired versions (the version they were told about,
even after a change), never drafts; the console sees everything.
"""
from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from bot.storage.database import Database

from .article_files import ArticleContent, render
from .library import content_of
from .models import KbArticle, KbArticleVersion, VersionStatus

MAX_SEARCH = 100
EMPLOYEE_VISIBLE = (VersionStatus.PUBLISHED, VersionStatus.SUPERSEDED, VersionStatus.RETIRED)


@dataclass(frozen=True)
class VersionView:
    article_id: int
    slug: str
    version: int
    status: VersionStatus
    content: ArticleContent
    created_at: dt.datetime
    created_by: str
    status_changed_at: dt.datetime
    status_changed_by: str
    published_at: dt.datetime | None
    published_by: str | None
    change_note: str
    live_version: int | None  # the article's published version now, if any

    @property
    def is_live(self) -> bool:
        return self.status is VersionStatus.PUBLISHED


def _view(slug: str, version: KbArticleVersion, live: int | None) -> VersionView:
    return VersionView(version.article_id, slug, version.version, version.status,
                       content_of(version), version.created_at, version.created_by,
                       version.status_changed_at, version.status_changed_by,
                       version.published_at, version.published_by, version.change_note, live)


def _live_number(session, article_id: int) -> int | None:
    return session.execute(select(KbArticleVersion.version).where(
        KbArticleVersion.article_id == article_id,
        KbArticleVersion.status == VersionStatus.PUBLISHED)).scalar_one_or_none()


def version_view(db: Database, article_id: int, version: int | None = None,
                 drafts: bool = False) -> VersionView | None:
    """One version of an article (default: the published one); None if there is none to show.

    `drafts`: the console's view, which includes a draft (and, with no version asked for,
    falls back to the latest version when nothing is published).
    """
    with db.unit_of_work() as session:
        article = session.get(KbArticle, article_id)
        if article is None:
            return None
        live = _live_number(session, article_id)
        wanted = version if version is not None else live
        if wanted is None and drafts:
            wanted = session.execute(select(func.max(KbArticleVersion.version)).where(
                KbArticleVersion.article_id == article_id)).scalar_one()
        if wanted is None:
            return None
        row = session.execute(select(KbArticleVersion).where(
            KbArticleVersion.article_id == article_id,
            KbArticleVersion.version == wanted)).scalar_one_or_none()
        if row is None or (not drafts and row.status not in EMPLOYEE_VISIBLE):
            return None
        return _view(article.slug, row, live)


@dataclass(frozen=True)
class ArticleRow:
    """One line of the console's list."""

    article_id: int
    slug: str
    topic: str
    title: str
    departments: tuple[str, ...]
    live_version: int | None
    draft_version: int | None
    latest_status: VersionStatus
    review_by: dt.date
    changed_at: dt.datetime
    changed_by: str

    def overdue(self, today: dt.date) -> bool:
        return self.review_by < today and self.latest_status is not VersionStatus.RETIRED


STATUS_FILTERS = ("", "published", "draft", "retired", "overdue")


def list_articles(db: Database, query: str = "", status: str = "", topic: str = "",
                  today: dt.date | None = None) -> list[ArticleRow]:
    """Every article, newest version's details; `query` matches title, slug, topic, keywords
    or text; `status`: published (has a live version), draft (has a draft), retired (nothing
    live), overdue (past its review date)."""
    today = today or dt.date.today()
    with db.unit_of_work() as session:
        articles = session.execute(select(KbArticle).options(
            selectinload(KbArticle.versions))).scalars().all()
        rows = []
        needle = query.strip().lower()[:MAX_SEARCH]
        for article in articles:
            versions = sorted(article.versions, key=lambda v: v.version)
            if not versions:
                continue
            live = next((v for v in versions if v.status is VersionStatus.PUBLISHED), None)
            draft = next((v for v in versions if v.status is VersionStatus.DRAFT), None)
            shown = live or versions[-1]
            newest = max(versions, key=lambda v: (v.status_changed_at, v.version))
            row = ArticleRow(article.id, article.slug, shown.topic, shown.title,
                             tuple(shown.departments or ()), live.version if live else None,
                             draft.version if draft else None, versions[-1].status,
                             shown.review_by, newest.status_changed_at, newest.status_changed_by)
            if needle and not any(needle in text.lower() for v in (shown, draft) if v
                                  for text in (v.title, v.topic, v.summary, v.body,
                                               " ".join(v.keywords or ()), article.slug)):
                continue
            if topic and row.topic != topic:
                continue
            if status == "published" and row.live_version is None:
                continue
            if status == "draft" and row.draft_version is None:
                continue
            if status == "retired" and row.live_version is not None:
                continue
            if status == "overdue" and not row.overdue(today):
                continue
            rows.append(row)
    return sorted(rows, key=lambda r: (r.topic, r.slug))


def history(db: Database, article_id: int) -> list[VersionView]:
    """Every version of an article, newest first, with who wrote it and changed its status."""
    with db.unit_of_work() as session:
        article = session.get(KbArticle, article_id)
        if article is None:
            return []
        live = _live_number(session, article_id)
        rows = session.execute(select(KbArticleVersion).where(
            KbArticleVersion.article_id == article_id)
            .order_by(KbArticleVersion.version.desc())).scalars().all()
        return [_view(article.slug, row, live) for row in rows]


def differences(old: VersionView, new: VersionView) -> list[str]:
    """A unified diff of two versions as files (front matter and body), line by line."""
    return list(difflib.unified_diff(
        render(old.content).splitlines(), render(new.content).splitlines(),
        fromfile=f"version {old.version}", tofile=f"version {new.version}", lineterm="", n=2))

