"""A report as CSV: one tidy row per number (section, group, metric, value), so a spreadsheet
can pivot it and every number of the JSON report appears exactly once."""
from __future__ import annotations

import csv
import io
from typing import Any, Iterator

from .measures import Report

GROUP_KEYS = ("period", "department", "channel", "intent", "category", "team")


def rows(report: Report) -> Iterator[tuple[str, str, str, Any]]:
    data = report.as_dict()
    for name, value in data["filters"].items():
        yield ("filters", "", name, "" if value is None else value)
    for section in ("totals", "messages", "agent_reply", "csat"):
        yield from _flat(section, "", data[section])
    for section in ("periods", "by_department", "by_channel", "by_intent"):
        for entry in data[section]:
            group = next(str(entry[k]) for k in GROUP_KEYS if k in entry)
            yield from _flat(section, group, {k: v for k, v in entry.items()
                                              if k not in GROUP_KEYS})
    tickets = data["tickets"]
    yield from _flat("tickets", "", {k: v for k, v in tickets.items()
                                     if k not in ("by_category", "by_team")})
    for section in ("by_category", "by_team"):
        for entry in tickets[section]:
            group = next(str(entry[k]) for k in GROUP_KEYS if k in entry)
            yield from _flat(f"tickets_{section}", group,
                             {k: v for k, v in entry.items() if k not in GROUP_KEYS})
    for entry in data["unanswered"]:
        yield ("unanswered", entry["question"], "times", entry["times"])
    for entry in data["comments"]:
        yield ("comments", entry["at"], f"score {entry['score']} {entry['subject']}",
               entry["comment"])


def _flat(section: str, group: str, values: dict[str, Any],
          prefix: str = "") -> Iterator[tuple[str, str, str, Any]]:
    for name, value in values.items():
        if isinstance(value, dict):
            yield from _flat(section, group, value, f"{prefix}{name}.")
        else:
            yield (section, group, f"{prefix}{name}", "" if value is None else value)


def to_csv(report: Report) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(("section", "group", "metric", "value"))
    for section, group, metric, value in rows(report):
        writer.writerow((section, _safe(group), _safe(metric), _safe(value)))
    return buffer.getvalue()


def _safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (CSV injection: OWASP)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value
