"""Redaction: personal data in free text replaced by placeholders such as "[NI number]".

Used wherever text reaches people other than the employee it is about, or is kept: the agent's
transcript and the handoff summary, ticket descriptions and comments made from conversations,
log records, and stored conversation text once its retention period has passed
(docs/data-protection.md). The employee's own view and the records themselves are not
redacted.

Detection is by patterns (`bot.redaction.patterns`) and by spaCy's named-entity recogniser
(`bot.redaction.names`, names and places). Overlapping findings are resolved by priority, then
length: a card number wins over the phone number inside it, an e-mail address over the name in
it. `redact(text, names=False)` uses the patterns alone (microseconds, no model), for log records.
"""
from __future__ import annotations

from collections.abc import Iterable

from . import names, patterns
from .patterns import Finding

PLACEHOLDERS = {
    "name": "[name]",
    "place": "[place]",
    "email": "[email]",
    "phone": "[phone]",
    "ni_number": "[NI number]",
    "sort_code": "[sort code]",
    "account_number": "[account number]",
    "card_number": "[card number]",
    "postcode": "[postcode]",
    "employee_number": "[employee number]",
    "reference_number": "[reference]",
    "date_of_birth": "[date of birth]",
    "number": "[number]",
}
PATTERN_KINDS = ("email", "phone", "ni_number", "sort_code", "account_number", "card_number",
                 "postcode", "employee_number", "reference_number", "date_of_birth")
ENTITY_KINDS = ("name", "place")


def _merge_same_kind(found: Iterable[Finding]) -> list[Finding]:
    """Overlapping findings of one kind become their union ("sarah" + "sarah connor")."""
    merged: list[Finding] = []
    for finding in sorted(found, key=lambda f: (f.kind, f.start)):
        last = merged[-1] if merged else None
        if last is not None and last.kind == finding.kind and finding.start < last.end:
            merged[-1] = Finding(last.start, max(last.end, finding.end), last.kind,
                                 max(last.priority, finding.priority), last.source)
        else:
            merged.append(finding)
    return merged


def resolve(found: Iterable[Finding]) -> list[Finding]:
    """The non-overlapping findings to redact, in text order: highest priority, then longest."""
    chosen: list[Finding] = []
    candidates = _merge_same_kind(found)
    for finding in sorted(candidates, key=lambda f: (-f.priority, -(f.end - f.start), f.start)):
        if finding.end <= finding.start:
            continue
        if all(finding.end <= kept.start or finding.start >= kept.end for kept in chosen):
            chosen.append(finding)
    return sorted(chosen, key=lambda f: f.start)


def findings(text: str, names_too: bool = True) -> list[Finding]:
    """What would be redacted in `text`, resolved."""
    if not text:
        return []
    found = patterns.find(text)
    if names_too:
        found.extend(names.find(text))
    return resolve(found)


def apply(text: str, chosen: Iterable[Finding]) -> str:
    """`text` with each chosen span replaced by its placeholder."""
    parts, position = [], 0
    for finding in chosen:
        parts.append(text[position:finding.start])
        parts.append(PLACEHOLDERS[finding.kind])
        position = finding.end
    parts.append(text[position:])
    return "".join(parts)


def redact(text: str, names: bool = True) -> str:
    """`text` with its personal data replaced by placeholders.

    `names=False` skips the named-entity recogniser (patterns only): for log records, which
    must never wait for a model.
    """
    if not text:
        return text
    return apply(text, findings(text, names_too=names))
