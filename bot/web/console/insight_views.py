"""HTML of the service-insight dashboard: the filter form, server-rendered SVG charts (each
followed by the table of its numbers, which is what screen readers read), and the lists.

Every chart is drawn from the same `Report` the CLI prints; nothing is computed here.
"""
from __future__ import annotations

from typing import Any, Sequence
from urllib.parse import urlencode

from bot.insight.measures import Report

from ..rendering import Safe, escape

BAR_HEIGHT = 22
CHART_WIDTH = 640
LABEL_WIDTH = 190


def _percent(value: float | None) -> str:
    return "–" if value is None else f"{100 * value:.1f}%"


def _number(value: Any) -> str:
    if value is None:
        return "–"
    return f"{value:,}" if isinstance(value, int) else str(value)


def bar_chart(chart_id: str, title: str, bars: Sequence[tuple[str, float, str]],
              maximum: float | None = None) -> Safe:
    """Horizontal bars: (label, value, shown text). role=img, named by its <title>; the
    numbers are in the table that follows it (aria-describedby)."""
    top = maximum if maximum else max([value for _l, value, _t in bars] + [1])
    height = max(1, len(bars)) * (BAR_HEIGHT + 8) + 8
    rows = []
    for index, (label, value, shown) in enumerate(bars):
        y = 8 + index * (BAR_HEIGHT + 8)
        width = 0 if top <= 0 else (CHART_WIDTH - LABEL_WIDTH - 80) * max(0.0, value) / top
        rows.append(
            f'<text x="{LABEL_WIDTH - 8}" y="{y + 16}" text-anchor="end" class="chart-label">'
            f"{escape(label)}</text>"
            f'<rect x="{LABEL_WIDTH}" y="{y}" width="{width:.1f}" height="{BAR_HEIGHT}" '
            f'class="chart-bar"></rect>'
            f'<text x="{LABEL_WIDTH + width + 6:.1f}" y="{y + 16}" class="chart-value">'
            f"{escape(shown)}</text>")
    return Safe(
        f'<svg class="chart" id="{chart_id}" role="img" aria-labelledby="{chart_id}-title" '
        f'aria-describedby="{chart_id}-table" viewBox="0 0 {CHART_WIDTH} {height}" '
        f'width="100%" preserveAspectRatio="xMinYMin meet">'
        f'<title id="{chart_id}-title">{escape(title)}</title>{"".join(rows)}</svg>')


def table(table_id: str, caption: str, head: Sequence[str], rows: Sequence[Sequence[Any]]) -> Safe:
    header = "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
    body = "".join(
        "<tr>" + f'<th scope="row">{escape(row[0])}</th>'
        + "".join(f"<td>{escape(cell)}</td>" for cell in row[1:]) + "</tr>"
        for row in rows) or f'<tr><td colspan="{len(head)}">No data in this period.</td></tr>'
    return Safe(
        f'<div class="table-scroll" role="region" aria-labelledby="{table_id}-caption" '
        f'tabindex="0"><table class="queue-table" id="{table_id}">'
        f'<caption id="{table_id}-caption">{escape(caption)}</caption>'
        f"<thead><tr>{header}</tr></thead><tbody>{body}</tbody></table></div>")


def _select(name: str, label: str, options: Sequence[tuple[str, str]], chosen: str) -> str:
    items = "".join(
        f'<option value="{escape(value)}"{" selected" if value == chosen else ""}>'
        f"{escape(text)}</option>" for value, text in options)
    return (f'<div class="field"><label for="f-{name}">{escape(label)}</label>'
            f'<select id="f-{name}" name="{name}">{items}</select></div>')


def filter_form(query: dict[str, str], departments: Sequence[tuple[str, str]],
                intents: Sequence[str]) -> Safe:
    department = [("", "All departments"), *departments]
    channels = [("", "All channels"), ("widget", "Web chat"), ("msteams", "Teams"),
                ("slack", "Slack")]
    intent_options = [("", "All intents"), *((name, name) for name in intents)]
    return Safe(
        '<form method="get" action="/console/insight" class="filters" '
        'aria-label="Dashboard filters">'
        f'<div class="field"><label for="f-from">From</label><input id="f-from" type="date" '
        f'name="from" value="{escape(query["from"])}" required></div>'
        f'<div class="field"><label for="f-to">To</label><input id="f-to" type="date" '
        f'name="to" value="{escape(query["to"])}" required></div>'
        + _select("department", "Department", department, query.get("department", ""))
        + _select("channel", "Channel", channels, query.get("channel", ""))
        + _select("intent", "Intent", intent_options, query.get("intent", ""))
        + _select("by", "Group by", [("day", "Day"), ("week", "Week")], query.get("by", "day"))
        + '<button type="submit" class="button">Show</button></form>')


def dashboard(report: Report, query: dict[str, str], departments: Sequence[tuple[str, str]],
              intents: Sequence[str]) -> Safe:
    data = report.as_dict()
    totals, csat, tickets = data["totals"], data["csat"], data["tickets"]
    csv_link = "/console/insight.csv?" + urlencode({k: v for k, v in query.items() if v})
    parts = [
        '<h1>Service insight</h1>',
        filter_form(query, departments, intents),
        f'<p><a href="{escape(csv_link)}" download>Download these numbers (CSV)</a></p>',
        '<h2 id="overview">Overview</h2>',
        table("totals", "Conversations and outcomes in the period",
              ["measure", "count", "share of conversations"],
              [["Conversations", _number(totals["conversations"]), ""],
               ["Contained (answered, no person or ticket)", _number(totals["contained"]),
                _percent(totals["contained_rate"])],
               ["Handed to a person", _number(totals["handed_off"]),
                _percent(totals["handed_off_rate"])],
               ["With a fallback", _number(totals["with_fallback"]),
                _percent(totals["with_fallback_rate"])],
               ["With a \"did you mean\"", _number(totals["with_did_you_mean"]),
                _percent(totals["with_did_you_mean_rate"])],
               ["Abandoned", _number(totals["abandoned"]), _percent(totals["abandoned_rate"])],
               ["Tickets raised", _number(totals["tickets_raised"]), ""]]),
        '<h2 id="volume">Conversations by period</h2>',
        bar_chart("chart-volume", "Conversations per period",
                  [(p["period"], p["conversations"], _number(p["conversations"]))
                   for p in data["periods"]]),
        table("chart-volume-table", "Conversations and rates per period",
              ["period", "conversations", "containment", "handoff", "fallback",
               "did you mean", "abandonment"],
              [[p["period"], _number(p["conversations"]), _percent(p["contained_rate"]),
                _percent(p["handed_off_rate"]), _percent(p["with_fallback_rate"]),
                _percent(p["with_did_you_mean_rate"]), _percent(p["abandoned_rate"])]
               for p in data["periods"]]),
        '<h2 id="departments">By department</h2>',
        bar_chart("chart-departments", "Containment rate by department",
                  [(d["department"], d["contained_rate"] or 0, _percent(d["contained_rate"]))
                   for d in data["by_department"]], maximum=1.0),
        table("chart-departments-table", "Conversations and rates by department",
              ["department", "conversations", "containment", "handoff", "abandonment"],
              [[d["department"], _number(d["conversations"]), _percent(d["contained_rate"]),
                _percent(d["handed_off_rate"]), _percent(d["abandoned_rate"])]
               for d in data["by_department"]]),
        '<h2 id="channels">By channel</h2>',
        table("channels-table", "Conversations and rates by channel",
              ["channel", "conversations", "containment", "handoff", "abandonment"],
              [[c["channel"], _number(c["conversations"]), _percent(c["contained_rate"]),
                _percent(c["handed_off_rate"]), _percent(c["abandoned_rate"])]
               for c in data["by_channel"]]),
        '<h2 id="intents">By intent</h2>',
        table("intents-table", "Messages and outcomes by intent",
              ["intent", "messages", "answered", "handed off", "tickets", "ratings",
               "mean rating"],
              [[i["intent"], _number(i["messages"]), _number(i["answered"]),
                _number(i["handed_off"]), _number(i["tickets_raised"]), _number(i["ratings"]),
                _number(i["csat_mean"])] for i in data["by_intent"]]),
        '<h2 id="satisfaction">Satisfaction</h2>',
        f'<p>Mean rating <strong>{escape(_number(csat["mean"]))}</strong> from '
        f'{escape(_number(csat["ratings"]))} ratings ({escape(_number(csat["asked"]))} asked).'
        "</p>",
        bar_chart("chart-csat", "Ratings by score",
                  [(f"{score} of 5", count, _number(count))
                   for score, count in sorted(csat["distribution"].items(), reverse=True)]),
        table("chart-csat-table", "Number of ratings by score", ["score", "ratings"],
              [[f"{score} of 5", _number(count)]
               for score, count in sorted(csat["distribution"].items(), reverse=True)]),
        '<h2 id="agents">Time to first agent reply</h2>',
        table("agent-reply-table", "Handoffs and the time to an agent's first reply",
              ["measure", "value"],
              [["Handoffs", _number(data["agent_reply"]["handoffs"])],
               ["Replied to", _number(data["agent_reply"]["replied"])],
               ["Median (seconds)", _number(data["agent_reply"]["median_seconds"])],
               ["90th percentile (seconds)", _number(data["agent_reply"]["p90_seconds"])]]),
        '<h2 id="tickets">Tickets and SLAs</h2>',
        f'<p>{escape(_number(tickets["created"]))} raised, '
        f'{escape(_number(tickets["resolved"]))} resolved, '
        f'{escape(_percent(tickets["sla_attainment"]))} within the resolution SLA.</p>',
        bar_chart("chart-sla", "SLA attainment by category",
                  [(c["category"], c["sla_attainment"] or 0, _percent(c["sla_attainment"]))
                   for c in tickets["by_category"]], maximum=1.0),
        table("chart-sla-table", "Tickets and SLA breaches by category",
              ["category", "raised", "resolved", "within SLA", "response breaches",
               "resolution breaches"],
              [[c["category"], _number(c["created"]), _number(c["resolved"]),
                _percent(c["sla_attainment"]), _number(c["response_breaches"]),
                _number(c["resolution_breaches"])] for c in tickets["by_category"]]),
        table("sla-team-table", "SLA breaches by team (the agent holding the ticket)",
              ["team", "resolved", "within SLA", "response breaches", "resolution breaches"],
              [[t["team"], _number(t["resolved"]), _percent(t["sla_attainment"]),
                _number(t["response_breaches"]), _number(t["resolution_breaches"])]
               for t in tickets["by_team"]]),
        '<h2 id="unanswered">Questions we could not answer</h2>',
        table("unanswered-table", "Most frequent unanswered questions (redacted)",
              ["question", "times"],
              [[u["question"], _number(u["times"])] for u in data["unanswered"]]),
        '<h2 id="comments">Comments</h2>',
        table("comments-table", "Latest comments with a rating (redacted)",
              ["when", "score", "about", "comment"],
              [[c["at"], _number(c["score"]), c["subject"], c["comment"]]
               for c in data["comments"]]),
    ]
    return Safe("\n".join(parts))
