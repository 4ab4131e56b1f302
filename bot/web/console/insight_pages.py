"""The service-insight dashboard (role `supervisor`) and its CSV export.

GET /console/insight?from=&to=&department=&channel=&intent=&by=day|week, and the same query on
/console/insight.csv. A bad filter is a 400 with what was wrong; the numbers are
`bot.insight.measures.report`, exactly what `python -m bot.cli report` prints.
"""
from __future__ import annotations

import asyncio
import datetime as dt
from typing import Mapping

from aiohttp import web
from sqlalchemy import select

from bot.config import Settings
from bot.insight.export import to_csv
from bot.insight.measures import GRANULARITIES, Filters, Report, report
from bot.insight.models import InsightFact
from bot.roles import Role
from bot.storage.database import Database
from bot.storage.models import Department

from ..keys import DATABASE, SETTINGS
from ..rendering import Safe, escape
from . import views
from .auth import SESSION, role_page
from .insight_views import dashboard as dashboard_html

SECTION = "insight"
CHANNELS = ("widget", "msteams", "slack")
DEFAULT_DAYS = 7


class BadFilter(ValueError):
    """A filter the dashboard cannot use; the message says why."""


def parse(query: Mapping[str, str], today: dt.date) -> tuple[Filters, dict[str, str]]:
    def date(name: str, default: dt.date) -> dt.date:
        raw = (query.get(name) or "").strip()
        if not raw:
            return default
        try:
            return dt.date.fromisoformat(raw)
        except ValueError:
            raise BadFilter(f"“{name}” must be a date (YYYY-MM-DD).") from None

    end = date("to", today)
    start = date("from", end - dt.timedelta(days=DEFAULT_DAYS - 1))
    department = (query.get("department") or "").strip()[:16] or None
    channel = (query.get("channel") or "").strip() or None
    if channel is not None and channel not in CHANNELS:
        raise BadFilter("“channel” must be widget, msteams or slack.")
    intent = (query.get("intent") or "").strip()[:100] or None
    by = (query.get("by") or "day").strip()
    if by not in GRANULARITIES:
        raise BadFilter("“by” must be day or week.")
    try:
        filters = Filters(start, end, department, channel, intent, by)
    except ValueError as error:
        raise BadFilter(f"{str(error).capitalize()}.") from None
    chosen = {"from": start.isoformat(), "to": end.isoformat(), "department": department or "",
              "channel": channel or "", "intent": intent or "", "by": by}
    return filters, chosen


def _load(db: Database, filters: Filters, abandon_after: dt.timedelta
          ) -> tuple[Report, list[tuple[str, str]], list[str]]:
    with db.unit_of_work() as session:
        result = report(session, filters, dt.datetime.now(dt.timezone.utc), abandon_after)
        departments = [(row.code, f"{row.code} – {row.name}") for row in
                       session.execute(select(Department).order_by(Department.code)).scalars()]
        intents = sorted(session.execute(select(InsightFact.intent).distinct().where(
            InsightFact.intent != "")).scalars())
    return result, departments, intents


async def _report(request: web.Request) -> tuple[Report, dict[str, str], list, list]:
    settings: Settings = request.app[SETTINGS]
    filters, chosen = parse(request.query, dt.datetime.now(dt.timezone.utc).date())
    result, departments, intents = await asyncio.to_thread(
        _load, request.app[DATABASE], filters,
        dt.timedelta(minutes=settings.abandon_after_minutes))
    return result, chosen, departments, intents


def _bad_filter(request: web.Request, error: BadFilter) -> web.Response:
    active = request[SESSION]
    return views.page("Service insight", Safe(
        f"<h1>Service insight</h1><p role=\"alert\">{escape(str(error))} "
        '<a href="/console/insight">Show the last seven days</a></p>'),
        active.agent, active.csrf_token, status=400, section=SECTION)


@role_page(Role.SUPERVISOR)
async def dashboard(request: web.Request) -> web.StreamResponse:
    try:
        result, chosen, departments, intents = await _report(request)
    except BadFilter as error:
        return _bad_filter(request, error)
    active = request[SESSION]
    return views.page("Service insight", dashboard_html(result, chosen, departments, intents),
                      active.agent, active.csrf_token, section=SECTION)


@role_page(Role.SUPERVISOR)
async def export_csv(request: web.Request) -> web.StreamResponse:
    try:
        result, chosen, _departments, _intents = await _report(request)
    except BadFilter as error:
        return web.Response(text=f"{error}\n", status=400, content_type="text/plain")
    name = f"helpdesk-insight-{chosen['from']}-to-{chosen['to']}.csv"
    return web.Response(text=to_csv(result), content_type="text/csv", charset="utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})
