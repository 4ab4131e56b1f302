"""No personal data in logs: every log record of the process is redacted as it is made.

The helpdesk's own code logs event names, identifiers and exception types, never message text
(tests/web/test_logging.py, tests/system). This is the second line of defence, for what a
library logs: an exception message that echoes a value, a URL with an e-mail address in its
query, a driver error that quotes a parameter. `install()` wraps the process's log record factory
(`logging.setLogRecordFactory`), so it covers every logger and handler of the process, including
those a library configures later (rasa-sdk, aiohttp), which a filter on today's handlers would
miss. Each record's message, arguments and exception text are formatted once and passed through
the pattern redaction (`redact(..., names=False)`: microseconds, no model, so logging never
waits for spaCy); the formatted message replaces `msg` and `args`.

Installed by every process of the services runtime at start: the web app, the action server
(`actions/__init__.py`), the ticket worker, and the CLI (`configure_logging`).
"""
from __future__ import annotations

import logging
import traceback
from typing import Any

from .redactor import redact

_installed = False


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Format `record`'s message (and exception) now, redacted; return it."""
    try:
        message = record.getMessage()
    except Exception:  # a malformed call: keep what can be kept, never raise from logging
        message = str(record.msg)
    record.msg = redact(message, names=False)
    record.args = ()
    if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
        record.exc_text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
    if record.exc_text:
        record.exc_text = redact(record.exc_text, names=False)
    if record.stack_info:
        record.stack_info = redact(record.stack_info, names=False)
    return record


def install() -> None:
    """Redact every log record this process makes from now on (idempotent)."""
    global _installed
    if _installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        return redact_record(previous(*args, **kwargs))

    logging.setLogRecordFactory(factory)
    _installed = True


def configure_logging(level: int = logging.INFO) -> None:
    """The services' log format, with redaction installed."""
    install()
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
