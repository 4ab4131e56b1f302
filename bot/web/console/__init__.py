"""The agent console and the widget's live channel, mounted on the web app by `setup`.

Routes:
    GET  /console/signin, POST /console/signin (local passwords, development fallback),
    GET  /console/auth/signin (Entra ID), POST /console/signout
    GET  /console                          the queue by skill, live (SSE /console/stream)
    GET  /console/handoffs/{id}            one conversation, live (SSE .../stream)
    POST /console/handoffs/{id}/claim|reply|note|transfer|handback|ticket
    GET  /console/tickets                  tickets, filtered (ticket_pages.py)
    GET  /console/tickets/{reference}      one ticket: description, comments, history, forms
    POST /console/tickets/{reference}/status|assign|priority|comment   (ticket_commands.py)
    GET|POST /console/knowledge/...        the knowledge base, for editors (knowledge_pages.py)
    GET  /console/knowledge-answers        what an employee was told (data protection)
    GET  /console/audit[/export], POST /console/audit/verify   the audit trail (audit_pages.py)
    GET  /console/data-protection, POST .../export|erase|rectify   (data_protection_pages.py)
    GET  /api/events                       the employee's pushed messages (SSE)
    POST /internal/widget/push             Rasa's widget output channel (HMAC-signed)
    GET  /console/static/...               console.css, console.js

Background: the poller (hub.py) copies employee messages from Rasa's tracker store and tells
waiting employees about their place in the queue.

What the console says to an employee goes through Rasa's relay channel with the console's own
key (bot/relay.py): an agent's message, a notice, the hand-back, the satisfaction offer; the
web app holds no other way into a conversation.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from bot.handoff import wording
from bot.handoff.announcements import announcements_due
from bot.handoff.feed import TrackerFeed
from bot.roles import Role
from bot.tickets.sla import policy_from_settings

from bot.relay import Relay, RelayError, relay_session

from ..keys import DATABASE, SETTINGS
from . import (
    audit_pages,
    commands,
    data_protection_pages,
    entra,
    insight_pages,
    knowledge_pages,
    pages,
    push,
    streams,
    ticket_commands,
    ticket_pages,
)
from .hub import Hub, run_poller
from .keys import HUB, RELAY, TICKET_POLICY

log = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"


async def _announce(app: web.Application) -> None:
    relay = app.get(RELAY)
    if relay is None:
        return
    due = await asyncio.to_thread(announcements_due, app[DATABASE])
    for item in due:
        try:
            await relay.say(item.conversation_id,
                            wording.position_update(item.position, item.wait_minutes))
        except RelayError:
            log.warning("handoff.announce.failed handoff_id=%s", item.handoff_id)


def setup(app: web.Application) -> None:
    settings = app[SETTINGS]
    app[HUB] = Hub()
    app[TICKET_POLICY] = policy_from_settings(settings)

    async def console_context(app: web.Application) -> AsyncIterator[None]:
        session = None
        if len(settings.relay_console_key) >= 32:
            session = relay_session()
            app[RELAY] = Relay(settings.rasa_url, "console", settings.relay_console_key, session)
        else:
            log.warning("console: RELAY_CONSOLE_KEY is not set; agents cannot reach employees")
        try:
            feed = TrackerFeed(settings.tracker_store_url)
        except ValueError as error:
            log.warning("console: no tracker store feed (%s)", error)
            feed = None
        poller = asyncio.create_task(run_poller(app[DATABASE], feed, app[HUB],
                                                lambda: _announce(app)))
        try:
            yield
        finally:
            await app[HUB].close()
            poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await poller
            if feed is not None:
                feed.dispose()
            if session is not None:
                await session.close()

    async def close_streams(app: web.Application) -> None:
        await app[HUB].close()  # open event streams end, so shutdown does not wait for them

    app.cleanup_ctx.append(console_context)
    app.on_shutdown.append(close_streams)

    router = app.router
    router.add_get("/console/signin", pages.signin_form)
    router.add_post("/console/signin", pages.signin)
    router.add_post("/console/signout", pages.signout)
    entra.setup(router)  # GET /console/auth/signin: sign-in with Entra ID
    router.add_get("/console", pages.queue_page)
    router.add_get("/console/stream", streams.queue_stream)
    router.add_get("/console/handoffs/{handoff_id}", pages.conversation)
    router.add_get("/console/handoffs/{handoff_id}/stream", streams.conversation_stream)
    for name in ("claim", "reply", "note", "transfer", "handback", "ticket"):
        router.add_post(f"/console/handoffs/{{handoff_id}}/{name}", getattr(commands, name))
    router.add_get("/console/tickets", ticket_pages.ticket_list)
    router.add_get("/console/tickets/{reference}", ticket_pages.ticket)
    for name in ("status", "assign", "priority", "comment"):
        router.add_post(f"/console/tickets/{{reference}}/{name}", getattr(ticket_commands, name))
    router.add_get("/console/insight", insight_pages.dashboard)  # supervisors: service insight
    router.add_get("/console/insight.csv", insight_pages.export_csv)
    views.add_section("insight", "/console/insight", "Service insight", Role.SUPERVISOR)
    knowledge_pages.setup(router)
    audit_pages.setup(router)  # the audit trail, for the security_auditor role
    data_protection_pages.setup(router)  # subject access, erasure, rectification
    router.add_get("/api/events", streams.widget_events)
    router.add_post("/internal/widget/push", push.receive)
    router.add_static("/console/static/", STATIC_DIR, show_index=False, follow_symlinks=False)
