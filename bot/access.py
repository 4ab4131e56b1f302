"""Who is asking: the gate every personal-data service passes first."""
from __future__ import annotations

from .audit import record_access
from .errors import UnknownPrincipal
from .identity import EmployeeRef, Principal, find_employee
from .storage.database import Database
from .storage.models import AuditOutcome


def identify_caller(db: Database, principal: Principal, record_type: str) -> EmployeeRef:
    """The employee behind a verified principal.

    An unknown principal is refused; the refusal is audited in its own committed unit of
    work, so it survives the exception that ends the request.
    """
    with db.unit_of_work() as session:
        employee = find_employee(session, principal)
        if employee is None:
            record_access(
                session,
                principal=principal,
                actor=None,
                subject_employee_id=None,
                record_type=record_type,
                outcome=AuditOutcome.REFUSED,
                reason="unknown principal",
            )
    if employee is None:
        raise UnknownPrincipal(record_type)
    return employee
