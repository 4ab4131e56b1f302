"""What a knowledge editor does in the console: write a draft, publish it, retire an article.

Each function is one unit of work: the version, the status change of the version it replaces
and the audit event are committed together. The console authenticates the editor and passes
their username; every change is audited under ("console", "helpdesk", username).

Edits are checked against the version the editor started from (`based_on`): if someone else
saved or published a version since, the change is refused (`EditConflict`) rather than silently
overwriting their work.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.storage.database import Database
from bot.storage.times import utcnow

from .article_files import ArticleContent
from .library import (
    add_version,
    audit_change,
    fill_version,
    latest_number,
    new_slug,
    published_version,
    supersede_published,
)
from .models import KbArticle, KbArticleVersion, VersionStatus


class KnowledgeError(Exception):
    """A refused change to the library; the message is fit to show the editor."""


class ArticleNotFound(KnowledgeError):
    pass


class EditConflict(KnowledgeError):
    pass


class NothingToPublish(KnowledgeError):
    pass


class NotPublished(KnowledgeError):
    pass


@dataclass(frozen=True)
class Saved:
    article_id: int
    version: int
    status: VersionStatus


def _article(session: Session, article_id: int, lock: bool = True) -> KbArticle:
    query = select(KbArticle).where(KbArticle.id == article_id)
    if lock:
        query = query.with_for_update()
    article = session.execute(query).scalar_one_or_none()
    if article is None:
        raise ArticleNotFound("There is no article with that number.")
    return article


def _article_to_write(session: Session, editor: str, article_id: int | None,
                      content: ArticleContent) -> KbArticle:
    """The article being edited (locked), or a new one named after its topic."""
    if article_id is not None:
        return _article(session, article_id)
    article = KbArticle(slug=new_slug(session, content.topic, content.departments,
                                      content.title), created_by=editor)
    session.add(article)
    session.flush()
    return article


def _draft(session: Session, article_id: int) -> KbArticleVersion | None:
    return session.execute(select(KbArticleVersion).where(
        KbArticleVersion.article_id == article_id,
        KbArticleVersion.status == VersionStatus.DRAFT)).scalar_one_or_none()


def _check_base(latest: int, based_on: int | None) -> None:
    if based_on is not None and based_on != latest:
        raise EditConflict(
            f"Not saved: someone saved version {latest} of this article while you were editing "
            f"version {based_on}. Open the article again to see their change, then redo yours.")


def _write_draft(session: Session, editor: str, article: KbArticle, content: ArticleContent,
                 note: str, based_on: int | None) -> KbArticleVersion:
    now = utcnow()
    latest = latest_number(session, article.id)
    _check_base(latest, based_on)
    draft = _draft(session, article.id)
    if draft is None:
        return add_version(session, article, content, latest + 1, VersionStatus.DRAFT, editor,
                           note, now)
    # One draft per article: saving again replaces its text (work in progress, never shown to
    # employees); published versions are never changed.
    draft.sections = []
    session.flush()
    fill_version(draft, content, editor, note, now)
    draft.status_changed_at = now
    draft.status_changed_by = editor
    return draft


def save_draft(db: Database, editor: str, article_id: int | None, content: ArticleContent,
               note: str = "", based_on: int | None = None) -> Saved:
    """Save a draft of an article (a new article when `article_id` is None).

    The draft is not shown to employees until it is published. Saving again replaces the
    draft's text (a draft is work in progress; published versions are never changed).
    """
    with db.unit_of_work() as session:
        article = _article_to_write(session, editor, article_id, content)
        version = _write_draft(session, editor, article, content, note, based_on)
        session.flush()
        audit_change(session, editor, "save_draft", article.id, f"draft version {version.version}")
        return Saved(article.id, version.version, VersionStatus.DRAFT)


def _publish(session: Session, editor: str, article: KbArticle, version: KbArticleVersion) -> None:
    now = utcnow()
    supersede_published(session, article.id, editor, now)
    version.status = VersionStatus.PUBLISHED
    version.status_changed_at = now
    version.status_changed_by = editor
    version.published_at = now
    version.published_by = editor
    session.flush()
    audit_change(session, editor, "publish", article.id, f"version {version.version} published")


def publish_draft(db: Database, editor: str, article_id: int,
                  based_on: int | None = None) -> Saved:
    """Publish the article's draft: it answers questions from now on (within the cache time)."""
    with db.unit_of_work() as session:
        article = _article(session, article_id)
        _check_base(latest_number(session, article_id), based_on)
        draft = _draft(session, article_id)
        if draft is None:
            raise NothingToPublish("Nothing to publish: this article has no draft.")
        _publish(session, editor, article, draft)
        return Saved(article.id, draft.version, VersionStatus.PUBLISHED)


def save_and_publish(db: Database, editor: str, article_id: int | None, content: ArticleContent,
                     note: str = "", based_on: int | None = None) -> Saved:
    """Save the editor's text as a new version and publish it, in one unit of work."""
    with db.unit_of_work() as session:
        article = _article_to_write(session, editor, article_id, content)
        version = _write_draft(session, editor, article, content, note, based_on)
        session.flush()
        _publish(session, editor, article, version)
        return Saved(article.id, version.version, VersionStatus.PUBLISHED)


def retire(db: Database, editor: str, article_id: int) -> Saved:
    """Withdraw the article: its published version stops answering; nothing replaces it."""
    with db.unit_of_work() as session:
        article = _article(session, article_id)
        current = published_version(session, article_id, lock=True)
        if current is None:
            raise NotPublished("Not retired: this article has no published version.")
        current.status = VersionStatus.RETIRED
        current.status_changed_at = utcnow()
        current.status_changed_by = editor
        session.flush()
        audit_change(session, editor, "retire", article.id, f"version {current.version} retired")
        return Saved(article.id, current.version, VersionStatus.RETIRED)


def reinstate(db: Database, editor: str, article_id: int) -> Saved:
    """Publish a retired article's last version again (nothing else is published)."""
    with db.unit_of_work() as session:
        article = _article(session, article_id)
        if published_version(session, article_id) is not None:
            raise KnowledgeError("Not reinstated: the article already has a published version.")
        retired = session.execute(
            select(KbArticleVersion).where(KbArticleVersion.article_id == article_id,
                                           KbArticleVersion.status == VersionStatus.RETIRED)
            .order_by(KbArticleVersion.version.desc()).limit(1)).scalar_one_or_none()
        if retired is None:
            raise NothingToPublish("Not reinstated: this article has no retired version.")
        _publish(session, editor, article, retired)
        return Saved(article.id, retired.version, VersionStatus.PUBLISHED)
