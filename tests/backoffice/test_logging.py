"""Talking to a system of record logs no person numbers, references or tokens."""

from __future__ import annotations

import logging

import pytest

from bot.storage.database import Database
from tests.backoffice_fakes import RunningFakes
from tests.records_support import employee_id


def test_requests_to_a_vendor_log_nothing_personal(db: Database, vendor: RunningFakes,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    alice = employee_id(db, "E1001")
    assert vendor.office.people.contact_details(alice) is not None
    vendor.office.absence.leave_position(alice)
    assert "E1001" not in caplog.text and "Bearer" not in caplog.text
