"""`GET /knowledge/articles/{id}`: a knowledge-base article for a signed-in employee.

The chat's answers link here (with `?version=` for the version the employee was shown). Any
version an employee could have been shown is readable, with a notice when it is no longer the
current one; drafts never are. Articles are not personal data, so reads are not audited.
"""
from __future__ import annotations

import asyncio
import datetime as dt

from aiohttp import web

from bot.knowledge.catalogue import VersionView, version_view
from bot.knowledge.models import VersionStatus

from .article_html import article_html
from .keys import DATABASE
from .rendering import Safe, escape, page, render
from .session_cookie import signed_in

MAX_NUMBER = 2**31 - 1


def long_date(day: dt.date) -> str:
    return f"{day.day} {day:%B %Y}"


def number(value: str | None) -> int | None:
    """A positive integer from the URL, or None; anything else is a 400 or 404 upstream."""
    if value is None or not value.isdigit() or not 0 < int(value) <= MAX_NUMBER:
        return None
    return int(value)


def _notice(view: VersionView) -> Safe:
    if view.status is VersionStatus.PUBLISHED:
        return Safe("")
    if view.live_version is not None:
        link = f"/knowledge/articles/{view.article_id}"
        text = (f'This is version {view.version}, which has been replaced. '
                f'<a href="{link}">Read the current version ({view.live_version})</a>.')
    else:
        text = f"This is version {view.version}; the article has been withdrawn."
    return Safe(f'<p class="kb-notice" role="note">{text}</p>')


def _departments(view: VersionView) -> str:
    codes = view.content.departments
    return f"Applies to: {', '.join(codes)}." if codes else "Applies to every department."


def not_found(message: str) -> web.Response:
    return page("Article not found", Safe(
        f"<h1>Article not found</h1><p>{escape(message)}</p>"
        '<p><a href="/chat">Back to the chat</a></p>'), status=404)


async def article(request: web.Request) -> web.StreamResponse:
    if await signed_in(request) is None:
        raise web.HTTPFound("/signin")
    article_id = number(request.match_info["article_id"])
    wanted = request.query.get("version")
    version = number(wanted)
    if wanted is not None and version is None:
        return page("Article not found", Safe(
            "<h1>That link is not right</h1><p>The version must be a whole number, such as "
            '<code>?version=2</code>.</p><p><a href="/chat">Back to the chat</a></p>'),
            status=400)
    if article_id is None:
        return not_found("There is no article with that number.")
    view = await asyncio.to_thread(version_view, request.app[DATABASE], article_id, version)
    if view is None:
        return not_found("There is no published article with that number and version.")
    content = view.content
    body = render("knowledge_article.html", title=content.title, version=view.version,
                  effective_from=long_date(content.effective_from), owner=content.owner,
                  review_by=long_date(content.review_by), notice=_notice(view),
                  summary=content.summary, body=article_html(content.body),
                  source_url=content.source_url, source_title=content.source_title,
                  departments=_departments(view))
    return page(content.title, body)
