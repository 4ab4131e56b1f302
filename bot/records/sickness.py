"""Reporting sickness absence: the first day off sick, told to the line manager."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.audit import record_access
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import AuditOutcome
from bot.tickets.references import begin_write_transaction

from .access import caller_for
from .errors import InvalidRequest
from .notifications import enqueue_sickness
from .port import open_backoffice

MAX_DAYS_BACK = 7


@dataclass(frozen=True)
class SicknessReport:
    absence_id: int
    start: dt.date
    already_open: bool
    manager_name: str | None
    notify_conversation: str | None = None  # the line manager's, to push the report to


def report_sickness(
    db: Database, principal: Principal, start: dt.date, today: dt.date
) -> SicknessReport:
    """Open a sickness absence from `start` (today or up to a week ago), unless one is open."""
    if start > today + dt.timedelta(days=1):
        raise InvalidRequest("sickness can't be reported in advance")
    if start < today - dt.timedelta(days=MAX_DAYS_BACK):
        raise InvalidRequest(
            "sickness more than a week ago has to be recorded by your line manager"
        )
    me = caller_for(db, principal, "sickness")
    with db.unit_of_work() as session:
        begin_write_transaction(session)
        office = open_backoffice(session)
        office.lock_employee(me.id)
        existing = office.open_sickness(me.id)
        if existing:
            absence_id, started = existing
            manager_conversation = None
        else:
            absence_id, started = office.add_sickness(me.id, start), start
            manager_conversation = enqueue_sickness(session, me.id, absence_id)
        employment = office.employment(me.id)
        manager = (
            office.employment(employment.line_manager_id)
            if employment and employment.line_manager_id
            else None
        )
        record_access(
            session,
            principal=principal,
            actor=me,
            subject_employee_id=me.id,
            record_type="sickness",
            action="read" if existing else "create",
            outcome=AuditOutcome.ALLOWED,
        )
    return SicknessReport(
        absence_id,
        started,
        existing is not None,
        f"{manager.given_name} {manager.family_name}" if manager else None,
        manager_conversation,
    )
