"""Reporting sickness absence: the first day off sick, told to the line manager."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.audit import record_access
from bot.identity import Principal
from bot.storage.database import Database
from bot.storage.models import AuditOutcome
from sqlalchemy.orm import Session

from bot.backoffice.registry import backoffice
from bot.backoffice.types import Sickness
from bot.backoffice.writes import one_off_key, write_once

from .access import caller_for
from .errors import InvalidRequest
from .notifications import enqueue_sickness

MAX_DAYS_BACK = 7


@dataclass(frozen=True)
class SicknessReport:
    reference: str
    start: dt.date
    already_open: bool
    manager_name: str | None
    notify_conversation: str | None = None  # the line manager's, to push the report to


def report_sickness(
    db: Database,
    principal: Principal,
    start: dt.date,
    today: dt.date,
    client_reference: str | None = None,
) -> SicknessReport:
    """Open a sickness absence from `start` (today or up to a week ago), unless one is open.

    The same chat turn twice reports once (`client_reference`)."""
    if start > today + dt.timedelta(days=1):
        raise InvalidRequest("sickness can't be reported in advance")
    if start < today - dt.timedelta(days=MAX_DAYS_BACK):
        raise InvalidRequest(
            "sickness more than a week ago has to be recorded by your line manager"
        )
    me = caller_for(db, principal, "sickness")
    client_reference = client_reference or one_off_key()
    office = backoffice(db)
    outcome: dict[str, bool] = {}

    def write() -> Sickness:
        absence, created = office.absence.report_sickness(me.id, start, client_reference)
        outcome["created"] = created
        return absence

    def find() -> Sickness | None:
        found = office.absence.open_sickness(me.id)
        if found is not None:
            outcome.setdefault("created", True)
        return found

    def follow_up(session: Session, absence: Sickness, _: bool) -> str | None:
        created = outcome.get("created", False)
        record_access(
            session,
            principal=principal,
            actor=me,
            subject_employee_id=me.id,
            record_type="sickness",
            action="create" if created else "read",
            outcome=AuditOutcome.ALLOWED,
        )
        return enqueue_sickness(session, me.id, absence.reference) if created else None

    absence, manager_conversation = write_once(
        db, key=client_reference, employee_id=me.id, kind="sickness", system=office.absence.system,
        find=find, write=write, reference_of=lambda a: a.reference, follow_up=follow_up,
    )
    employment = office.people.employment(me.id)
    manager = (
        office.people.employment(employment.line_manager_id)
        if employment and employment.line_manager_id
        else None
    )
    return SicknessReport(
        absence.reference,
        absence.start_date,
        not outcome.get("created", False),
        manager.full_name if manager else None,
        manager_conversation,
    )
