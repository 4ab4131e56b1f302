"""Service lines (ticket categories) and priorities: names, prefixes, suggestions, parsing.

Pure functions, no database: the form uses them to understand a typed answer ("it's about my
pension") and to suggest a priority; the reference allocator uses the prefixes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from .enums import Priority, ServiceLine


@dataclass(frozen=True)
class ServiceLineInfo:
    prefix: str
    title: str  # how the employee sees it, e.g. on a button
    suggested_priority: Priority  # the form's suggestion (its wording: domain/tickets.yml)
    keywords: tuple[str, ...]


SERVICE_LINES: dict[ServiceLine, ServiceLineInfo] = {
    ServiceLine.HR: ServiceLineInfo(
        "HR", "HR", Priority.NORMAL,
        ("hr", "human resources", "leave", "holiday", "absence", "sick", "sickness",
         "maternity", "paternity", "adoption", "contract", "hours", "flexi", "grievance",
         "probation", "appraisal", "address", "personal details", "promotion", "transfer",
         "working pattern", "part time", "part-time", "reference letter", "disciplinary")),
    ServiceLine.PAYROLL: ServiceLineInfo(
        "PAY", "Payroll", Priority.HIGH,
        ("pay", "payroll", "payslip", "pay slip", "salary", "wage", "wages", "overtime",
         "underpaid", "overpaid", "overpayment", "underpayment", "tax", "tax code", "p60",
         "p45", "p11d", "deduction", "deductions", "allowance", "bank details", "arrears",
         "national insurance", "ni number", "student loan", "bonus", "increment")),
    ServiceLine.PENSIONS: ServiceLineInfo(
        "PEN", "Pensions", Priority.NORMAL,
        ("pension", "pensions", "alpha", "classic", "nuvos", "premium", "retire", "retirement",
         "annual benefit statement", "buy out", "added pension", "partnership account",
         "mypension", "lump sum", "ill health retirement")),
    ServiceLine.FINANCE: ServiceLineInfo(
        "FIN", "Finance", Priority.NORMAL,
        ("finance", "expense", "expenses", "claim", "t&s", "travel and subsistence",
         "subsistence", "mileage", "invoice", "supplier", "purchase order", "po", "receipt",
         "cost centre", "cost center", "budget", "procurement card", "gpc", "reimburse",
         "reimbursement", "refund")),
    ServiceLine.ACCESS: ServiceLineInfo(
        "ACC", "System access", Priority.HIGH,
        ("access", "locked out", "lock out", "locked", "log in", "login", "log on", "logon",
         "password", "sign in", "signin", "portal", "self service", "self-service",
         "mfa", "authenticator", "2fa", "permissions", "oracle", "sap")),
}

PREFIXES = {info.prefix: line for line, info in SERVICE_LINES.items()}

PRIORITY_WORDS: dict[Priority, tuple[str, ...]] = {
    Priority.URGENT: ("urgent", "critical", "emergency", "asap", "immediately", "p1"),
    Priority.HIGH: ("high", "important", "soon", "quickly", "p2"),
    Priority.NORMAL: ("normal", "medium", "standard", "regular", "default", "p3"),
    Priority.LOW: ("low", "not urgent", "no rush", "whenever", "minor", "p4"),
}
PRIORITY_TITLES = {
    Priority.URGENT: "Urgent", Priority.HIGH: "High", Priority.NORMAL: "Normal",
    Priority.LOW: "Low",
}


def _words(text: str) -> str:
    return " " + re.sub(r"[^a-z0-9&]+", " ", text.lower()).strip() + " "


def _contains(haystack: str, phrase: str) -> bool:
    return f" {phrase} " in haystack


def classify_category(text: str) -> ServiceLine | None:
    """The service line a piece of text is about, or None when unclear or ambiguous.

    A category's own value or title wins outright ("payroll", "System access"); otherwise the
    line with the most keyword matches wins, and a tie is ambiguous.
    """
    words = _words(text)
    for line, info in SERVICE_LINES.items():
        if words.strip() in {line.value, info.title.lower(), info.prefix.lower()}:
            return line
    scores = {
        line: sum(_contains(words, _words(k).strip()) for k in info.keywords)
        for line, info in SERVICE_LINES.items()
    }
    best = max(scores.values())
    if best == 0:
        return None
    winners = [line for line, score in scores.items() if score == best]
    return winners[0] if len(winners) == 1 else None


def parse_category(value: str) -> ServiceLine | None:
    """A category from a slot value: an exact value ("payroll") or a keyword text."""
    try:
        return ServiceLine(value.strip().lower())
    except ValueError:
        return classify_category(value)


def parse_priority(text: str) -> Priority | None:
    """A priority from typed text ("high please", "it's not urgent"), or None."""
    words = _words(text)
    # "not urgent" must not read as "urgent": check the longer phrases (LOW) first.
    for priority in (Priority.LOW, Priority.URGENT, Priority.HIGH, Priority.NORMAL):
        if any(_contains(words, _words(w).strip()) for w in PRIORITY_WORDS[priority]):
            return priority
    return None


def subject_from(description: str, limit: int = 120) -> str:
    """A one-line subject: the first sentence of the description, cut at a word boundary."""
    flat = " ".join(description.split())
    first = re.split(r"(?<=[.!?])\s", flat, maxsplit=1)[0]
    if len(first) <= limit:
        return first
    cut = first[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"
