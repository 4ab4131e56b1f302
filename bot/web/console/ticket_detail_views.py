"""HTML of one ticket: facts, description, comments (internal notes marked), history, forms.

`FormState` carries what a refused form held, so the page comes back with the agent's text
and choices intact and the reason next to them.
"""
from __future__ import annotations

from dataclasses import dataclass

from bot.tickets.enums import ActorKind, Priority, TicketStatus, Visibility
from bot.tickets.lifecycle import AGENT_MOVES
from bot.tickets.views import AgentTicketDetail, CommentView, HistoryEntry, TicketSummary

from ..rendering import Safe, escape
from .ticket_format import (
    assignee_text,
    breach_flag,
    category_label,
    options,
    priority_label,
    resolution_cell,
    response_cell,
    status_label,
    ticket_url,
    when,
)
from .views import render

MAX_COMMENT = 2000
DONE = {  # ?done=... after a successful form (post/redirect/get): fixed words, no user text
    "status": "Status changed. If the ticket came from a chat, the employee is told there.",
    "assigned": "The ticket is assigned to you.",
    "priority": "Priority saved. The due times follow it.",
    "public": "Reply added. If the ticket came from a chat, the employee is told there.",
    "internal": "Internal note added. The employee does not see it.",
}


@dataclass(frozen=True)
class FormState:
    """A refused form: the reason, which form, and what the agent had entered."""

    error: str = ""
    form: str = ""  # "status", "assign", "priority" or "comment"
    status: str = ""
    priority: str = ""
    text: str = ""
    visibility: str = ""


def _csrf(csrf: str) -> str:
    return f'<input type="hidden" name="csrf_token" value="{escape(csrf)}">'


def _invalid(state: FormState, form: str) -> str:
    return ' aria-invalid="true" aria-describedby="ticket-error"' if state.form == form else ""


def _requester(summary: TicketSummary) -> str:
    return f"{summary.requester_name} (employee)"


def _comment(comment: CommentView, summary: TicketSummary) -> str:
    if comment.visibility is Visibility.INTERNAL:
        kind, tag = "note", "Internal note: never shown to the employee"
    else:
        kind, tag = "agent", "Public: the employee sees this"
    author = comment.author
    if comment.author_kind is ActorKind.EMPLOYEE:
        kind, author = "employee", _requester(summary)
    return (f'<li class="entry entry--{kind}"><p class="entry-meta">'
            f'<span class="entry-author">{escape(author)}</span> {when(comment.created_at)} '
            f'<span class="visibility-tag">{escape(tag)}</span></p>'
            f'<p class="entry-body">{escape(comment.body)}</p></li>')


def comments_fragment(detail: AgentTicketDetail) -> Safe:
    if not detail.comments:
        return Safe("<p>No comments yet.</p>")
    items = "\n".join(_comment(c, detail.summary) for c in detail.comments)
    return Safe(f'<ol class="comments">\n{items}\n</ol>')


def _what(entry: HistoryEntry) -> str:
    if entry.kind == "created":
        return "Raised"
    if entry.kind == "status_changed" and entry.to_status is not None:
        before = status_label(entry.from_status) if entry.from_status else "?"
        return f"Status {before} → {status_label(entry.to_status)}"
    if entry.kind == "commented":
        return "Internal note" if entry.visibility is Visibility.INTERNAL else "Public comment"
    if entry.kind == "assigned":
        return "Assignment changed"
    return entry.kind


def _who(entry: HistoryEntry, summary: TicketSummary) -> str:
    if entry.actor_kind is ActorKind.EMPLOYEE or entry.actor.startswith("employee:"):
        return _requester(summary)
    if entry.actor_kind is ActorKind.SYSTEM:
        return "Helpdesk"
    return entry.actor


def history_fragment(detail: AgentTicketDetail) -> Safe:
    rows = "\n".join(
        f"<tr><td>{when(e.at)}</td><td>{escape(_what(e))}</td>"
        f"<td>{escape(_who(e, detail.summary))}</td></tr>" for e in detail.history)
    return Safe('<table class="queue-table history-table" aria-labelledby="history-heading">'
                '<thead><tr><th scope="col">When</th><th scope="col">What</th>'
                f'<th scope="col">By</th></tr></thead><tbody>\n{rows}\n</tbody></table>')


def _status_form(summary: TicketSummary, csrf: str, state: FormState) -> str:
    moves = sorted(AGENT_MOVES[summary.status], key=list(TicketStatus).index)
    choices = [("", "Choose a new status")] + [(s.value, status_label(s)) for s in moves]
    return (f'<form method="post" action="{ticket_url(summary.reference)}/status" '
            f'class="row-form">{_csrf(csrf)}'
            '<label for="ticket-status" class="label">Change status</label>'
            '<p id="ticket-status-hint" class="hint">Only the moves this ticket can make now are '
            'offered.</p><div class="row">'
            '<select id="ticket-status" name="status" class="input select" required '
            f'aria-describedby="ticket-status-hint"{_invalid(state, "status")}>'
            f'{options(choices, state.status)}</select>'
            '<button type="submit" class="button">Change status</button></div></form>')


def _assign_form(summary: TicketSummary, csrf: str, username: str) -> str:
    if summary.assignee == username:
        return '<p class="hint">This ticket is assigned to you.</p>'
    return (f'<form method="post" action="{ticket_url(summary.reference)}/assign">'
            f'{_csrf(csrf)}<button type="submit" class="button secondary">Assign to me'
            '</button></form>')


def _priority_form(summary: TicketSummary, csrf: str, state: FormState) -> str:
    if summary.status in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
        return '<p class="hint">A resolved or closed ticket keeps its priority.</p>'
    chosen = state.priority or summary.priority.value
    choices = [(p.value, priority_label(p)) for p in Priority]
    return (f'<form method="post" action="{ticket_url(summary.reference)}/priority" '
            f'class="row-form">{_csrf(csrf)}'
            '<label for="ticket-priority" class="label">Priority</label>'
            '<p id="ticket-priority-hint" class="hint">The due times move with the priority.</p>'
            '<div class="row"><select id="ticket-priority" name="priority" class="input select" '
            f'aria-describedby="ticket-priority-hint"{_invalid(state, "priority")}>'
            f'{options(choices, chosen)}</select>'
            '<button type="submit" class="button secondary">Set priority</button></div></form>')


def _radio(value: str, label: str, state: FormState) -> str:
    checked = " checked" if state.visibility == value else ""
    return (f'<div class="radio-field"><input type="radio" id="comment-{value}" '
            f'name="visibility" value="{value}" class="radio" required{checked}>'
            f'<label for="comment-{value}">{escape(label)}</label></div>')


def _comment_form(summary: TicketSummary, csrf: str, state: FormState) -> str:
    invalid = _invalid(state, "comment")
    return (f'<form method="post" action="{ticket_url(summary.reference)}/comment" '
            f'class="stack">{_csrf(csrf)}'
            '<label for="comment-text" class="label">Add a comment</label>'
            f'<p id="comment-hint" class="hint">Up to {MAX_COMMENT} characters.</p>'
            f'<textarea id="comment-text" name="text" class="input textarea" rows="4" '
            f'maxlength="{MAX_COMMENT}" required aria-describedby="comment-hint"{invalid}>'
            f'{escape(state.text)}</textarea>'
            '<fieldset class="visibility-choice"><legend>Who sees it</legend>'
            f'{_radio("public", "The employee: a public reply, sent to their chat", state)}'
            f'{_radio("internal", "Agents only: an internal note", state)}</fieldset>'
            '<button type="submit" class="button">Add comment</button></form>')


def forms_fragment(summary: TicketSummary, csrf: str, username: str,
                   state: FormState) -> Safe:
    return Safe("\n".join((_status_form(summary, csrf, state),
                           _assign_form(summary, csrf, username),
                           _priority_form(summary, csrf, state),
                           _comment_form(summary, csrf, state))))


def _notice(state: FormState, done: str) -> Safe:
    if state.error:
        return Safe(f'<p id="ticket-error" class="error-text" role="alert">'
                    f"{escape(state.error)}</p>")
    if done in DONE:
        return Safe(f'<p id="ticket-done" class="status done" role="status">'
                    f"{escape(DONE[done])}</p>")
    return Safe('<p id="ticket-done" class="status" role="status"></p>')


def _updates(detail: AgentTicketDetail) -> str:
    if detail.conversation_id:
        return f"Sent to the employee's chat ({detail.channel or 'chat'})"
    return "Not sent automatically: this ticket was not raised from a chat"


def detail_page(detail: AgentTicketDetail, csrf: str, username: str,
                state: FormState = FormState(), done: str = "") -> Safe:
    """The body of /console/tickets/{reference}."""
    s = detail.summary
    return render(
        "ticket.html", reference=s.reference, subject=s.subject, notice=_notice(state, done),
        description=detail.description, comments=comments_fragment(detail),
        history=history_fragment(detail),
        requester=f"{s.requester_name} ({s.requester_number})",
        category=category_label(s.category), priority=priority_label(s.priority),
        status=status_label(s.status), assignee=assignee_text(s.assignee, username),
        raised=when(s.created_at), response=response_cell(s), resolution=resolution_cell(s),
        sla=breach_flag(s), updates=_updates(detail),
        forms=forms_fragment(s, csrf, username, state))
