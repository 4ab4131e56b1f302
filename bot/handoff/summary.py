"""The summary an agent reads before taking a conversation: PII-minimised, short, plain text.

It holds what the agent needs to avoid asking the employee to repeat themselves: why they
asked, the topics of the conversation (recent intents), the facts the assistant had gathered
(slots) and the last few messages. Personal data in the messages and slot values is replaced by
placeholders (`bot.redaction`: e-mail addresses, phone numbers, National Insurance,
card, bank and reference numbers, postcodes, dates of birth, people's names and places); the
agent sees the employee's own name from the directory (audited).

Pure functions: no database, no Rasa.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from bot.redaction import redactor as redaction

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


def redact(text: str) -> str:
    """`text` with its personal data replaced by placeholders (`bot.redaction`),
    whitespace collapsed."""
    return redaction.redact(" ".join((text or "").split()))


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
