"""The knowledge base in the database, on SQLite and PostgreSQL: import and export, every version
kept, drafts, publishing and retiring (audited), the index refreshed from the database, the
department's own article, the record of answers given and reading it back."""
from __future__ import annotations

from dataclasses import replace

import datetime as dt
import shutil
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.identity import Principal
from bot.knowledge import answering
from bot.knowledge.answer_log import EmployeeNotFound, answers_for_employee, answers_given
from bot.knowledge.article_files import parse, render
from bot.knowledge.editing import (
    EditConflict,
    NothingToPublish,
    NotPublished,
    publish_draft,
    reinstate,
    retire,
    save_and_publish,
    save_draft,
)
from bot.knowledge.index_cache import IndexCache
from bot.knowledge.library import export_article_folder, import_article_folder, load_article
from bot.knowledge.models import KbAnswer, KbArticle, KbArticleVersion, VersionStatus
from bot.knowledge.ranking import LEXICAL
from bot.storage.database import Database
from bot.storage.models import AuditEvent, Employee

FIXTURES = Path(__file__).resolve().parents[1] / "knowledge" / "articles"
FIXTURE_SLUGS = ["annual_leave", "annual_leave--dds", "bank_holidays_policy", "sick_pay"]
SMALL_LIBRARY = replace(LEXICAL, min_confidence=0.2)  # four articles: small BM25 scores


@pytest.fixture
def library(demo_db: Database) -> Database:
    report = import_article_folder(demo_db, FIXTURES)
    assert report.written and sorted(report.added) == FIXTURE_SLUGS
    return demo_db


def article_id(db: Database, slug: str) -> int:
    with db.unit_of_work() as session:
        return session.execute(select(KbArticle.id).where(KbArticle.slug == slug)).scalar_one()


def versions(db: Database, slug: str) -> list[tuple[int, VersionStatus, str]]:
    with db.unit_of_work() as session:
        return [(v.version, v.status, v.created_by) for v in session.execute(
            select(KbArticleVersion).join(KbArticle).where(KbArticle.slug == slug)
            .order_by(KbArticleVersion.version)).scalars()]


def content(slug: str, **changes: object):
    original = parse((FIXTURES / f"{slug}.md").read_text())
    return original.model_copy(update=changes)


def audit_actions(db: Database) -> list[tuple[str, str, str | None]]:
    with db.unit_of_work() as session:
        return [(e.action, e.actor_principal, e.reason) for e in session.execute(
            select(AuditEvent).where(AuditEvent.record_type == "knowledge_article")
            .order_by(AuditEvent.id)).scalars()]


def test_an_import_stores_each_article_published_with_its_sections(library: Database) -> None:
    with library.unit_of_work() as session:
        article = load_article(session, article_id(library, "sick_pay"))
        [version] = article.versions
        assert (version.version, version.status, version.topic) == (
            1, VersionStatus.PUBLISHED, "sick_pay")
        assert [s.heading for s in version.sections] == [
            "How much sick pay you get", "Statutory Sick Pay", "Part-time staff"]
        assert version.effective_from == dt.date(2025, 4, 6)
        assert version.created_by == "import" and version.published_by == "import"
    assert versions(library, "annual_leave--dds") == [(2, VersionStatus.PUBLISHED, "import")]
    assert audit_actions(library)[-1][0] == "import"


def test_importing_again_changes_nothing_and_a_newer_file_version_is_published(
        library: Database, tmp_path: Path) -> None:
    again = import_article_folder(library, FIXTURES)
    assert again.added == [] and sorted(again.unchanged) == FIXTURE_SLUGS

    folder = tmp_path / "articles"
    shutil.copytree(FIXTURES, folder)
    path = folder / "sick_pay.md"
    path.write_text(path.read_text().replace("version: 1", "version: 2")
                    .replace("up to 28 weeks", "up to 28 weeks, from the first day"))
    newer = import_article_folder(library, folder)
    assert newer.updated == ["sick_pay"]
    assert versions(library, "sick_pay") == [(1, VersionStatus.SUPERSEDED, "import"),
                                             (2, VersionStatus.PUBLISHED, "import")]

    path.write_text(path.read_text().replace("the first day", "day one"))  # still version 2
    stale = import_article_folder(library, folder)
    assert stale.updated == [] and stale.skipped[0].startswith("sick_pay: the database already")
    assert versions(library, "sick_pay")[-1] == (2, VersionStatus.PUBLISHED, "import")


def test_a_folder_with_one_bad_file_imports_nothing(demo_db: Database, tmp_path: Path) -> None:
    folder = tmp_path / "articles"
    shutil.copytree(FIXTURES, folder)
    (folder / "overtime.md").write_text("## no front matter\n")
    (folder / "Bad Name.md").write_text((FIXTURES / "sick_pay.md").read_text())
    report = import_article_folder(demo_db, folder)
    assert not report.written
    assert any(e.startswith("overtime.md: must start with YAML") for e in report.errors)
    assert any(e.startswith("Bad Name.md: the file name") for e in report.errors)
    with demo_db.unit_of_work() as session:
        assert session.execute(select(KbArticle)).first() is None


def test_an_export_imports_into_a_new_database_as_the_same_articles(
        library: Database, tmp_path: Path, backend: str) -> None:
    written = export_article_folder(library, tmp_path / "export")
    assert sorted(written) == FIXTURE_SLUGS
    for slug in FIXTURE_SLUGS:
        exported = parse((tmp_path / "export" / f"{slug}.md").read_text())
        assert exported == parse((FIXTURES / f"{slug}.md").read_text())
        assert render(exported) == (tmp_path / "export" / f"{slug}.md").read_text()


def test_a_draft_is_kept_apart_until_published_and_every_version_is_kept(
        library: Database) -> None:
    article = article_id(library, "sick_pay")
    changed = content("sick_pay", summary="Full pay for six months, then half pay.")
    saved = save_draft(library, "hannah.reed", article, changed, "clearer", based_on=1)
    assert (saved.version, saved.status) == (2, VersionStatus.DRAFT)
    saved = save_draft(library, "hannah.reed", article, changed, "again", based_on=2)
    assert saved.version == 2  # the draft is saved over, not multiplied
    assert versions(library, "sick_pay") == [(1, VersionStatus.PUBLISHED, "import"),
                                             (2, VersionStatus.DRAFT, "hannah.reed")]
    published = publish_draft(library, "tom.jones", article, based_on=2)
    assert published.status is VersionStatus.PUBLISHED
    with library.unit_of_work() as session:
        [old, new] = load_article(session, article).versions
        assert (old.status, old.status_changed_by) == (VersionStatus.SUPERSEDED, "tom.jones")
        assert (new.status, new.created_by, new.published_by) == (
            VersionStatus.PUBLISHED, "hannah.reed", "tom.jones")
        assert new.summary == "Full pay for six months, then half pay."
        assert old.summary.startswith("Occupational sick pay is full pay")  # kept unchanged
    assert [a[:2] for a in audit_actions(library)[-3:]] == [
        ("save_draft", "console:helpdesk:hannah.reed"),
        ("save_draft", "console:helpdesk:hannah.reed"),
        ("publish", "console:helpdesk:tom.jones")]
    with pytest.raises(NothingToPublish):
        publish_draft(library, "tom.jones", article)


def test_an_edit_based_on_an_older_version_is_refused(library: Database) -> None:
    article = article_id(library, "sick_pay")
    save_and_publish(library, "hannah.reed", article, content("sick_pay", owner="HR"),
                     based_on=1)
    with pytest.raises(EditConflict, match="someone saved version 2"):
        save_and_publish(library, "sam.patel", article, content("sick_pay", owner="Payroll"),
                         based_on=1)
    assert versions(library, "sick_pay")[-1][:2] == (2, VersionStatus.PUBLISHED)


def test_retiring_withdraws_an_article_and_reinstating_brings_it_back(
        library: Database) -> None:
    article = article_id(library, "bank_holidays_policy")
    assert retire(library, "hannah.reed", article).status is VersionStatus.RETIRED
    with pytest.raises(NotPublished):
        retire(library, "hannah.reed", article)
    index = IndexCache(0, SMALL_LIBRARY).get(library)
    assert all(s.topic != "bank_holidays_policy" for s in index.sections)
    reinstate(library, "hannah.reed", article)
    assert versions(library, "bank_holidays_policy") == [(1, VersionStatus.PUBLISHED, "import")]
    assert [a[0] for a in audit_actions(library)[-2:]] == ["retire", "publish"]


def test_a_new_article_gets_a_slug_from_its_topic_and_department(library: Database) -> None:
    new = content("sick_pay", departments=("MPW",), title="Sick pay at MPW")
    saved = save_and_publish(library, "hannah.reed", None, new)
    with library.unit_of_work() as session:
        assert session.get(KbArticle, saved.article_id).slug == "sick_pay--mpw"


def test_the_database_allows_one_published_version_per_article(library: Database) -> None:
    article = article_id(library, "sick_pay")
    save_draft(library, "hannah.reed", article, content("sick_pay", owner="HR"))
    with pytest.raises(IntegrityError):
        with library.unit_of_work() as session:
            session.execute(update(KbArticleVersion).where(
                KbArticleVersion.article_id == article).values(status=VersionStatus.PUBLISHED))


def test_the_index_is_rebuilt_only_when_the_library_changed(library: Database) -> None:
    now = [0.0]
    cache = IndexCache(refresh_seconds=10, settings=SMALL_LIBRARY, clock=lambda: now[0])
    first = cache.get(library)
    assert cache.get(library) is first and cache.builds == 1
    article = article_id(library, "sick_pay")
    save_and_publish(library, "hannah.reed", article,
                     content("sick_pay", summary="Sick pay is now paid for twelve months."))
    assert cache.get(library) is first  # within the refresh interval: not looked at
    now[0] = 10.0
    rebuilt = cache.get(library)
    assert rebuilt is not first and cache.builds == 2
    assert any("twelve months" in s.text for s in rebuilt.sections)
    now[0] = 20.0
    assert cache.get(library) is rebuilt and cache.builds == 2  # unchanged: not rebuilt


def principal(subject: str) -> Principal:
    return Principal("widget", DEMO_WIDGET_ISSUER, subject)


def employee(db: Database, subject: str) -> tuple[int, str, str]:
    with db.unit_of_work() as session:
        from bot.identity import find_employee
        found = find_employee(session, principal(subject))
        return found.id, found.employee_number, found.department_code


@pytest.fixture
def small_index(monkeypatch: pytest.MonkeyPatch) -> None:
    """The assistant's own path, with the small library's bar."""
    caches: dict[str, IndexCache] = {}

    def cache_for(url: str, refresh_seconds: float) -> IndexCache:
        return caches.setdefault(url, IndexCache(refresh_seconds, SMALL_LIBRARY))

    monkeypatch.setattr(answering, "_cache_for", cache_for)


def test_each_caller_gets_their_departments_article_and_the_answer_is_recorded(
        library: Database, small_index: None) -> None:
    question = "how many days annual leave do I get"
    alice_id, alice_number, alice_department = employee(library, "alice.hughes")
    others = {"DDS": "MPW", "MPW": "DDS"}
    with library.unit_of_work() as session:
        someone_else = session.execute(select(Employee).join(Employee.department).where(
            Employee.department.has(code=others[alice_department]))).scalars().first()
    dds_article = article_id(library, "annual_leave--dds")
    general = article_id(library, "annual_leave")
    told = answering.answer_question(library, principal("alice.hughes"), question, "conv-a")
    assert told.article_id == (dds_article if alice_department == "DDS" else general)
    unknown = answering.answer_question(library, principal("nobody"), question, "conv-x")
    assert unknown.article_id == general
    assert someone_else is not None
    with library.unit_of_work() as session:
        rows = session.execute(select(KbAnswer).order_by(KbAnswer.id)).scalars().all()
        assert [(r.employee_id, r.conversation_id, r.article_id, r.answered) for r in rows] == [
            (alice_id, "conv-a", told.article_id, True), (None, "conv-x", general, True)]
        assert rows[0].version == told.version and rows[0].topic == "annual_leave"


def test_what_an_employee_was_told_is_read_back_by_day_and_audited(
        library: Database, small_index: None) -> None:
    alice_id, alice_number, _ = employee(library, "alice.hughes")
    answering.answer_question(library, principal("alice.hughes"),
                              "how much sick pay do I get", "conv-a")
    answering.answer_question(library, principal("alice.hughes"),
                              "can I bring my dog to work", "conv-a")
    with library.unit_of_work() as session:
        session.execute(update(KbAnswer).values(
            at=dt.datetime(2026, 3, 3, 9, 30, tzinfo=dt.timezone.utc)))
    march_3 = dt.date(2026, 3, 3)
    with library.unit_of_work() as session:
        given = answers_for_employee(session, alice_id, march_3, march_3)
        assert answers_for_employee(session, alice_id, dt.date(2026, 3, 4), None) == []
    assert [(g.answered, g.topic, g.title) for g in given] == [
        (True, "sick_pay", "Sick pay"), (False, None, "")]
    assert given[0].excerpt.startswith("Occupational sick pay is full pay")
    reader = Principal("console", "helpdesk", "dev.okafor")
    seen = answers_given(library, reader, alice_number.lower(), march_3, march_3)
    assert seen.employee_number == alice_number and len(seen.answers) == 2
    with library.unit_of_work() as session:
        event = session.execute(select(AuditEvent).where(
            AuditEvent.record_type == "knowledge_answers")).scalar_one()
        assert (event.actor_principal, event.subject_employee_id) == (
            "console:helpdesk:dev.okafor", alice_id)
    with pytest.raises(EmployeeNotFound):
        answers_given(library, reader, "E999999")
