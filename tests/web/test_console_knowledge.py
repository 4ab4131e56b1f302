"""The knowledge base in the web app: the console's section for knowledge editors (list,
search, edit with preview, draft/publish/retire, history with differences, review dates), the
answers-given view for data protection, and the article page employees reach from the chat."""
from __future__ import annotations

from dataclasses import replace

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.config import Settings
from bot.demo.description import DEMO_WIDGET_ISSUER
from bot.handoff import accounts
from bot.identity import Principal
from bot.knowledge import answering
from bot.knowledge.index_cache import IndexCache
from bot.knowledge.library import import_article_folder
from bot.knowledge.models import KbArticle, KbArticleVersion, VersionStatus
from bot.knowledge.ranking import LEXICAL
from bot.storage.database import Database
from bot.storage.models import AuditEvent
from bot.web import session_tokens
from bot.web.app import create_app
from tests.knowledge_console import editor_form

from .conftest import AGENT_PASSWORD, SECRET, console_sign_in

FIXTURES = Path(__file__).resolve().parents[1] / "knowledge" / "articles"
ACCOUNTS = (("sam.hr", "hr", "agent"), ("kim.kb", "", "knowledge_editor"),
            ("dee.dp", "", "data_protection"))


@pytest.fixture(scope="module")
def library(database: Database) -> Database:
    with database.unit_of_work() as session:
        existing = set(session.scalars(select(accounts.Agent.username)))
        for username, skills, roles in ACCOUNTS:
            if username not in existing:
                accounts.create_agent(session, username, username, AGENT_PASSWORD, skills,
                                      roles=roles)
    assert import_article_folder(database, FIXTURES).written
    return database


@pytest_asyncio.fixture
async def web(aiohttp_client: Callable[..., Any], library: Database) -> TestClient:
    settings = Settings(database_url=library.url, widget_token_secret=SECRET,
                        rasa_url="http://127.0.0.1:9")
    return await aiohttp_client(create_app(settings, library))


async def editor(client: TestClient, username: str = "kim.kb") -> str:
    return await console_sign_in(client, username, page="/console/knowledge")


def article_id(db: Database, slug: str) -> int:
    with db.unit_of_work() as session:
        return session.execute(select(KbArticle.id).where(KbArticle.slug == slug)).scalar_one()


def versions(db: Database, article: int) -> list[tuple[int, VersionStatus, str]]:
    with db.unit_of_work() as session:
        return [(v.version, v.status, v.created_by) for v in session.execute(
            select(KbArticleVersion).where(KbArticleVersion.article_id == article)
            .order_by(KbArticleVersion.version)).scalars()]


async def test_the_section_is_for_knowledge_editors_only(web: TestClient) -> None:
    assert (await web.get("/console/knowledge", allow_redirects=False)).status == 302
    await console_sign_in(web, "sam.hr", page="/console/tickets")
    page = await web.get("/console/knowledge")
    assert page.status == 403
    assert 'href="/console/knowledge"' not in await page.text()
    await editor(web)
    page = await web.get("/console/knowledge")
    html = await page.text()
    assert page.status == 200 and 'href="/console/knowledge"' in html
    assert 'href="/console/tickets"' not in html
    assert (await web.get("/console/knowledge-answers")).status == 403


async def test_the_list_searches_and_flags_articles_past_their_review_date(
        web: TestClient) -> None:
    await editor(web)
    html = await (await web.get("/console/knowledge")).text()
    for title in ("Annual leave", "Sick pay", "Bank holidays"):
        assert f">{title}</a>" in html
    assert "Review overdue" in html  # the fixtures' review dates are in the past
    found = await (await web.get("/console/knowledge", params={"q": "statutory"})).text()
    assert ">Sick pay</a>" in found and ">Bank holidays</a>" not in found
    by_topic = await (await web.get("/console/knowledge",
                                    params={"topic": "annual_leave"})).text()
    assert "Annual leave in the Department for Digital Services" in by_topic
    assert ">Sick pay</a>" not in by_topic
    bad = await web.get("/console/knowledge", params={"status": "sideways", "topic": "dogs"})
    assert bad.status == 400
    assert "Choose a status from the list. Choose a topic from the list." in await bad.text()


async def test_an_edit_is_previewed_then_published_with_its_history(
        web: TestClient, library: Database) -> None:
    csrf = await editor(web)
    article = article_id(library, "bank_holidays_policy")
    before = versions(library, article)
    form = editor_form(await (await web.get(f"/console/knowledge/{article}/edit")).text())
    form["body"] = form["body"].replace("a day off in lieu", "a day and a half off in lieu")
    form["note"] = "time and a half in lieu"

    preview = await web.post(f"/console/knowledge/{article}/edit",
                             data={**form, "do": "preview", "csrf_token": csrf})
    html = await preview.text()
    assert preview.status == 200 and "Preview (not saved)" in html
    assert "<h2>Working on a bank holiday</h2>" in html
    assert versions(library, article) == before

    saved = await web.post(f"/console/knowledge/{article}/edit",
                           data={**form, "do": "draft", "csrf_token": csrf},
                           allow_redirects=False)
    assert saved.status == 303
    assert saved.headers["Location"] == f"/console/knowledge/{article}?done=draft"
    latest = before[-1][0]
    assert versions(library, article)[-1] == (latest + 1, VersionStatus.DRAFT, "kim.kb")
    page = await (await web.get(saved.headers["Location"])).text()
    assert "Draft saved" in page and f"Publish draft (version {latest + 1})" in page

    published = await web.post(f"/console/knowledge/{article}/publish",
                               data={"csrf_token": csrf, "based_on": str(latest + 1)},
                               allow_redirects=False)
    assert published.status == 303
    assert [v[1] for v in versions(library, article)[-2:]] == [
        VersionStatus.SUPERSEDED, VersionStatus.PUBLISHED]

    history = await (await web.get(f"/console/knowledge/{article}/history")).text()
    assert "Superseded" in history and "time and a half in lieu" in history
    assert history.count("by kim.kb") >= 2
    assert "<del>-If you have to work on a bank holiday, you get a day off in lieu" in history
    assert "<ins>+If you have to work on a bank holiday, you get a day and a half off" in history
    old = await (await web.get(f"/console/knowledge/{article}/versions/{latest}")).text()
    assert "a day off in lieu" in old and "Superseded" in old
    with library.unit_of_work() as session:
        actions = session.execute(select(AuditEvent.action).where(
            AuditEvent.record_type == "knowledge_article",
            AuditEvent.actor_principal == "console:helpdesk:kim.kb")).scalars().all()
        assert actions[-2:] == ["save_draft", "publish"]


@pytest.mark.parametrize("change, message", [
    ({"topic": "dogs"}, "topic: unknown topic 'dogs'"),
    ({"effective_from": "next year"}, "effective_from"),
    ({"body": "no sections at all"}, "needs at least one section"),
    ({"source_url": "javascript:alert(1)"}, "must be a web address"),
    ({"departments": "Digital Services"}, "is not a department code"),
    ({"do": "delete"}, "Choose Preview, Save draft or Publish."),
    ({"based_on": ""}, "missing the version it was based on"),
])
async def test_bad_input_is_refused_with_the_reason_and_keeps_what_was_typed(
        web: TestClient, library: Database, change: dict[str, str], message: str) -> None:
    csrf = await editor(web)
    article = article_id(library, "sick_pay")
    form = editor_form(await (await web.get(f"/console/knowledge/{article}/edit")).text())
    before = versions(library, article)
    data = {**form, "do": "publish", "csrf_token": csrf, "note": "typed note 1234", **change}
    response = await web.post(f"/console/knowledge/{article}/edit", data=data)
    html = await response.text()
    assert response.status == 400
    assert message in html.replace("&#x27;", "'")
    assert "typed note 1234" in html
    assert versions(library, article) == before


async def test_markup_in_an_article_is_shown_as_text(web: TestClient,
                                                     library: Database) -> None:
    csrf = await editor(web)
    article = article_id(library, "sick_pay")
    form = editor_form(await (await web.get(f"/console/knowledge/{article}/edit")).text())
    form["body"] += "\n\n## Extra\n<script>alert(1)</script> [x](javascript:alert(2))"
    html = await (await web.post(f"/console/knowledge/{article}/edit",
                                 data={**form, "do": "preview", "csrf_token": csrf})).text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript:' not in html


async def test_forms_need_the_csrf_token_and_a_stale_edit_is_refused(
        web: TestClient, library: Database) -> None:
    csrf = await editor(web)
    article = article_id(library, "annual_leave")
    form = editor_form(await (await web.get(f"/console/knowledge/{article}/edit")).text())
    assert (await web.post(f"/console/knowledge/{article}/edit",
                           data={**form, "do": "draft"})).status == 403
    assert (await web.post(f"/console/knowledge/{article}/retire",
                           data={"csrf_token": "forged"})).status == 403
    first = await web.post(f"/console/knowledge/{article}/edit",
                           data={**form, "do": "publish", "csrf_token": csrf},
                           allow_redirects=False)
    assert first.status == 303
    second = await web.post(f"/console/knowledge/{article}/edit",
                            data={**form, "do": "publish", "csrf_token": csrf})
    assert second.status == 409
    assert "someone saved version" in await second.text()


async def test_retiring_and_reinstating(web: TestClient, library: Database) -> None:
    csrf = await editor(web)
    article = article_id(library, "annual_leave--dds")
    retired = await web.post(f"/console/knowledge/{article}/retire", data={"csrf_token": csrf},
                             allow_redirects=False)
    assert retired.status == 303
    page = await (await web.get(retired.headers["Location"])).text()
    assert "Retired. The assistant no longer answers" in page and ">Reinstate<" in page
    again = await web.post(f"/console/knowledge/{article}/retire", data={"csrf_token": csrf})
    assert again.status == 409 and "no published version" in await again.text()
    assert (await web.post(f"/console/knowledge/{article}/reinstate",
                           data={"csrf_token": csrf}, allow_redirects=False)).status == 303
    assert versions(library, article)[-1][1] is VersionStatus.PUBLISHED


async def test_unknown_articles_and_versions_are_not_found(web: TestClient) -> None:
    await editor(web)
    for path in ("/console/knowledge/999999", "/console/knowledge/abc",
                 "/console/knowledge/1/versions/99", "/console/knowledge/999999/history"):
        assert (await web.get(path)).status == 404, path
    assert (await web.get("/console/knowledge/1/history", params={"from": "x"})).status == 400


def employee_cookie(web: TestClient, subject: str = "alice.hughes") -> dict[str, str]:
    settings = Settings(widget_token_secret=SECRET)
    return {"Cookie": f"hd_session={session_tokens.mint(settings, subject)}"}


async def test_employees_read_published_versions_never_drafts(
        web: TestClient, library: Database) -> None:
    article = article_id(library, "sick_pay")
    assert (await web.get(f"/knowledge/articles/{article}",
                          allow_redirects=False)).status == 302
    cookie = employee_cookie(web)
    page = await web.get(f"/knowledge/articles/{article}", headers=cookie)
    html = await page.text()
    assert page.status == 200 and "<h1 id=\"article-title\">Sick pay</h1>" in html
    assert "statutory-sick-pay" in html and "<h2>Statutory Sick Pay</h2>" in html
    assert (await web.get(f"/knowledge/articles/{article}?version=x",
                          headers=cookie)).status == 400
    assert (await web.get(f"/knowledge/articles/{article}?version=999",
                          headers=cookie)).status == 404
    assert (await web.get("/knowledge/articles/0", headers=cookie)).status == 404
    csrf = await editor(web)
    form = editor_form(await (await web.get(f"/console/knowledge/{article}/edit")).text())
    await web.post(f"/console/knowledge/{article}/edit",
                   data={**form, "do": "draft", "csrf_token": csrf}, allow_redirects=False)
    draft = versions(library, article)[-1]
    assert draft[1] is VersionStatus.DRAFT
    assert (await web.get(f"/knowledge/articles/{article}?version={draft[0]}",
                          headers=cookie)).status == 404


async def test_an_old_version_says_it_was_replaced(web: TestClient, library: Database) -> None:
    article = article_id(library, "bank_holidays_policy")
    superseded = [v for v, status, _ in versions(library, article)
                  if status is VersionStatus.SUPERSEDED]
    if not superseded:  # the edit test ran elsewhere: make one
        csrf = await editor(web)
        form = editor_form(await (await web.get(f"/console/knowledge/{article}/edit")).text())
        await web.post(f"/console/knowledge/{article}/edit",
                       data={**form, "summary": form["summary"] + " Updated.", "do": "publish",
                             "csrf_token": csrf}, allow_redirects=False)
        superseded = [1]
    html = await (await web.get(f"/knowledge/articles/{article}?version={superseded[0]}",
                                headers=employee_cookie(web))).text()
    assert "which has been replaced" in html


async def test_data_protection_sees_what_an_employee_was_told_and_it_is_audited(
        web: TestClient, library: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(answering, "_cache_for", lambda url, seconds: IndexCache(
        0, replace(LEXICAL, min_confidence=0.2), embeddings=None))
    alice = Principal("widget", DEMO_WIDGET_ISSUER, "alice.hughes")
    answering.answer_question(library, alice, "how much sick pay do I get", "conv-kb")
    with library.unit_of_work() as session:
        from bot.identity import find_employee
        number = find_employee(session, alice).employee_number
    await console_sign_in(web, "dee.dp", page="/console/knowledge-answers")
    today = dt.date.today().isoformat()
    page = await web.get("/console/knowledge-answers",
                         params={"employee": number, "from": today, "to": today})
    html = await page.text()
    assert page.status == 200 and "Sick pay, version 1</a> (sick_pay)" in html
    assert "Occupational sick pay is full pay" in html
    with library.unit_of_work() as session:
        assert session.execute(select(AuditEvent).where(
            AuditEvent.record_type == "knowledge_answers",
            AuditEvent.actor_principal == "console:helpdesk:dee.dp")).first() is not None
    bad = await web.get("/console/knowledge-answers", params={"employee": number,
                                                              "from": "3 March"})
    assert bad.status == 400
    missing = await web.get("/console/knowledge-answers", params={"employee": "E000000"})
    assert missing.status == 404
