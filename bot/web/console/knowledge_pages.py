"""The console's knowledge section (role `knowledge_editor`): pages and forms.

    GET  /console/knowledge                      list and search; articles past review flagged
    GET  /console/knowledge/new                  the editor, empty
    POST /console/knowledge/new                  preview, save a draft, or publish
    GET  /console/knowledge/{id}                 one article: facts, text, actions
    GET  /console/knowledge/{id}/edit            the editor, from the draft or published text
    POST /console/knowledge/{id}/edit            preview, save a draft, or publish
    POST /console/knowledge/{id}/publish|retire|reinstate
    GET  /console/knowledge/{id}/history         every version; ?from=&to= their differences
    GET  /console/knowledge/{id}/versions/{n}    one version as it was
    GET  /console/knowledge-answers              what an employee was told (`data_protection`)

Forms are plain HTML with the session's CSRF token (`role_command`); a success redirects
(post/redirect/get) with a fixed `?done=` word; a refusal is a 4xx page with the reason and
everything the editor typed. Every change is audited by `bot.knowledge.editing`.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import logging

from aiohttp import web

from bot.knowledge import editing
from bot.knowledge.answer_log import EmployeeNotFound, answers_given
from bot.knowledge.article_files import ArticleContent, ArticleFormatError, content_from
from bot.knowledge.catalogue import (
    STATUS_FILTERS,
    VersionView,
    differences,
    history,
    list_articles,
    version_view,
)
from bot.knowledge.models import VersionStatus
from bot.knowledge.topics import TOPICS
from bot.roles import Role

from ..forms import read_form
from ..keys import DATABASE
from ..rendering import Safe, escape
from . import views
from .auth import SESSION, role_command, role_page
from .knowledge_views import (
    BASE,
    FIELDS,
    EditorState,
    answers_page,
    article_page,
    article_url,
    editor_page,
    history_page,
    list_page,
    version_page,
)

log = logging.getLogger(__name__)

SECTION = "knowledge"
ANSWERS_SECTION = "answers"
MAX_NUMBER = 2**31 - 1
editor_page_role = role_page(Role.KNOWLEDGE_EDITOR)
editor_command = role_command(Role.KNOWLEDGE_EDITOR)

views.add_section(SECTION, BASE, "Knowledge base", Role.KNOWLEDGE_EDITOR)
views.add_section(ANSWERS_SECTION, "/console/knowledge-answers", "Answers given",
                  Role.DATA_PROTECTION)


def _today() -> dt.date:
    return dt.date.today()


def _number(value: str | None) -> int | None:
    if value is None or not value.isdigit() or not 0 < int(value) <= MAX_NUMBER:
        return None
    return int(value)


def _page(request: web.Request, title: str, body: Safe, status: int = 200,
          section: str = SECTION) -> web.Response:
    active = request[SESSION]
    return views.page(title, body, active.agent, active.csrf_token, status=status,
                      section=section)


def _message(request: web.Request, status: int, title: str, text: str) -> web.Response:
    return _page(request, title, Safe(f"<h1>{escape(title)}</h1><p>{escape(text)}</p>"
                                      f'<p><a href="{BASE}">All articles</a></p>'), status)


def _not_found(request: web.Request) -> web.Response:
    return _message(request, 404, "No such article", "There is no article with that number.")


def _article_id(request: web.Request) -> int | None:
    return _number(request.match_info["article_id"])


@editor_page_role
async def article_list(request: web.Request) -> web.StreamResponse:
    q = request.query.get("q", "")[:100]
    status, topic = request.query.get("status", ""), request.query.get("topic", "")
    problems = []
    if status not in STATUS_FILTERS:
        problems.append("Choose a status from the list.")
        status = ""
    if topic and topic not in TOPICS:
        problems.append("Choose a topic from the list.")
        topic = ""
    rows = await asyncio.to_thread(list_articles, request.app[DATABASE], q, status, topic,
                                   _today())
    body = list_page(rows, q, status, topic, _today(), " ".join(problems))
    return _page(request, "Knowledge base", body, 400 if problems else 200)


async def _show_article(request: web.Request, article_id: int, done: str = "",
                        error: str = "", status: int = 200) -> web.Response:
    db = request.app[DATABASE]
    versions = await asyncio.to_thread(history, db, article_id)
    if not versions:
        return _not_found(request)
    live = next((v for v in versions if v.status is VersionStatus.PUBLISHED), None)
    draft = next((v.version for v in versions if v.status is VersionStatus.DRAFT), None)
    shown = live or versions[0]
    body = article_page(shown, versions[0].version, draft, request[SESSION].csrf_token,
                        _today(), done, error)
    return _page(request, shown.content.title, body, status)


@editor_page_role
async def article(request: web.Request) -> web.StreamResponse:
    article_id = _article_id(request)
    if article_id is None:
        return _not_found(request)
    return await _show_article(request, article_id, request.query.get("done", ""))


@editor_page_role
async def new_form(request: web.Request) -> web.StreamResponse:
    return _page(request, "New article", editor_page(
        f"{BASE}/new", "Write a new article", EditorState(), request[SESSION].csrf_token))


async def _versions(request: web.Request) -> tuple[int, list[VersionView]] | None:
    """The article in the URL and its versions, newest first; None when there is no such."""
    article_id = _article_id(request)
    if article_id is None:
        return None
    versions = await asyncio.to_thread(history, request.app[DATABASE], article_id)
    return (article_id, versions) if versions else None


@editor_page_role
async def edit_form(request: web.Request) -> web.StreamResponse:
    found = await _versions(request)
    if found is None:
        return _not_found(request)
    article_id, versions = found
    draft = next((v for v in versions if v.status is VersionStatus.DRAFT), None)
    live = next((v for v in versions if v.status is VersionStatus.PUBLISHED), None)
    start = draft or live or versions[0]
    state = EditorState.of(start.content, versions[0].version)
    heading = f"Edit: {start.content.title}" + (" (the draft)" if draft else "")
    return _page(request, heading, editor_page(
        article_url(article_id, "/edit"), heading, state, request[SESSION].csrf_token,
        back=article_url(article_id)))


def _content(form: dict[str, str]) -> ArticleContent:
    values = {name: form.get(name, "") for name, *_ in FIELDS}
    if not values["keywords"].strip():
        values["keywords"] = []  # type: ignore[assignment]
    return content_from({**values, "version": 1})


async def _form(request: web.Request) -> dict[str, str]:
    posted = await read_form(request)
    return {key: value for key, value in posted.items() if isinstance(value, str)}


async def _save(request: web.Request, article_id: int | None) -> web.StreamResponse:
    form = await _form(request)
    action = article_url(article_id, "/edit") if article_id else f"{BASE}/new"
    back = article_url(article_id) if article_id else BASE
    heading = "Edit the article" if article_id else "Write a new article"
    based_on = _number(form.get("based_on"))
    state = EditorState({k: form.get(k, "") for k, *_ in FIELDS}, based_on,
                        form.get("note", "")[:500])
    csrf = request[SESSION].csrf_token

    def refused(status: int, error: str, preview: ArticleContent | None = None) -> web.Response:
        return _page(request, heading, editor_page(
            action, heading, EditorState(state.values, based_on, state.note, error), csrf,
            preview, back), status)

    do = form.get("do", "")
    if do not in ("preview", "draft", "publish"):
        return refused(400, "Choose Preview, Save draft or Publish.")
    if article_id is not None and based_on is None:
        return refused(400, "The form is missing the version it was based on. Open the "
                            "article again and redo the change.")
    try:
        content = _content(form)
    except ArticleFormatError as error:
        return refused(400, f"Not saved: {error}.")
    if do == "preview":
        return _page(request, heading, editor_page(action, heading, state, csrf, content, back))
    editor = request[SESSION].agent.username
    save = editing.save_draft if do == "draft" else editing.save_and_publish
    try:
        saved = await asyncio.to_thread(save, request.app[DATABASE], editor, article_id,
                                        content, state.note, based_on)
    except editing.ArticleNotFound:
        return _not_found(request)
    except editing.EditConflict as error:
        return refused(409, str(error))
    log.info("console.knowledge.%s article_id=%s version=%s", do, saved.article_id,
             saved.version)
    done = "draft" if do == "draft" else "published"
    return web.Response(status=303,
                        headers={"Location": f"{article_url(saved.article_id)}?done={done}"})


@editor_command
async def create(request: web.Request) -> web.StreamResponse:
    return await _save(request, None)


@editor_command
async def edit(request: web.Request) -> web.StreamResponse:
    article_id = _article_id(request)
    if article_id is None:
        return _not_found(request)
    return await _save(request, article_id)


async def _change(request: web.Request, change, done: str) -> web.StreamResponse:
    article_id = _article_id(request)
    if article_id is None:
        return _not_found(request)
    form = await _form(request)
    args = (request.app[DATABASE], request[SESSION].agent.username, article_id)
    try:
        if change is editing.publish_draft:
            await asyncio.to_thread(change, *args, _number(form.get("based_on")))
        else:
            await asyncio.to_thread(change, *args)
    except editing.ArticleNotFound:
        return _not_found(request)
    except editing.KnowledgeError as error:
        return await _show_article(request, article_id, error=str(error), status=409)
    log.info("console.knowledge.%s article_id=%s", done, article_id)
    return web.Response(status=303, headers={"Location": f"{article_url(article_id)}?done={done}"})


@editor_command
async def publish(request: web.Request) -> web.StreamResponse:
    return await _change(request, editing.publish_draft, "published")


@editor_command
async def retire(request: web.Request) -> web.StreamResponse:
    return await _change(request, editing.retire, "retired")


@editor_command
async def reinstate(request: web.Request) -> web.StreamResponse:
    return await _change(request, editing.reinstate, "reinstated")


@editor_page_role
async def article_history(request: web.Request) -> web.StreamResponse:
    found = await _versions(request)
    if found is None:
        return _not_found(request)
    _, versions = found
    by_number = {v.version: v for v in versions}
    raw_old, raw_new = request.query.get("from"), request.query.get("to")
    old = _number(raw_old) if raw_old is not None else (
        versions[1].version if len(versions) > 1 else None)
    new = _number(raw_new) if raw_new is not None else versions[0].version
    if old not in by_number or new not in by_number:
        if raw_old is None and raw_new is None:  # one version: nothing to compare
            return _page(request, "History", history_page(versions, None, None, None))
        return _page(request, "History", history_page(
            versions, None, None, None, "Choose two versions of this article from the lists."),
            400)
    diff = differences(by_number[old], by_number[new])  # type: ignore[index]
    return _page(request, "History", history_page(versions, diff, old, new))


@editor_page_role
async def version(request: web.Request) -> web.StreamResponse:
    article_id, number = _article_id(request), _number(request.match_info["version"])
    if article_id is None or number is None:
        return _not_found(request)
    view = await asyncio.to_thread(version_view, request.app[DATABASE], article_id, number,
                                   True)
    if view is None:
        return _message(request, 404, "No such version",
                        "This article has no version with that number.")
    return _page(request, f"{view.content.title}, version {view.version}",
                 version_page(view, _today()))


def _day(value: str) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


@role_page(Role.DATA_PROTECTION)
async def answers(request: web.Request) -> web.StreamResponse:
    employee = request.query.get("employee", "").strip()[:16]
    start, end = request.query.get("from", ""), request.query.get("to", "")

    def show(found=None, error: str = "", status: int = 200) -> web.Response:
        return _page(request, "Answers given", answers_page(found, employee, start, end, error),
                     status, ANSWERS_SECTION)

    if not employee:
        return show()
    try:
        first, last = _day(start), _day(end)
    except ValueError:
        return show(error="Give the dates as day, month and year (for example 2026-03-03).",
                    status=400)
    if first and last and first > last:
        return show(error="The first day is after the last day.", status=400)
    reader = request[SESSION].agent.principal
    try:
        found = await asyncio.to_thread(answers_given, request.app[DATABASE], reader, employee,
                                        first, last)
    except EmployeeNotFound as error:
        return show(error=str(error), status=404)
    return show(found)


def setup(router: web.UrlDispatcher) -> None:
    router.add_get(BASE, article_list)
    router.add_get(f"{BASE}/new", new_form)
    router.add_post(f"{BASE}/new", create)
    router.add_get(f"{BASE}/{{article_id}}", article)
    router.add_get(f"{BASE}/{{article_id}}/edit", edit_form)
    router.add_post(f"{BASE}/{{article_id}}/edit", edit)
    router.add_post(f"{BASE}/{{article_id}}/publish", publish)
    router.add_post(f"{BASE}/{{article_id}}/retire", retire)
    router.add_post(f"{BASE}/{{article_id}}/reinstate", reinstate)
    router.add_get(f"{BASE}/{{article_id}}/history", article_history)
    router.add_get(f"{BASE}/{{article_id}}/versions/{{version}}", version)
    router.add_get("/console/knowledge-answers", answers)
