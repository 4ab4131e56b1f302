"""The audit trail in the console, for the `security_auditor` role: search, export, verify.

    GET  /console/audit                   search (newest first, 50 a page)
    GET  /console/audit/export?format=csv|jsonl&...   the matching rows, oldest first, streamed
    POST /console/audit/verify            check the hash chain

Every search, export and verification is itself recorded in the trail under the auditor's
principal (`bot.privacy.audit_trail`), before any row is shown.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import urllib.parse

from aiohttp import web

from bot.audit import record_access
from bot.privacy import audit_trail
from bot.privacy.audit_trail import AuditPage, AuditQuery, InvalidAuditQuery
from bot.roles import Role
from bot.storage.models import AuditOutcome

from ..keys import DATABASE
from ..rendering import Safe, escape
from . import views
from .auth import SESSION, role_command, role_page

SECTION = "audit"
auditor_page = role_page(Role.SECURITY_AUDITOR)
auditor_command = role_command(Role.SECURITY_AUDITOR)
QUERY_FIELDS = ("since", "until", "actor", "subject", "record_type", "action", "outcome",
                "target")


def _params(request: web.Request) -> dict[str, str]:
    return {name: request.query.get(name, "") for name in QUERY_FIELDS}


def _outcome_options(chosen: str) -> Safe:
    options = [("", "Any"), ("allowed", "Allowed"), ("refused", "Refused")]
    return Safe("".join(
        f'<option value="{value}"{" selected" if value == chosen else ""}>{label}</option>'
        for value, label in options))


def _table(result: AuditPage, params: dict[str, str]) -> Safe:
    if not result.rows:
        return Safe("<p>No events match.</p>")
    head = ("<th scope='col'>#</th><th scope='col'>When (UTC)</th><th scope='col'>Who</th>"
            "<th scope='col'>Whose</th><th scope='col'>What</th><th scope='col'>Action</th>"
            "<th scope='col'>Outcome</th><th scope='col'>Reason</th><th scope='col'>Target</th>")
    rows = []
    for row in result.rows:
        actor = row.actor_principal + (f" ({row.actor_employee_number})"
                                       if row.actor_employee_number else "")
        rows.append(
            "<tr>" + "".join(f"<td>{escape(value)}</td>" for value in (
                row.seq, row.at.strftime("%Y-%m-%d %H:%M:%S"), actor,
                row.subject_employee_number or "", row.record_type, row.action, row.outcome,
                row.reason or "", row.target or "")) + "</tr>")
    pager = []
    base = urllib.parse.urlencode({k: v for k, v in params.items() if v})
    if result.page > 1:
        pager.append(f'<a href="/console/audit?{escape(base)}&amp;page={result.page - 1}" '
                     'class="button secondary">Newer</a>')
    if result.more:
        pager.append(f'<a href="/console/audit?{escape(base)}&amp;page={result.page + 1}" '
                     'class="button secondary">Older</a>')
    return Safe('<div class="table-wrap"><table class="ticket-table" '
                'aria-labelledby="results-heading">'
                f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
                f'<div class="row">{"".join(pager)}</div>')


async def _render(request: web.Request, verification: Safe = Safe("")) -> web.Response:
    active = request[SESSION]
    params = _params(request)
    problems, results, heading = Safe(""), Safe(""), "Events"
    try:
        query = AuditQuery.from_params(params)
        page = int(request.query.get("page", "1")) if request.query.get(
            "page", "1").isdigit() else 1
        result = await asyncio.to_thread(audit_trail.search, request.app[DATABASE],
                                         active.agent.principal, query, page)
        results = _table(result, params)
        heading = f"Events (page {result.page})"
        status = 200
    except InvalidAuditQuery as error:
        problems = Safe(f'<p class="error-text" role="alert">{escape(error)}</p>')
        status = 400
    body = views.render(
        "audit.html", problems=problems, outcome_options=_outcome_options(params["outcome"]),
        query=urllib.parse.urlencode({k: v for k, v in params.items() if v}),
        csrf=active.csrf_token, verification=verification, heading=heading, results=results,
        **{name: params[name] for name in QUERY_FIELDS if name != "outcome"})
    return views.page("Audit trail", body, active.agent, active.csrf_token, status=status,
                      section=SECTION)


@auditor_page
async def audit_page(request: web.Request) -> web.StreamResponse:
    return await _render(request)


@auditor_page
async def audit_export(request: web.Request) -> web.StreamResponse:
    active = request[SESSION]
    fmt = request.query.get("format", "jsonl")
    if fmt not in audit_trail.FORMATS:
        return web.json_response({"error": "format must be csv or jsonl"}, status=400)
    try:
        query = AuditQuery.from_params(_params(request))
    except InvalidAuditQuery as error:
        return web.json_response({"error": str(error)}, status=400)
    render, content_type = audit_trail.FORMATS[fmt]
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    response = web.StreamResponse(headers={
        "Content-Type": f"{content_type}; charset=utf-8",
        "Content-Disposition": f'attachment; filename="audit-{stamp}.{fmt}"',
        "Cache-Control": "no-store",
    })
    batches = audit_trail.export_rows(request.app[DATABASE], active.agent.principal, query, fmt)
    first = await asyncio.to_thread(next, batches, None)  # records the export, then reads
    await response.prepare(request)
    if fmt == "csv":
        await response.write(audit_trail.csv_header().encode("utf-8"))
    batch = first
    while batch is not None:
        await response.write(render(batch).encode("utf-8"))
        batch = await asyncio.to_thread(next, batches, None)
    await response.write_eof()
    return response


def _verification(db, principal) -> audit_trail.audit_chain.Verification:  # noqa: ANN001
    result = audit_trail.verify(db)
    with db.unit_of_work() as session:
        record_access(session, principal=principal, actor=None, subject_employee_id=None,
                      record_type=audit_trail.RECORD_TYPE, action="verify",
                      outcome=AuditOutcome.ALLOWED,
                      reason="intact" if result.ok else _problems(len(result.problems)))
    return result


def _problems(count: int) -> str:
    return f"{count} problem" + ("" if count == 1 else "s")


@auditor_command
async def audit_verify(request: web.Request) -> web.StreamResponse:
    active = request[SESSION]
    result = await asyncio.to_thread(_verification, request.app[DATABASE],
                                     active.agent.principal)
    if result.ok:
        text = (f"<p role='status'><strong>The chain is intact</strong>: {result.rows} rows, "
                f"the last is #{escape(result.last_seq)} with hash "
                f"<code>{escape(result.last_hash)}</code>.</p>")
    else:
        items = "".join(f"<li>{escape(p)}</li>" for p in result.problems)
        text = (f"<div role='alert'><p class='error-text'><strong>The chain is broken</strong> "
                f"({_problems(len(result.problems))}):</p><ul>{items}</ul></div>")
    return await _render(request, Safe(text))


def setup(router: web.UrlDispatcher) -> None:
    router.add_get("/console/audit", audit_page)
    router.add_get("/console/audit/export", audit_export)
    router.add_post("/console/audit/verify", audit_verify)
    views.add_section(SECTION, "/console/audit", "Audit trail", Role.SECURITY_AUDITOR)
