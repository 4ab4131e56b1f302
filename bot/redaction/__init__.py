"""Redaction of personal data in free text: patterns, and spaCy's recogniser for names and
places (`redactor.py`), and every log record of a process (`logs.py`).

A package of its own, importing nothing else of `bot/`, because the services that keep or show
text (handoff, tickets, insight) use it and `bot.privacy` (retention, subject access) uses them.
"""
from .redactor import ENTITY_KINDS, PATTERN_KINDS, PLACEHOLDERS, findings, redact, resolve

__all__ = ["ENTITY_KINDS", "PATTERN_KINDS", "PLACEHOLDERS", "findings", "redact", "resolve"]
