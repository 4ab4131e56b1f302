"""Data subject requests in the console, for the `data_protection` role.

    GET  /console/data-protection            the forms
    POST /console/data-protection/export     subject access: the employee's archive (a zip)
    POST /console/data-protection/erase      erasure: preview, or erase with confirm=1
    POST /console/data-protection/rectify    rectification: a supplementary statement

Each request is recorded (`data_subject_requests`) and audited under the officer's principal
(`bot.privacy.subject_access`, `bot.privacy.erasure`).
"""
from __future__ import annotations

import asyncio

from aiohttp import web

from bot.privacy import erasure, subject_access
from bot.roles import Role

from ..forms import read_form
from ..keys import DATABASE, SETTINGS
from ..rendering import Safe, escape
from . import views
from .auth import SESSION, role_command, role_page

SECTION = "data-protection"
officer_page = role_page(Role.DATA_PROTECTION)
officer_command = role_command(Role.DATA_PROTECTION)


def _form(action: str, csrf: str, label: str, fields: str, button: str) -> str:
    return (f'<form method="post" action="/console/data-protection/{action}" class="stack">'
            f'<input type="hidden" name="csrf_token" value="{escape(csrf)}">'
            f'<h2>{label}</h2>{fields}<button type="submit" class="button">{button}</button>'
            "</form>")


def _employee_field(name: str) -> str:
    return (f'<div class="field"><label for="{name}-employee" class="label">Employee number'
            f'</label><input id="{name}-employee" name="employee" class="input" maxlength="16" '
            'required pattern="[A-Za-z]?[0-9]+"></div>')


def _page(request: web.Request, notice: str = "", status: int = 200) -> web.Response:
    active = request[SESSION]
    csrf = active.csrf_token
    body = ("<h1>Data protection</h1><p>Subject access, erasure and rectification requests. "
            "Every request is recorded and audited.</p>" + notice
            + _form("export", csrf, "Subject access", _employee_field("export"),
                    "Download the archive")
            + _form("erase", csrf, "Erasure", _employee_field("erase")
                    + '<div class="field checkbox-field"><input id="erase-confirm" '
                      'name="confirm" type="checkbox" value="1" class="checkbox">'
                      '<label for="erase-confirm">Erase now (otherwise: show what would be '
                      "erased and what is kept)</label></div>", "Erasure")
            + _form("rectify", csrf, "Rectification", _employee_field("rectify")
                    + '<div class="field"><label for="rectify-statement" class="label">'
                      'The correction</label><textarea id="rectify-statement" name="statement" '
                      'class="input" maxlength="2000" required></textarea></div>',
                    "Record the rectification"))
    return views.page("Data protection", Safe(body), active.agent, csrf, status=status,
                      section=SECTION)


def _notice(text: str, error: bool = False) -> str:
    role = "alert" if error else "status"
    css = ' class="error-text"' if error else ""
    return f'<div role="{role}"><p{css}>{text}</p></div>'


@officer_page
async def data_protection_page(request: web.Request) -> web.StreamResponse:
    return _page(request)


async def _employee(request: web.Request) -> str:
    form = await read_form(request)
    value = form.get("employee")
    return value.strip() if isinstance(value, str) else ""


@officer_command
async def export(request: web.Request) -> web.StreamResponse:
    active = request[SESSION]
    number = await _employee(request)
    try:
        archive = await asyncio.to_thread(subject_access.export, request.app[DATABASE],
                                          request.app[SETTINGS].tracker_store_url, number,
                                          active.agent.principal)
    except subject_access.EmployeeNotFound as error:
        return _page(request, _notice(escape(error), error=True), status=404)
    return web.Response(body=archive.archive, content_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{archive.filename}"',
        "Cache-Control": "no-store", "X-Archive-SHA256": archive.sha256})


@officer_command
async def erase(request: web.Request) -> web.StreamResponse:
    active = request[SESSION]
    form = await read_form(request)
    number = await _employee(request)
    confirm = form.get("confirm") == "1"
    try:
        report = await asyncio.to_thread(erasure.erase, request.app[DATABASE],
                                         request.app[SETTINGS].tracker_store_url, number,
                                         active.agent.principal, not confirm)
    except subject_access.EmployeeNotFound as error:
        return _page(request, _notice(escape(error), error=True), status=404)
    counts = ", ".join(f"{escape(k.replace('_', ' '))}: {v}" for k, v in report.erased.items())
    kept = "".join(f"<li><strong>{escape(k.replace('_', ' '))}</strong>: {escape(v)}</li>"
                   for k, v in report.kept.items())
    head = "Erased" if confirm else "Would erase (nothing changed yet)"
    return _page(request, _notice(f"<strong>{head}</strong> for {escape(report.employee_number)}"
                                  f": {counts}.") + f"<p>Kept, and why:</p><ul>{kept}</ul>")


@officer_command
async def rectify(request: web.Request) -> web.StreamResponse:
    active = request[SESSION]
    form = await read_form(request)
    number = await _employee(request)
    statement = form.get("statement")
    try:
        noted = await asyncio.to_thread(erasure.rectify, request.app[DATABASE], number,
                                        statement if isinstance(statement, str) else "",
                                        active.agent.principal)
    except (subject_access.EmployeeNotFound, ValueError) as error:
        return _page(request, _notice(escape(error), error=True), status=400)
    return _page(request, _notice(f"Rectification recorded and noted on {noted} open tickets. "
                                  "Records held by HR or payroll are corrected there."))


def setup(router: web.UrlDispatcher) -> None:
    router.add_get("/console/data-protection", data_protection_page)
    router.add_post("/console/data-protection/export", export)
    router.add_post("/console/data-protection/erase", erase)
    router.add_post("/console/data-protection/rectify", rectify)
    views.add_section(SECTION, "/console/data-protection", "Data protection",
                      Role.DATA_PROTECTION)
