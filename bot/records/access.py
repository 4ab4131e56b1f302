"""Who may read what: the caller's own records, and a line manager their reports' leave.

Every service of `bot.records` passes through here first. The caller is the employee behind
the verified principal (never a name, number or slot the user typed). A request that names
someone else ("Jane Smith's salary", "E1002", an injected slot) is refused unless a rule
allows it; the only such rule is that a line manager may see their direct reports' leave.
Allowed reads and refusals are both audited; a refusal is committed in its own unit of work,
so it survives the exception that ends the request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from bot.access import identify_caller
from bot.audit import record_access
from bot.identity import EmployeeRef, Principal
from bot.storage.database import Database
from bot.storage.models import AuditEvent, AuditOutcome, Employee

from .errors import AccessRefused

T = TypeVar("T")

OTHER_PERSON = "request about another employee"
NOT_A_REPORT = "not a direct report"
UNVERIFIED = "no verified principal"


def resolve_mention(
    session: Session, mention: str, among: Iterable[int] | None = None
) -> int | None:
    """The employee a mention names, if exactly one: number, e-mail, full or (among a given
    set, e.g. a manager's reports) given name. Used to refuse and audit, never to identify."""
    value = " ".join(str(mention).split()).strip().strip("'\"").lower()
    if not value:
        return None
    full_name = func.lower(Employee.given_name + " " + Employee.family_name)
    conditions = [
        func.lower(Employee.employee_number) == value,
        func.lower(Employee.email) == value,
        full_name == value,
        func.lower(Employee.given_name + "." + Employee.family_name) == value,
    ]
    query = select(Employee.id)
    if among is not None:
        conditions.append(func.lower(Employee.given_name) == value)
        query = query.where(Employee.id.in_(list(among)))
    ids = session.scalars(query.where(or_(*conditions))).all()
    return ids[0] if len(set(ids)) == 1 else None


def _refuse(
    db: Database,
    principal: Principal,
    actor: EmployeeRef,
    record_type: str,
    subjects: list[int | None],
    reason: str,
) -> None:
    with db.unit_of_work() as session:
        for subject in subjects:
            record_access(
                session,
                principal=principal,
                actor=actor,
                subject_employee_id=subject,
                record_type=record_type,
                outcome=AuditOutcome.REFUSED,
                reason=reason,
            )


def caller_for(
    db: Database, principal: Principal, record_type: str, about: Iterable[str] = ()
) -> EmployeeRef:
    """The caller, once any mention of someone else has been refused (and audited)."""
    employee = identify_caller(db, principal, record_type)
    mentions = [m for m in about if isinstance(m, str) and m.strip()]
    if mentions:
        with db.unit_of_work() as session:
            subjects = [resolve_mention(session, m) for m in mentions]
        others = [s for s in subjects if s != employee.id]
        if others:
            _refuse(db, principal, employee, record_type, others, OTHER_PERSON)
            raise AccessRefused(record_type)
    return employee


def read_own(
    db: Database,
    principal: Principal,
    record_type: str,
    reader: Callable[[EmployeeRef], T],
    *,
    about: Iterable[str] = (),
    action: str = "read",
) -> T:
    """Run `reader` on the caller's own records (through the back-office port), then audit
    the read. A read the system of record could not answer discloses nothing: it is not
    audited as allowed."""
    employee = caller_for(db, principal, record_type, about)
    result = reader(employee)
    with db.unit_of_work() as session:
        record_access(
            session,
            principal=principal,
            actor=employee,
            subject_employee_id=employee.id,
            record_type=record_type,
            outcome=AuditOutcome.ALLOWED,
            action=action,
        )
    return result


def direct_reports(session: Session, manager_id: int) -> list[int]:
    return list(session.scalars(select(Employee.id).where(Employee.line_manager_id == manager_id)))


def read_report(
    db: Database,
    principal: Principal,
    record_type: str,
    mention: str,
    reader: Callable[[EmployeeRef, int], T],
) -> T:
    """A line manager's read of one direct report's leave; anyone else is refused (audited).

    Who reports to whom is the identity directory's (kept in step with the HR system by the
    people feed); the records themselves are read through the back-office port."""
    manager = identify_caller(db, principal, record_type)
    with db.unit_of_work() as session:
        reports = direct_reports(session, manager.id)
        subject = resolve_mention(session, mention, among=reports) if reports else None
        refused_subject = None
        if subject is None:
            refused_subject = resolve_mention(session, mention)
            if refused_subject == manager.id:
                subject = manager.id
    if subject is not None:
        result = reader(manager, subject)
        with db.unit_of_work() as session:
            record_access(
                session,
                principal=principal,
                actor=manager,
                subject_employee_id=subject,
                record_type=record_type,
                outcome=AuditOutcome.ALLOWED,
                reason=None if subject == manager.id else "line manager of the subject",
            )
        return result
    _refuse(db, principal, manager, record_type, [refused_subject], NOT_A_REPORT)
    raise AccessRefused(record_type)


def refuse_unverified(db: Database, record_type: str) -> None:
    """Audit a request that arrived without a verified principal (nothing is read)."""
    with db.unit_of_work() as session:
        session.add(
            AuditEvent(
                channel="none",
                actor_principal="(unverified)",
                actor_employee_id=None,
                subject_employee_id=None,
                record_type=record_type,
                action="read",
                outcome=AuditOutcome.REFUSED,
                reason=UNVERIFIED,
            )
        )
