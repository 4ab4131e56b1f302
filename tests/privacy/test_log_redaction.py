"""The log redaction of the services runtime: every record of the process, any logger."""
from __future__ import annotations

import logging

import pytest

from bot.redaction import logs as log_redaction


@pytest.fixture()
def installed():
    previous = logging.getLogRecordFactory()
    log_redaction._installed = False
    log_redaction.install()
    yield
    logging.setLogRecordFactory(previous)
    log_redaction._installed = False


def test_messages_arguments_and_exceptions_are_redacted(installed, caplog) -> None:
    caplog.set_level(logging.INFO)
    library = logging.getLogger("some.library")
    library.info("user %s asked about %s", "sarah.jones@dds.gov.uk", "QQ 12 34 56 C")
    try:
        raise ValueError("bad value 4111 1111 1111 1111 for sort code 20-45-77")
    except ValueError:
        library.exception("failed for 07700 900123")
    text = caplog.text
    for secret in ("sarah.jones@dds.gov.uk", "QQ 12 34 56 C", "4111 1111 1111 1111",
                   "20-45-77", "07700 900123"):
        assert secret not in text
    assert "user [email] asked about [NI number]" in text
    assert "ValueError: bad value [card number]" in text
    assert all(record.args == () for record in caplog.records)


def test_install_is_idempotent(installed) -> None:
    factory = logging.getLogRecordFactory()
    log_redaction.install()
    assert logging.getLogRecordFactory() is factory


def test_a_malformed_call_still_logs(installed, caplog) -> None:
    caplog.set_level(logging.INFO)
    logging.getLogger("x").info("%s %s", "only one")
    assert "%s %s" in caplog.text
