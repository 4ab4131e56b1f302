"""HTML of the console's knowledge section: the list, an article, the editor with its preview,
the history with the differences between versions, and an employee's answers.

Everything is built from escaped parts; article bodies go through `article_html` (Markdown with
raw HTML switched off).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from bot.knowledge.answer_log import EmployeeAnswers
from bot.knowledge.answering import excerpt
from bot.knowledge.article_files import ArticleContent, split_sections
from bot.knowledge.catalogue import STATUS_FILTERS, ArticleRow, VersionView
from bot.knowledge.models import VersionStatus
from bot.knowledge.topics import TOPICS

from ..article_html import article_html
from ..rendering import Safe, escape
from .ticket_format import options, when

BASE = "/console/knowledge"
STATUS_LABELS = {
    VersionStatus.DRAFT: "Draft",
    VersionStatus.PUBLISHED: "Published",
    VersionStatus.SUPERSEDED: "Superseded",
    VersionStatus.RETIRED: "Retired",
}
FILTER_LABELS = {"": "Any", "published": "Published", "draft": "Has a draft",
                 "retired": "Retired (nothing published)", "overdue": "Past its review date"}
DONE = {  # ?done=... after a successful form (post/redirect/get): fixed words, no user text
    "draft": "Draft saved. Employees do not see it until it is published.",
    "published": "Published. The assistant answers from it within a minute.",
    "retired": "Retired. The assistant no longer answers from this article.",
    "reinstated": "Reinstated. The assistant answers from this article again.",
}


def long_date(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"


def csrf_field(csrf: str) -> Safe:
    return Safe(f'<input type="hidden" name="csrf_token" value="{escape(csrf)}">')


def article_url(article_id: int, tail: str = "") -> str:
    return f"{BASE}/{article_id}{tail}"


def departments_text(codes: tuple[str, ...]) -> str:
    return ", ".join(codes) if codes else "All departments"


def _status_cell(row: ArticleRow, today: dt.date) -> str:
    parts = [f"Published (v{row.live_version})" if row.live_version else "Not published"]
    if row.draft_version:
        parts.append(f"draft v{row.draft_version}")
    text = escape(", ".join(parts))
    if row.overdue(today):
        text += ' <strong class="error-text inline">Review overdue</strong>'
    return text


def list_page(rows: list[ArticleRow], q: str, status: str, topic: str,
              today: dt.date, problem: str = "") -> Safe:
    topic_choices = [("", "Any topic")] + [(t, t) for t in TOPICS]
    overdue = sum(r.overdue(today) for r in rows)
    parts = ['<h1>Knowledge base</h1>',
             f'<p><a class="button" href="{BASE}/new">Write a new article</a></p>']
    if problem:
        parts.append(f'<p class="error-text" role="alert">{escape(problem)}</p>')
    parts.append(
        f'<form method="get" action="{BASE}" class="ticket-filters" role="search" '
        'aria-label="Find articles"><div class="filter-grid">'
        '<div class="field"><label for="kb-q" class="label">Words</label>'
        f'<input id="kb-q" name="q" type="search" class="input" maxlength="100" '
        f'value="{escape(q)}"></div>'
        '<div class="field"><label for="kb-status" class="label">Status</label>'
        f'<select id="kb-status" name="status" class="input select">'
        f'{options([(s, FILTER_LABELS[s]) for s in STATUS_FILTERS], status)}</select></div>'
        '<div class="field"><label for="kb-topic" class="label">Topic</label>'
        f'<select id="kb-topic" name="topic" class="input select">'
        f'{options(topic_choices, topic)}</select></div></div>'
        '<div class="row"><button type="submit" class="button">Find</button> '
        f'<a href="{BASE}" class="button secondary">Clear</a></div></form>')
    heading = f"{len(rows)} article{'s' if len(rows) != 1 else ''}"
    if overdue:
        heading += f", {overdue} past the review date"
    parts.append(f'<h2 id="results-heading">{escape(heading)}</h2>')
    if rows:
        head = "".join(f'<th scope="col">{c}</th>' for c in (
            "Title", "Topic", "Departments", "Status", "Review by", "Last change"))
        body = "".join(
            f'<tr{" class=row-breached" if r.overdue(today) else ""}>'
            f'<td><a href="{article_url(r.article_id)}">{escape(r.title)}</a></td>'
            f"<td>{escape(r.topic)}</td><td>{escape(departments_text(r.departments))}</td>"
            f"<td>{_status_cell(r, today)}</td><td>{escape(long_date(r.review_by))}</td>"
            f"<td>{when(r.changed_at)} by {escape(r.changed_by)}</td></tr>" for r in rows)
        parts.append('<div class="table-scroll" role="region" aria-labelledby="results-heading" '
                     f'tabindex="0"><table class="queue-table"><thead><tr>{head}</tr></thead>'
                     f"<tbody>{body}</tbody></table></div>")
    return Safe("\n".join(parts))


def _facts(view: VersionView, today: dt.date) -> str:
    content = view.content
    overdue = (' <strong class="error-text inline">Review overdue</strong>'
               if content.review_by < today and view.status is not VersionStatus.RETIRED
               else "")
    facts = [
        ("Topic", escape(content.topic)),
        ("Departments", escape(departments_text(content.departments))),
        ("Status", escape(f"Version {view.version}: {STATUS_LABELS[view.status]}")),
        ("Effective from", escape(long_date(content.effective_from))),
        ("Review by", escape(long_date(content.review_by)) + overdue),
        ("Owner", escape(content.owner)),
        ("Source", f'<a href="{escape(content.source_url)}" rel="noopener noreferrer">'
                   f"{escape(content.source_title)}</a>"),
        ("Keywords", escape(", ".join(content.keywords) or "none")),
        ("Written", f"{when(view.created_at)} by {escape(view.created_by)}"),
        ("Status changed", f"{when(view.status_changed_at)} by {escape(view.status_changed_by)}"),
    ]
    return "<dl class=\"facts\">" + "".join(
        f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts) + "</dl>"


def content_html(content: ArticleContent) -> Safe:
    return Safe(f'<p class="kb-summary"><strong>Summary:</strong> {escape(content.summary)}</p>'
                f"{article_html(content.body)}")


def _button_form(action: str, label: str, csrf: str, based_on: int | None = None,
                 secondary: bool = False) -> str:
    hidden = (f'<input type="hidden" name="based_on" value="{based_on}">'
              if based_on is not None else "")
    kind = "button secondary" if secondary else "button"
    return (f'<form method="post" action="{escape(action)}" class="inline-form">'
            f'{csrf_field(csrf)}{hidden}<button type="submit" class="{kind}">{escape(label)}'
            "</button></form>")


def article_page(view: VersionView, latest: int, draft: int | None, csrf: str,
                 today: dt.date, done: str = "", error: str = "") -> Safe:
    parts = [f'<p><a href="{BASE}">All articles</a></p>',
             f"<h1>{escape(view.content.title)}</h1>"]
    if done in DONE:
        parts.append(f'<p class="state" role="status">{escape(DONE[done])}</p>')
    if error:
        parts.append(f'<p class="error-text" role="alert">{escape(error)}</p>')
    actions = [f'<a class="button" href="{article_url(view.article_id, "/edit")}">Edit</a>',
               f'<a class="button secondary" href="{article_url(view.article_id, "/history")}">'
               "History and differences</a>"]
    if draft is not None:
        actions.append(_button_form(article_url(view.article_id, "/publish"),
                                    f"Publish draft (version {draft})", csrf, latest))
    if view.live_version is not None:
        actions.append(_button_form(article_url(view.article_id, "/retire"), "Retire", csrf,
                                    secondary=True))
    elif view.status is VersionStatus.RETIRED:
        actions.append(_button_form(article_url(view.article_id, "/reinstate"), "Reinstate",
                                    csrf, secondary=True))
    parts.append('<div class="row">' + " ".join(actions) + "</div>")
    if view.live_version is None:
        parts.append('<p class="state">Nothing of this article is published: the assistant '
                     "does not answer from it.</p>")
    parts.append(_facts(view, today))
    parts.append(content_html(view.content))
    return Safe("\n".join(parts))


@dataclass(frozen=True)
class EditorState:
    """What the editor form holds: a version's content, or what the editor typed."""

    values: dict[str, str] = field(default_factory=dict)
    based_on: int | None = None
    note: str = ""
    error: str = ""

    @classmethod
    def of(cls, content: ArticleContent | None, based_on: int | None) -> "EditorState":
        if content is None:
            return cls(based_on=based_on)
        return cls({"topic": content.topic, "title": content.title, "summary": content.summary,
                    "body": content.body, "source_title": content.source_title,
                    "source_url": content.source_url, "owner": content.owner,
                    "effective_from": content.effective_from.isoformat(),
                    "review_by": content.review_by.isoformat(),
                    "departments": ", ".join(content.departments) or "all",
                    "keywords": ", ".join(content.keywords)}, based_on)

    def get(self, name: str) -> str:
        return self.values.get(name, "")


FIELDS = [  # name, label, hint, kind
    ("title", "Title", "As employees see it.", "text"),
    ("topic", "Topic", "The fixed topic this article answers (shared/kb-topics.md).", "topic"),
    ("departments", "Departments", "all, or department codes separated by commas (DDS, MPW): a "
     "department's own article replaces the general one for its staff.", "text"),
    ("summary", "Summary", "One or two sentences answering the commonest question.", "short"),
    ("body", "Text", "Markdown. Each section starts with a line '## Heading'; the assistant "
     "quotes the first sentences of the best section.", "long"),
    ("source_title", "Source document", "The public document the article is based on.", "text"),
    ("source_url", "Source address", "https://...", "url"),
    ("owner", "Owner", "The team that answers for the content.", "text"),
    ("effective_from", "Effective from", "The date its rules and figures take effect.", "date"),
    ("review_by", "Review by", "When the owner must check it again.", "date"),
    ("keywords", "Keywords", "Words employees use that the text may not, separated by commas.",
     "text"),
]


def _field(name: str, label: str, hint: str, kind: str, state: EditorState) -> str:
    value = state.get(name)
    hint_id = f"kb-{name}-hint"
    common = f'id="kb-{name}" name="{name}" aria-describedby="{hint_id}"'
    if kind == "topic":
        choices = [("", "Choose a topic")] + [(t, f"{t}: {d}"[:90]) for t, d in TOPICS.items()]
        control = f'<select {common} class="input select" required>{options(choices, value)}</select>'
    elif kind in ("short", "long"):
        rows = 3 if kind == "short" else 18
        control = (f'<textarea {common} class="input textarea" rows="{rows}" required>'
                   f"{escape(value)}</textarea>")
    else:
        kind_attr = {"url": "url", "date": "date"}.get(kind, "text")
        required = "" if name == "keywords" else " required"
        control = (f'<input {common} type="{kind_attr}" class="input" '
                   f'value="{escape(value)}"{required}>')
    return (f'<div class="field"><label for="kb-{name}" class="label">{label}</label>'
            f'<p id="{hint_id}" class="hint">{escape(hint)}</p>{control}</div>')


def editor_page(action: str, heading: str, state: EditorState, csrf: str,
                preview: ArticleContent | None = None, back: str = BASE) -> Safe:
    parts = [f'<p><a href="{escape(back)}">Back</a></p>', f"<h1>{escape(heading)}</h1>"]
    if state.error:
        parts.append(f'<p class="error-text" role="alert" id="kb-error">{escape(state.error)}</p>')
    if preview is not None:
        sections = [s for s in split_sections(preview.body) if s.heading]
        quoted = excerpt(sections[0].body) if sections else ""
        parts.append('<section class="kb-preview" aria-labelledby="preview-heading">'
                     '<h2 id="preview-heading">Preview (not saved)</h2>'
                     f"<h3>{escape(preview.title)}</h3>{content_html(preview)}"
                     '<p class="hint">The assistant would quote, from the first section: '
                     f"&ldquo;{escape(quoted)}&rdquo;</p></section>")
    based = (f'<input type="hidden" name="based_on" value="{state.based_on}">'
             if state.based_on is not None else "")
    fields = "".join(_field(*spec, state) for spec in FIELDS)
    parts.append(
        f'<form method="post" action="{escape(action)}" class="stack kb-editor">'
        f"{csrf_field(csrf)}{based}{fields}"
        '<div class="field"><label for="kb-note" class="label">What changed</label>'
        '<p id="kb-note-hint" class="hint">A short note for the history.</p>'
        '<input id="kb-note" name="note" type="text" class="input" maxlength="500" '
        f'value="{escape(state.note)}" aria-describedby="kb-note-hint"></div>'
        '<div class="row"><button type="submit" name="do" value="preview" '
        'class="button secondary">Preview</button> '
        '<button type="submit" name="do" value="draft" class="button secondary">Save draft'
        '</button> <button type="submit" name="do" value="publish" class="button">Publish'
        "</button></div></form>")
    return Safe("\n".join(parts))


def _diff_html(lines: list[str]) -> str:
    out = []
    for line in lines:
        if line.startswith(("+++", "---")):
            out.append(f'<span class="diff-file">{escape(line)}</span>')
        elif line.startswith("@@"):
            out.append(f'<span class="diff-hunk">{escape(line)}</span>')
        elif line.startswith("+"):
            out.append(f"<ins>{escape(line)}</ins>")
        elif line.startswith("-"):
            out.append(f"<del>{escape(line)}</del>")
        else:
            out.append(escape(line))
    return "\n".join(out)


def history_page(versions: list[VersionView], diff: list[str] | None, old: int | None,
                 new: int | None, error: str = "") -> Safe:
    first = versions[0]
    parts = [f'<p><a href="{article_url(first.article_id)}">Back to the article</a></p>',
             f"<h1>History: {escape(first.content.title)}</h1>"]
    if error:
        parts.append(f'<p class="error-text" role="alert">{escape(error)}</p>')
    head = "".join(f'<th scope="col">{c}</th>' for c in (
        "Version", "Status", "Written", "Status changed", "Note"))
    rows = "".join(
        f'<tr><td><a href="{article_url(v.article_id, f"/versions/{v.version}")}">'
        f"{v.version}</a></td><td>{escape(STATUS_LABELS[v.status])}</td>"
        f"<td>{when(v.created_at)} by {escape(v.created_by)}</td>"
        f"<td>{when(v.status_changed_at)} by {escape(v.status_changed_by)}</td>"
        f"<td>{escape(v.change_note)}</td></tr>" for v in versions)
    parts.append(f'<table class="queue-table"><caption>Every version, newest first</caption>'
                 f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")
    numbers = [(str(v.version), f"Version {v.version}") for v in versions]
    parts.append(
        f'<form method="get" action="{article_url(first.article_id, "/history")}" '
        'class="row-form"><div class="row">'
        '<label for="kb-from" class="label">Compare</label>'
        f'<select id="kb-from" name="from" class="input select">'
        f'{options(numbers, str(old or ""))}</select>'
        '<label for="kb-to" class="label">with</label>'
        f'<select id="kb-to" name="to" class="input select">'
        f'{options(numbers, str(new or ""))}</select>'
        '<button type="submit" class="button secondary">Show differences</button></div></form>')
    if diff is not None:
        title = f"Differences from version {old} to version {new}"
        body = _diff_html(diff) if diff else "No differences."
        parts.append(f'<h2 id="diff-heading">{escape(title)}</h2>'
                     f'<pre class="kb-diff" aria-labelledby="diff-heading">{body}</pre>')
    return Safe("\n".join(parts))


def version_page(view: VersionView, today: dt.date) -> Safe:
    return Safe(f'<p><a href="{article_url(view.article_id, "/history")}">Back to the history'
                f"</a></p><h1>{escape(view.content.title)}: version {view.version}</h1>"
                f"{_facts(view, today)}"
                f'<p class="hint">{escape(view.change_note)}</p>{content_html(view.content)}')


def answers_page(found: EmployeeAnswers | None, employee: str, start: str, end: str,
                 error: str = "") -> Safe:
    parts = ["<h1>Answers given</h1>",
             "<p>Which knowledge-base article version the assistant showed an employee, and "
             "when (the question itself is never kept). Each search is audited.</p>",
             '<form method="get" action="/console/knowledge-answers" class="ticket-filters">'
             '<div class="filter-grid">'
             '<div class="field"><label for="ans-employee" class="label">Employee number'
             '</label><input id="ans-employee" name="employee" class="input" maxlength="16" '
             f'value="{escape(employee)}" required></div>'
             '<div class="field"><label for="ans-from" class="label">From</label>'
             f'<input id="ans-from" name="from" type="date" class="input" value="{escape(start)}">'
             '</div><div class="field"><label for="ans-to" class="label">To</label>'
             f'<input id="ans-to" name="to" type="date" class="input" value="{escape(end)}">'
             '</div></div><button type="submit" class="button">Show answers</button></form>']
    if error:
        parts.append(f'<p class="error-text" role="alert">{escape(error)}</p>')
    if found is not None:
        parts.append(f"<h2>{escape(found.name)} ({escape(found.employee_number)}): "
                     f"{len(found.answers)} answer{'s' if len(found.answers) != 1 else ''}</h2>")
        if found.answers:
            head = "".join(f'<th scope="col">{c}</th>' for c in (
                "When", "Channel", "Article", "What the assistant said"))
            rows = []
            for a in found.answers:
                if a.answered:
                    article = (f'<a href="{article_url(a.article_id or 0, f"/versions/{a.version}")}">'
                               f"{escape(a.title)}, version {a.version}</a> ({escape(a.topic or '')})")
                    said = f"{escape(a.section)}: {escape(a.excerpt)}"
                else:
                    article, said = "none", "I don't have an article on that (offered a query)."
                rows.append(f"<tr><td>{when(a.at)}</td><td>{escape(a.channel)}</td>"
                            f"<td>{article}</td><td>{said}</td></tr>")
            parts.append(f'<table class="queue-table"><thead><tr>{head}</tr></thead>'
                         f"<tbody>{''.join(rows)}</tbody></table>")
    return Safe("\n".join(parts))
