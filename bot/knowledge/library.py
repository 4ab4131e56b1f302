"""The article library in the database: versions written, published, superseded and retired;
import from and export to a folder of Markdown files.

Every function that changes the library takes an open session (the caller's unit of work) or a
`Database` and commits in one unit of work, so a version, its sections, the status change of the
version it replaces and the audit event are written together or not at all.
"""
from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from bot.audit import record_access
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import AuditOutcome
from bot.storage.times import utcnow
from bot.tickets.agent import CONSOLE_CHANNEL, CONSOLE_TENANT

from .article_files import ArticleContent, ArticleFormatError, parse, render, slug_problem
from .models import KbArticle, KbArticleVersion, KbSection, VersionStatus

log = logging.getLogger(__name__)

IMPORT_ACTOR = "import"
RECORD_TYPE = "knowledge_article"


def audit_change(session: Session, actor: str, action: str, article_id: int | None,
                 detail: str) -> None:
    """An audit event for a change to the library (bot.audit), in the caller's unit of work.

    Console editors act as the principal ("console", "helpdesk", username); imports as
    ("console", "helpdesk", "import").
    """
    where = f"article {article_id}: " if article_id is not None else ""
    record_access(session, principal=Principal(CONSOLE_CHANNEL, CONSOLE_TENANT, actor),
                  actor=None, subject_employee_id=None, record_type=RECORD_TYPE, action=action,
                  outcome=AuditOutcome.ALLOWED, reason=(where + detail)[:200])


def content_of(version: KbArticleVersion) -> ArticleContent:
    """A stored version as the content it was written from."""
    return ArticleContent.model_construct(
        topic=version.topic, title=version.title, summary=version.summary,
        source_title=version.source_title, source_url=version.source_url, owner=version.owner,
        effective_from=version.effective_from, review_by=version.review_by,
        version=version.version, departments=tuple(version.departments or ()),
        keywords=tuple(version.keywords or ()), body=version.body)


def same_content(a: ArticleContent, b: ArticleContent) -> bool:
    """Equal apart from the version number."""
    return a.model_dump(exclude={"version"}) == b.model_dump(exclude={"version"})


def fill_version(version: KbArticleVersion, content: ArticleContent, actor: str, note: str,
                 now: dt.datetime) -> None:
    """Write `content` into a version (a new one, or the article's draft being saved again)."""
    for name in ("topic", "title", "summary", "body", "source_title", "source_url", "owner",
                 "effective_from", "review_by"):
        setattr(version, name, getattr(content, name))
    version.departments = list(content.departments)
    version.keywords = list(content.keywords)
    version.change_note = note[:500]
    version.created_at = now
    version.created_by = actor
    version.sections = [KbSection(position=index, heading=section.heading or content.title,
                                  body=section.body)
                        for index, section in enumerate(content.sections, start=1)]


def add_version(session: Session, article: KbArticle, content: ArticleContent, number: int,
                status: VersionStatus, actor: str, note: str = "",
                now: dt.datetime | None = None) -> KbArticleVersion:
    """A new version of `article` with its sections (the caller sets other versions' status)."""
    now = now or utcnow()
    published = status is VersionStatus.PUBLISHED
    version = KbArticleVersion(
        article=article, version=number, status=status, status_changed_at=now,
        status_changed_by=actor, published_at=now if published else None,
        published_by=actor if published else None)
    fill_version(version, content, actor, note, now)
    session.add(version)
    return version


def published_version(session: Session, article_id: int,
                      lock: bool = False) -> KbArticleVersion | None:
    query = select(KbArticleVersion).where(KbArticleVersion.article_id == article_id,
                                           KbArticleVersion.status == VersionStatus.PUBLISHED)
    if lock:
        query = query.with_for_update()
    return session.execute(query).scalar_one_or_none()


def supersede_published(session: Session, article_id: int, actor: str,
                        now: dt.datetime) -> KbArticleVersion | None:
    """Mark the article's published version superseded (before publishing another)."""
    current = published_version(session, article_id, lock=True)
    if current is not None:
        current.status = VersionStatus.SUPERSEDED
        current.status_changed_at = now
        current.status_changed_by = actor
        session.flush()  # the partial unique index sees one published version at a time
    return current


def latest_number(session: Session, article_id: int) -> int:
    return session.execute(select(func.max(KbArticleVersion.version))
                           .where(KbArticleVersion.article_id == article_id)).scalar_one() or 0


# --- import and export ---------------------------------------------------------------------

@dataclass
class ImportReport:
    """What an import did, file by file; `errors` means nothing was written."""

    added: list[str] = field(default_factory=list)  # new articles
    updated: list[str] = field(default_factory=list)  # a newer version published
    unchanged: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # the database holds newer work
    errors: list[str] = field(default_factory=list)

    @property
    def written(self) -> bool:
        return not self.errors

    def summary(self) -> str:
        if self.errors:
            return ("knowledge import refused, nothing written:\n  "
                    + "\n  ".join(self.errors))
        lines = [f"knowledge import: {len(self.added)} added, {len(self.updated)} updated, "
                 f"{len(self.unchanged)} unchanged, {len(self.skipped)} skipped"]
        lines += [f"  skipped {line}" for line in self.skipped]
        return "\n".join(lines)


def read_folder(folder: Path) -> tuple[dict[str, ArticleContent], list[str]]:
    """Every `*.md` file of `folder` but README.md, parsed; (articles by slug, errors)."""
    articles: dict[str, ArticleContent] = {}
    errors: list[str] = []
    if not folder.is_dir():
        return {}, [f"{folder}: not a folder"]
    for path in sorted(folder.glob("*.md")):
        if path.name.lower() == "readme.md":
            continue
        problem = slug_problem(path.stem)
        if problem:
            errors.append(f"{path.name}: {problem}")
            continue
        try:
            articles[path.stem] = parse(path.read_text(encoding="utf-8"), path.name)
        except (ArticleFormatError, UnicodeDecodeError) as error:
            errors.append(str(error))
    return articles, errors


def import_articles(session: Session, articles: dict[str, ArticleContent],
                    actor: str = IMPORT_ACTOR) -> ImportReport:
    """Add new articles, and publish a file's version when it is newer than every stored one.

    A file whose version the database already holds (or exceeds) never overwrites it: edits made
    in the console bump the version, so importing the starting library again changes nothing.
    """
    report = ImportReport()
    now = utcnow()
    existing = {a.slug: a for a in session.execute(
        select(KbArticle).where(KbArticle.slug.in_(list(articles)))).scalars()}
    for slug, content in sorted(articles.items()):
        article = existing.get(slug)
        if article is None:
            article = KbArticle(slug=slug, created_by=actor, created_at=now)
            session.add(article)
            add_version(session, article, content, content.version, VersionStatus.PUBLISHED,
                        actor, "imported", now)
            report.added.append(slug)
            continue
        latest = latest_number(session, article.id)
        if content.version > latest:
            supersede_published(session, article.id, actor, now)
            add_version(session, article, content, content.version, VersionStatus.PUBLISHED,
                        actor, "imported", now)
            report.updated.append(slug)
            continue
        stored = session.execute(select(KbArticleVersion).where(
            KbArticleVersion.article_id == article.id,
            KbArticleVersion.version == content.version)).scalar_one_or_none()
        if stored is not None and same_content(content_of(stored), content):
            report.unchanged.append(slug)
        else:
            report.skipped.append(
                f"{slug}: the database already has version {latest} (edited in the console?); "
                f"give the file version {latest + 1} or more to publish it")
    session.flush()
    return report


def import_article_folder(db: Database, folder: Path | str, actor: str = IMPORT_ACTOR) -> ImportReport:
    """Import a folder of article files in one unit of work: all of it, or (on any error) none."""
    articles, errors = read_folder(Path(folder))
    if errors:
        return ImportReport(errors=errors)
    with db.unit_of_work() as session:
        report = import_articles(session, articles, actor)
        if report.added or report.updated:
            audit_change(session, actor, "import", None,
                         f"{len(report.added)} added, {len(report.updated)} updated")
    return report


def export_article_folder(db: Database, folder: Path | str) -> list[str]:
    """Write each article's published version to `<slug>.md`; the slugs written."""
    target = Path(folder)
    target.mkdir(parents=True, exist_ok=True)
    with db.unit_of_work() as session:
        rows = session.execute(
            select(KbArticle.slug, KbArticleVersion)
            .join(KbArticleVersion, KbArticleVersion.article_id == KbArticle.id)
            .where(KbArticleVersion.status == VersionStatus.PUBLISHED)
            .order_by(KbArticle.slug)).all()
        files = {slug: render(content_of(version)) for slug, version in rows}
    for slug, text in files.items():
        (target / f"{slug}.md").write_text(text, encoding="utf-8")
    return list(files)


# --- reading ----------------------------------------------------------------------------------

def load_article(session: Session, article_id: int) -> KbArticle | None:
    return session.execute(
        select(KbArticle).where(KbArticle.id == article_id)
        .options(selectinload(KbArticle.versions).selectinload(KbArticleVersion.sections))
    ).scalar_one_or_none()


def new_slug(session: Session, topic: str, departments: tuple[str, ...], title: str) -> str:
    """`topic`, else `topic--dept`, else `topic--<words of the title>`, made unique."""
    suffix = "-".join(d.lower() for d in departments) or re.sub(
        r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40] or "article"
    candidates = [topic] if not departments else []
    candidates.append(f"{topic}--{suffix}"[:118].rstrip("-"))
    taken = set(session.execute(select(KbArticle.slug).where(
        KbArticle.slug.like(f"{topic}%"))).scalars())
    for candidate in candidates:
        if candidate not in taken:
            return candidate
    number = 2
    while f"{candidates[-1]}-{number}" in taken:
        number += 1
    return f"{candidates[-1]}-{number}"
