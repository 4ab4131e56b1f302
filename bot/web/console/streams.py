"""Server-sent event streams: the console's queue and conversation views, and the employee's
chat page (messages Rasa pushed: agent replies, queue news, ticket updates).

A stream waits on the hub (see hub.py), then reads what is new from the database, so it sees
changes made by any process. Every `HEARTBEAT_SECONDS` it sends a comment line (proxies keep
the connection) and re-checks the session: an expired or signed-out session ends the stream,
and an agent's stream keeps their presence ("online") fresh.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
from typing import Any

from aiohttp import web

from bot.handoff import accounts, widget_push
from bot.handoff import agent as handoffs
from bot.handoff.enums import HandoffStatus
from bot.handoff.errors import HandoffNotFound, NotEligible

from ..forms import small_count, small_id
from ..keys import DATABASE
from bot.signin import sessions

from ..session_cookie import signed_in
from . import views
from .auth import SESSION, agent_stream, current_session
from .keys import HUB

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 20.0


async def _open(request: web.Request) -> web.StreamResponse:
    response = web.StreamResponse(headers={
        "Content-Type": "text/event-stream; charset=utf-8",
        "X-Accel-Buffering": "no",  # tell buffering proxies to pass events straight on
    })
    await response.prepare(request)
    await response.write(b"retry: 2000\n\n")
    return response


async def _send(response: web.StreamResponse, event: str, data: Any,
                event_id: int | None = None) -> None:
    lines = [f"event: {event}"]
    if event_id is not None:
        lines.insert(0, f"id: {event_id}")
    lines.append("data: " + json.dumps(data, ensure_ascii=False, separators=(",", ":")))
    await response.write(("\n".join(lines) + "\n\n").encode("utf-8"))


async def _heartbeat(response: web.StreamResponse) -> None:
    await response.write(b": keep-alive\n\n")


@agent_stream
async def queue_stream(request: web.Request) -> web.StreamResponse:
    active = request[SESSION]
    hub, db = request.app[HUB], request.app[DATABASE]
    response = await _open(request)
    sent, generation = None, -1
    try:
        while not hub.closed:
            items = await asyncio.to_thread(handoffs.list_queue, db, active.agent, sent is None)
            html = views.queue_fragment(items, active.agent, active.csrf_token)
            if html != sent:
                waiting = sum(1 for i in items if i.status is HandoffStatus.WAITING)
                await _send(response, "queue", {"html": html, "waiting": waiting})
                sent = html
            seen = generation
            generation = await hub.wait(generation, HEARTBEAT_SECONDS)
            if generation == seen:
                await _heartbeat(response)
                active = await current_session(request)  # refreshes presence
                if active is None:
                    break
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response


@agent_stream
async def conversation_stream(request: web.Request) -> web.StreamResponse:
    active = request[SESSION]
    handoff_id = small_id(request.match_info["handoff_id"])
    if handoff_id is None:
        raise web.HTTPNotFound()
    after = small_count(request.query.get("after") or request.headers.get("Last-Event-ID"), 0)
    hub, db = request.app[HUB], request.app[DATABASE]
    try:  # the opening read is the audited one (the page itself was audited too)
        view = await asyncio.to_thread(handoffs.get_handoff, db, active.agent, handoff_id)
    except (HandoffNotFound, NotEligible):
        return web.json_response({"error": "not available"}, status=404)
    first = view.employee.name.split(" ", 1)[0]
    response = await _open(request)
    state, generation = None, -1
    try:
        while not hub.closed:
            status, assignee, entries = await asyncio.to_thread(
                handoffs.entries_after, db, active.agent, handoff_id, after)
            if entries:
                names = await asyncio.to_thread(accounts.display_names, db)
                for entry in entries:
                    await _send(response, "entry", {
                        "id": entry.id, "kind": entry.kind.value,
                        "html": views.entry_fragment(entry, first, names)}, entry.id)
                    after = entry.id
            if (status, assignee) != state:
                state = (status, assignee)
                current = await asyncio.to_thread(handoffs.get_handoff, db, active.agent,
                                                  handoff_id)
                await _send(response, "state", {
                    "status": status.value, "mine": assignee == active.agent.username,
                    "text": views.state_text(status, assignee, active.agent, current.position,
                                             current.skill, current.ticket_reference),
                    "skill": views.team(current.skill),
                    "controls": views.controls_fragment(handoff_id, status, assignee,
                                                        current.skill, active.agent,
                                                        active.csrf_token, first)})
            seen = generation
            generation = await hub.wait(generation, HEARTBEAT_SECONDS)
            if generation == seen:
                await _heartbeat(response)
                active = await current_session(request)
                if active is None:
                    break
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    except NotEligible:  # transferred to a queue this agent does not work
        pass
    return response


async def widget_events(request: web.Request) -> web.StreamResponse:
    """`GET /api/events`: the signed-in employee's pushed messages, as they arrive."""
    claims = await signed_in(request)
    if claims is None:
        return web.json_response({"error": "session expired, please sign in again"},
                                 status=401)
    conversation = widget_push.widget_conversation_id(claims.tenant, claims.subject)
    hub, db = request.app[HUB], request.app[DATABASE]
    after = small_count(request.headers.get("Last-Event-ID"), -1)
    if after < 0:  # a new page: only what arrives from now on
        after = await asyncio.to_thread(widget_push.latest_id, db, conversation)
    response = await _open(request)
    generation = -1
    try:
        while not hub.closed and time.time() < claims.expires_at:
            rows = await asyncio.to_thread(widget_push.messages_after, db, conversation, after)
            for row_id, message in rows:
                await _send(response, "message", message, row_id)
                after = row_id
            seen = generation
            generation = await hub.wait(generation, HEARTBEAT_SECONDS)
            if generation == seen:
                await _heartbeat(response)
                if await asyncio.to_thread(sessions.is_revoked, db, claims.token_id):
                    break  # signed out (in this tab or another): the stream ends
    except (ConnectionResetError, asyncio.CancelledError):
        pass
    return response

