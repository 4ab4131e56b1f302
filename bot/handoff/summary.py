"""The summary an agent reads before taking a conversation: PII-minimised, short, plain text.

It holds what the agent needs to avoid asking the employee to repeat themselves: why they
asked, the topics of the conversation (recent intents), the facts the assistant had gathered
(slots) and the last few messages. Identifiers an agent does not need in a queue view are
replaced by placeholders: e-mail addresses, phone numbers, National Insurance numbers, bank
sort codes, card and account numbers, postcodes. Names cannot be spotted reliably without a
language model, so they are not removed; the agent sees the employee's name anyway (from the
directory, audited), and the summary never leaves the helpdesk database.

Pure functions: no database, no Rasa.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_MESSAGES = 5
MAX_MESSAGE_CHARS = 300
MAX_SLOT_CHARS = 60
MAX_SUMMARY_CHARS = 1800
# Slots that are conversation plumbing, not facts about the query.
IGNORED_SLOTS = frozenset({
    "requested_slot", "session_started_metadata", "handoff_offer", "handoff_skill",
    "handoff_reason",
})
# Internal intents and Rasa's own, not worth an agent's attention.
IGNORED_INTENTS = frozenset({"nlu_fallback", "session_start", "restart", ""})

# Order matters: the more specific patterns run first.
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    # National Insurance numbers, e.g. QQ 12 34 56 C: any two letters on purpose (HMRC's
    # example prefix QQ is not a valid one, and people type what they have in front of them).
    (re.compile(r"\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b", re.IGNORECASE),
     "[NI number]"),
    # Card numbers: 13 to 19 digits, optionally grouped by spaces or dashes.
    (re.compile(r"(?<![\w-])(?:\d[ -]?){12,18}\d(?![\w-])"), "[card number]"),
    # UK phone numbers: +44 or a leading 0, 10 or 11 digits in all.
    (re.compile(r"(?<![\w-])(?:\+44\s?\(?0?\)?|\(?0)\d{2,4}\)?[\s-]?\d{3,4}[\s-]?\d{3,4}(?![\w-])"),
     "[phone]"),
    # Bank sort codes: 12-34-56 or 12 34 56.
    (re.compile(r"(?<![\w-])\d{2}[- ]\d{2}[- ]\d{2}(?![\w-])"), "[sort code]"),
    # UK postcodes, e.g. LS1 4AP, SW1A 2AA.
    (re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE), "[postcode]"),
    # Any other run of 6+ digits (account numbers, payroll ids); ticket references such as
    # HR-000123 are kept: the digits follow a dash.
    (re.compile(r"(?<![\w-])\d{6,}(?!\w)"), "[number]"),
)


def redact(text: str) -> str:
    """`text` with personal identifiers replaced by placeholders, whitespace collapsed."""
    cleaned = " ".join((text or "").split())
    for pattern, placeholder in _REDACTIONS:
        cleaned = pattern.sub(placeholder, cleaned)
    return cleaned


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class ConversationFacts:
    """What the action saw of the conversation, before minimisation."""

    intents: list[str] = field(default_factory=list)  # oldest first
    slots: Mapping[str, Any] = field(default_factory=dict)
    user_messages: list[str] = field(default_factory=list)  # oldest first


def _topics(intents: Iterable[str]) -> list[str]:
    seen: list[str] = []
    for name in intents:
        base = (name or "").split("/", 1)[0]
        if base in IGNORED_INTENTS or base in seen:
            continue
        seen.append(base)
    return seen[-6:]


def _slot_lines(slots: Mapping[str, Any]) -> list[str]:
    lines = []
    for name in sorted(slots):
        value = slots[name]
        if name in IGNORED_SLOTS or value is None or value == "" or value == []:
            continue
        if isinstance(value, (list, tuple)):
            value = ", ".join(str(v) for v in value)
        lines.append(f"{name}: {_clip(redact(str(value)), MAX_SLOT_CHARS)}")
    return lines


def build_summary(facts: ConversationFacts, reason_line: str) -> str:
    """The summary text stored with the handoff and shown in the console."""
    parts = [reason_line]
    topics = _topics(facts.intents)
    if topics:
        parts.append("Topics: " + ", ".join(topic.replace("_", " ") for topic in topics))
    slot_lines = _slot_lines(facts.slots)
    if slot_lines:
        parts.append("Details: " + "; ".join(slot_lines))
    messages = [m for m in (redact(m) for m in facts.user_messages) if m][-MAX_MESSAGES:]
    if messages:
        parts.append("Last messages:")
        parts.extend(f"- {_clip(m, MAX_MESSAGE_CHARS)}" for m in messages)
    return _clip("\n".join(parts), MAX_SUMMARY_CHARS)
