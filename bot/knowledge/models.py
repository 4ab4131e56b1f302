"""Knowledge-base tables, on the shared declarative `Base` (one metadata, one Alembic history).

An article is a stable identity (its `slug`, the file name of the Markdown export). Its content
lives in versions, each kept for ever: a version is written as a draft, published (it then
answers questions), superseded when a later version is published, or retired (withdrawn with
nothing in its place). At most one version of an article is published, and at most one is a
draft, enforced by partial unique indexes on both databases. A version's sections are the units
the assistant ranks and quotes.

`kb_answers` records which article version each answer showed, to whom and in which
conversation; never the question, which may hold personal data.
"""
from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.storage.models import Base, _enum
from bot.storage.times import utcnow


class VersionStatus(str, enum.Enum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"  # was published; a later version replaced it
    RETIRED = "retired"  # withdrawn: the article no longer answers


class KbArticle(Base):
    __tablename__ = "kb_articles"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(120), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))

    versions: Mapped[list[KbArticleVersion]] = relationship(
        back_populates="article", order_by="KbArticleVersion.version")


class KbArticleVersion(Base):
    __tablename__ = "kb_article_versions"
    __table_args__ = (
        UniqueConstraint("article_id", "version"),
        Index("uq_kb_article_versions_one_published", "article_id", unique=True,
              sqlite_where=text("status = 'published'"),
              postgresql_where=text("status = 'published'")),
        Index("uq_kb_article_versions_one_draft", "article_id", unique=True,
              sqlite_where=text("status = 'draft'"),
              postgresql_where=text("status = 'draft'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("kb_articles.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    status: Mapped[VersionStatus] = mapped_column(_enum(VersionStatus, "kb_version_status"),
                                                  index=True)
    topic: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)
    source_title: Mapped[str] = mapped_column(String(300))
    source_url: Mapped[str] = mapped_column(String(1000))
    owner: Mapped[str] = mapped_column(String(200))
    effective_from: Mapped[dt.date] = mapped_column(Date)
    review_by: Mapped[dt.date] = mapped_column(Date)
    # Department codes the version applies to; an empty list means every department.
    departments: Mapped[list[str]] = mapped_column(JSON)
    keywords: Mapped[list[str]] = mapped_column(JSON)
    change_note: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(100))
    # The latest status change (publish, supersede, retire): who and when.
    status_changed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                           default=utcnow, index=True)
    status_changed_by: Mapped[str] = mapped_column(String(100))
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    published_by: Mapped[str | None] = mapped_column(String(100))

    article: Mapped[KbArticle] = relationship(back_populates="versions")
    sections: Mapped[list[KbSection]] = relationship(
        back_populates="version", order_by="KbSection.position", cascade="all, delete-orphan")


class KbSection(Base):
    """One `## ` section of a version's body: what the assistant ranks and quotes."""

    __tablename__ = "kb_sections"
    __table_args__ = (UniqueConstraint("version_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("kb_article_versions.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)

    version: Mapped[KbArticleVersion] = relationship(back_populates="sections")


class KbAnswer(Base):
    """One answer the assistant gave: to whom, where, which article version and section, when.

    `article_id` is empty when the assistant had no article ("I don't have an article on that").
    """

    __tablename__ = "kb_answers"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    employee_id: Mapped[int | None] = mapped_column(ForeignKey("employees.id"), index=True)
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    channel: Mapped[str] = mapped_column(String(32))
    answered: Mapped[bool] = mapped_column(Boolean)
    article_id: Mapped[int | None] = mapped_column(ForeignKey("kb_articles.id"))
    version: Mapped[int | None] = mapped_column(Integer)
    section_position: Mapped[int | None] = mapped_column(Integer)
    topic: Mapped[str | None] = mapped_column(String(64))
