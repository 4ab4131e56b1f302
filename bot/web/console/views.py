"""HTML of the console: pages and the fragments the live streams send (all values escaped)."""
from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from string import Template

from aiohttp import web

from bot.handoff.accounts import ConsoleAgent
from bot.handoff.enums import EntryKind, HandoffReason, HandoffStatus
from bot.handoff.routing import SKILL_TEAMS
from bot.handoff.views import EntryView, HandoffView, QueueItem
from bot.roles import Role
from bot.tickets.enums import ServiceLine
from bot.tickets.views import TicketSummary

from ..rendering import Safe, escape

TEMPLATES = Path(__file__).resolve().parent / "templates"
ZONE_NAME = "Europe/London"

REASONS = {
    HandoffReason.REQUESTED: "Asked for a person",
    HandoffReason.NOT_UNDERSTOOD: "The assistant did not understand",
    HandoffReason.REFERRED: "Referred by the assistant",
}
KIND_LABELS = {
    EntryKind.EMPLOYEE: "employee",
    EntryKind.AGENT: "agent",
    EntryKind.NOTE: "internal note",
    EntryKind.SYSTEM: "event",
}


@lru_cache(maxsize=None)
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def render(name: str, **values: object) -> Safe:
    return Safe(_template(name).substitute({k: escape(v) for k, v in values.items()}))


def _local(moment: dt.datetime) -> dt.datetime:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(ZONE_NAME))


def time_tag(moment: dt.datetime) -> Safe:
    local = _local(moment)
    return Safe(f'<time datetime="{escape(moment.isoformat())}">'
                f'{escape(local.strftime("%H:%M"))}</time>')


def team(skill: ServiceLine) -> str:
    name = SKILL_TEAMS[skill]
    return name[0].upper() + name[1:]


# section, address, label, the roles that see it (bot.roles; admin sees everything)
NAVIGATION: list[tuple[str, str, str, tuple[Role, ...]]] = [
    ("conversations", "/console", "Conversations", (Role.AGENT,)),
    ("tickets", "/console/tickets", "Tickets", (Role.AGENT,)),
]


def add_section(name: str, href: str, label: str, *roles: Role) -> None:
    """Put a console section in the navigation, for the accounts holding one of `roles`."""
    if all(existing != name for existing, *_ in NAVIGATION):
        NAVIGATION.append((name, href, label, roles))


def home(agent: ConsoleAgent) -> str:
    """The first section this account may use (where sign-in takes it)."""
    return next((href for _, href, _, roles in NAVIGATION if agent.can(*roles)), "/console")


def navigation(section: str, agent: ConsoleAgent) -> Safe:
    current = ' aria-current="page"'
    links = "".join(
        f'<li><a href="{href}"{current if name == section else ""}>{label}</a></li>'
        for name, href, label, roles in NAVIGATION if agent.can(*roles))
    return Safe('<nav class="container console-container console-nav" aria-label="Console">'
                f"<ul>{links}</ul></nav>")


def page(title: str, body: Safe, agent: ConsoleAgent | None, csrf: str = "",
         status: int = 200, section: str = "conversations") -> web.Response:
    account = nav = Safe("")
    if agent is not None:
        skills = ", ".join(team(s) for s in sorted(agent.skills, key=lambda s: s.value))
        account = render("account.html", agent_name=agent.display_name, skills=skills, csrf=csrf)
        nav = navigation(section, agent)
    document = render("layout.html", title=title, csrf=csrf, account=account, nav=nav,
                      body=body)
    return web.Response(text=document, content_type="text/html", charset="utf-8",
                        status=status)


def _csrf_field(csrf: str) -> Safe:
    return Safe(f'<input type="hidden" name="csrf_token" value="{escape(csrf)}">')


def _claim_form(item_id: int, csrf: str, label: str) -> Safe:
    return Safe(
        f'<form method="post" action="/console/handoffs/{item_id}/claim" class="inline-form" '
        f'data-command="claim">{_csrf_field(csrf)}'
        f'<button type="submit" class="button">Claim<span class="visually-hidden"> {escape(label)}'
        f'</span></button></form>')


def queue_fragment(items: list[QueueItem], agent: ConsoleAgent, csrf: str) -> Safe:
    mine = [i for i in items if i.assignee == agent.username]
    waiting = [i for i in items if i.status is HandoffStatus.WAITING]
    parts = ['<section aria-labelledby="mine-heading">',
             '<h2 id="mine-heading">Your conversations</h2>']
    if mine:
        parts.append('<ul class="mine">')
        for item in mine:
            parts.append(
                f'<li><a href="/console/handoffs/{item.id}">{escape(team(item.skill))} '
                f'conversation, {escape(item.department_code)}, since '
                f'{time_tag(item.requested_at)}</a> — {escape(item.headline)}</li>')
        parts.append("</ul>")
    else:
        parts.append("<p>You have no conversations at the moment.</p>")
    parts.append("</section>")
    parts.append('<section aria-labelledby="waiting-heading">'
                 f'<h2 id="waiting-heading">Waiting ({len(waiting)})</h2>')
    skills = sorted({i.skill for i in waiting} | set(agent.skills), key=lambda s: s.value)
    for skill in skills:
        rows = [i for i in waiting if i.skill is skill]
        heading_id = f"queue-{skill.value}"
        parts.append(f'<h3 id="{heading_id}">{escape(team(skill))} ({len(rows)} waiting)</h3>')
        if not rows:
            parts.append("<p>Nobody is waiting.</p>")
            continue
        parts.append(f'<table class="queue-table" aria-labelledby="{heading_id}"><thead><tr>'
                     '<th scope="col">Place</th><th scope="col">Waiting since</th>'
                     '<th scope="col">Department</th><th scope="col">Why</th>'
                     '<th scope="col">Last message</th><th scope="col">Actions</th></tr></thead>'
                     '<tbody>')
        for item in rows:
            label = (f"conversation number {item.position} in the {team(skill)} queue")
            parts.append(
                f'<tr><td>{item.position}</td><td>{time_tag(item.requested_at)}</td>'
                f'<td>{escape(item.department_code)}</td><td>{escape(REASONS[item.reason])}</td>'
                f'<td>{escape(item.headline)}</td><td class="actions">'
                f'<a href="/console/handoffs/{item.id}">Open<span class="visually-hidden"> '
                f'{escape(label)}</span></a> {_claim_form(item.id, csrf, label)}</td></tr>')
        parts.append("</tbody></table>")
    parts.append("</section>")
    return Safe("\n".join(parts))


def _author(entry: EntryView, employee_first_name: str,
            agent_names: dict[str, str]) -> str:
    if entry.kind is EntryKind.EMPLOYEE:
        return f"{employee_first_name} (employee)"
    if entry.kind is EntryKind.AGENT:
        return f"{agent_names.get(entry.author or '', entry.author or 'Agent')} (agent)"
    if entry.kind is EntryKind.NOTE:
        return f"Internal note by {agent_names.get(entry.author or '', entry.author or 'agent')}"
    return "Helpdesk"


def entry_fragment(entry: EntryView, employee_first_name: str,
                   agent_names: dict[str, str] | None = None) -> Safe:
    names = agent_names or {}
    failed = (' <strong class="error-text inline">Not delivered</strong>'
              if entry.delivery_failed else "")
    return Safe(
        f'<div class="entry entry--{entry.kind.value}" data-id="{entry.id}">'
        f'<p class="entry-meta"><span class="entry-author">'
        f'{escape(_author(entry, employee_first_name, names))}</span> '
        f'{time_tag(entry.at)}<span class="visually-hidden">, '
        f'{escape(KIND_LABELS[entry.kind])}</span>{failed}</p>'
        f'<p class="entry-body">{escape(entry.body)}</p></div>')


def state_text(view_status: HandoffStatus, assignee: str | None, agent: ConsoleAgent,
               position: int | None, skill: ServiceLine, ticket: str | None = None) -> str:
    if view_status is HandoffStatus.WAITING:
        place = f"number {position} " if position else ""
        return f"Waiting: {place}in the {team(skill)} queue."
    if view_status is HandoffStatus.ASSIGNED:
        return "With you." if assignee == agent.username else f"With {assignee}."
    if view_status is HandoffStatus.RESUMED:
        return "Ended: handed back to the assistant."
    if view_status is HandoffStatus.TICKETED:
        return f"Ended: turned into ticket {ticket}." if ticket else "Ended: turned into a ticket."
    return "Ended."


def _skill_options(selected: ServiceLine | None, exclude: ServiceLine | None = None) -> Safe:
    options = []
    for skill in ServiceLine:
        if skill is exclude:
            continue
        chosen = " selected" if skill is selected else ""
        options.append(f'<option value="{skill.value}"{chosen}>{escape(team(skill))}</option>')
    return Safe("".join(options))


def controls_fragment(handoff_id: int, status: HandoffStatus, assignee: str | None,
                      skill: ServiceLine, agent: ConsoleAgent, csrf: str,
                      employee_first_name: str) -> Safe:
    base = f"/console/handoffs/{handoff_id}"
    csrf_field = _csrf_field(csrf)
    parts: list[str] = []
    if status is HandoffStatus.WAITING:
        parts.append(
            f'<form method="post" action="{base}/claim" data-command="claim">{csrf_field}'
            '<button type="submit" class="button">Claim this conversation</button></form>')
    if status is HandoffStatus.ASSIGNED and assignee == agent.username:
        parts.append(
            f'<form method="post" action="{base}/reply" class="stack" data-command="reply">'
            f'{csrf_field}<label for="reply-text" class="label">Reply to '
            f'{escape(employee_first_name)}</label>'
            '<p id="reply-hint" class="hint">Sent to the employee\'s chat. Up to 2000 '
            'characters.</p>'
            '<textarea id="reply-text" name="text" class="input textarea" rows="3" '
            'maxlength="2000" required aria-describedby="reply-hint"></textarea>'
            '<button type="submit" class="button">Send reply</button></form>')
    if status in (HandoffStatus.WAITING, HandoffStatus.ASSIGNED):
        parts.append(
            f'<form method="post" action="{base}/note" class="stack" data-command="note">'
            f'{csrf_field}<label for="note-text" class="label">Internal note</label>'
            '<p id="note-hint" class="hint">For other agents only; never shown to the '
            'employee.</p><textarea id="note-text" name="text" class="input textarea" rows="2" '
            'maxlength="2000" required aria-describedby="note-hint"></textarea>'
            '<button type="submit" class="button secondary">Add note</button></form>')
    may_transfer = (status is HandoffStatus.ASSIGNED and assignee == agent.username) or (
        status is HandoffStatus.WAITING)
    if may_transfer:
        parts.append(
            f'<form method="post" action="{base}/transfer" class="row-form" '
            f'data-command="transfer">{csrf_field}'
            '<label for="transfer-skill" class="label">Transfer to another team</label>'
            '<div class="row"><select id="transfer-skill" name="skill" class="input select">'
            f'{_skill_options(None, skill)}</select>'
            '<button type="submit" class="button secondary">Transfer</button></div></form>')
    if status is HandoffStatus.ASSIGNED and assignee == agent.username:
        parts.append(
            f'<form method="post" action="{base}/ticket" class="row-form" data-command="ticket">'
            f'{csrf_field}<label for="ticket-category" class="label">Convert to a ticket in'
            '</label><div class="row"><select id="ticket-category" name="category" '
            f'class="input select">{_skill_options(skill)}</select>'
            '<button type="submit" class="button secondary">Convert to ticket</button></div>'
            '</form>')
        parts.append(
            f'<form method="post" action="{base}/handback" data-command="handback">{csrf_field}'
            '<button type="submit" class="button">Hand back to the assistant</button></form>')
    if not parts:
        parts.append('<p class="hint">No actions: this conversation has ended or is with '
                     'another agent.</p>')
    return Safe("\n".join(parts))


def tickets_fragment(tickets: list[TicketSummary]) -> Safe:
    if not tickets:
        return Safe("<p>None.</p>")
    items = "".join(
        f'<li><a href="/console/tickets/{escape(t.reference)}">{escape(t.reference)}</a>: '
        f"{escape(t.subject)} ({escape(t.status.value)})</li>" for t in tickets)
    return Safe(f'<ul class="tickets">{items}</ul>')


def conversation_page(view: HandoffView, agent: ConsoleAgent, csrf: str,
                      tickets: list[TicketSummary], agent_names: dict[str, str]) -> Safe:
    first = view.employee.name.split(" ", 1)[0]
    entries = Safe("\n".join(entry_fragment(e, first, agent_names) for e in view.entries))
    after = view.entries[-1].id if view.entries else 0
    return render(
        "conversation.html", id=view.id, employee_name=view.employee.name,
        employee_number=view.employee.employee_number, department=view.employee.department,
        grade=view.employee.grade, channel=view.channel, skill=team(view.skill),
        summary=view.summary, after=after, entries=entries,
        state=state_text(view.status, view.assignee, agent, view.position, view.skill,
                         view.ticket_reference),
        controls=controls_fragment(view.id, view.status, view.assignee, view.skill, agent, csrf,
                                   first),
        tickets=tickets_fragment(tickets))
